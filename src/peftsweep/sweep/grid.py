"""The grid sweeper: every combination of the overrides, planned first, only the rest launched.

Before launching, every job is composed once and the sweep plan is written
(:mod:`peftsweep.sweep.plan`). Jobs whose identity already has an ok result in the sweep
folder are not launched at all, so a resumed sweep submits no Slurm job for a finished
trial. With ``fail_fast=true`` the sweep stops launching after the first batch holding a
failed or diverged trial; a batch is one trial on the basic launcher, ``n_jobs`` trials on
joblib and ``array_parallelism`` trials on Slurm, and the trials of a batch already
running finish.

With ``pack_size=K`` each launched job trains a pack of up to K trials that share a
backbone (:mod:`peftsweep.sweep.pack_jobs`), whatever the launcher.

Hydra discovers it through the thin shell in ``hydra_plugins/peftsweep_grid``; it is a
plain :class:`hydra.plugins.sweeper.Sweeper`, so a second plugin scan in one process
(notebooks, test suites) leaves it working.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from peftsweep.compose.overrides import cartesian, parse
from peftsweep.compose.validate import validate
from peftsweep.spec.config import TrialConfig
from peftsweep.sweep.pack_jobs import BAD_STATUSES, pack_jobs
from peftsweep.sweep.plan import build_plan, write_plan

log = logging.getLogger(__name__)


class GridSweep(Sweeper):
    def __init__(self, max_batch_size: int | None = None,
                 params: dict[str, str] | None = None, pack_size: int | None = None) -> None:
        self.max_batch_size = max_batch_size
        self.pack_size = pack_size
        self.params = dict(params or {})
        self.config: DictConfig | None = None
        self.hydra_context = None
        self.launcher = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        lines = [f"{key}={value}" for key, value in self.params.items()] + list(arguments)
        jobs = cartesian(parse(lines, self.hydra_context.config_loader))
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        fail_fast = bool(self.config.fail_fast)
        plan = build_plan(jobs, [self._trial_config(job) for job in jobs], sweep_dir)
        write_plan(sweep_dir, plan, fail_fast=fail_fast,
                   launcher=str(self.config.hydra.launcher.get("_target_", "")))
        pending = [t.overrides for t in plan if not t.finished]
        # On the terminal even when quiet: it says what a resume will and will not run.
        print(f"peftsweep: {len(plan)} trial(s) planned: {len(pending)} to run, "
              f"{len(plan) - len(pending)} finished already (not launched)", file=sys.stderr,
              flush=True)
        if self.pack_size and pending:
            pending = pack_jobs(self.hydra_context, self.config, pending, int(self.pack_size))
        return self._launch(pending, self._batch_size(fail_fast), fail_fast)

    def _launch(self, pending: list[list[str]], size: int | None, fail_fast: bool
                ) -> list[Sequence[JobReturn]]:
        returns: list[Sequence[JobReturn]] = []
        size = size or max(len(pending), 1)
        for start in range(0, len(pending), size):
            batch = pending[start:start + size]
            results = self.launcher.launch(batch, initial_job_idx=start)
            returns.append(results)
            bad = [r for r in results if r.return_value in BAD_STATUSES]
            left = len(pending) - start - len(batch)
            if fail_fast and bad and left:
                log.error("fail_fast: %s %s; %d trial(s) not launched",
                          " ".join(bad[0].overrides), bad[0].return_value, left)
                break
        return returns

    def _trial_config(self, job: Sequence[str]) -> TrialConfig:
        job_cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(job))
        science = {key: job_cfg[key] for key in job_cfg if key != "hydra"}
        return validate(OmegaConf.to_container(OmegaConf.create(science), resolve=True))

    def _batch_size(self, fail_fast: bool) -> int | None:
        """All at once (None) unless fail_fast: then as many as the launcher runs side by side."""
        if self.max_batch_size or not fail_fast:
            return self.max_batch_size
        launcher = self.config.hydra.launcher
        width = launcher.get("n_jobs") or launcher.get("array_parallelism") or 1
        return int(width) if int(width) > 0 else (os.cpu_count() or 1)
