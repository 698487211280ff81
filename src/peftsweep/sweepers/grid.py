"""The grid sweeper: Hydra's basic sweeper that plans first and launches only what is left.

Before launching, every job is composed once (Hydra's basic sweeper does the same
to check it) and the sweep plan is written (:mod:`peftsweep.plan`). Jobs whose
identity already has an ok result in the sweep folder are not launched at all,
so a resumed sweep submits no Slurm job for a finished trial. With
``fail_fast=true`` the sweep stops launching after the first batch holding a
failed or diverged trial; a batch is one trial on the basic launcher, ``n_jobs``
trials on joblib and ``array_parallelism`` trials on Slurm, and the trials of a
batch already running finish.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn
from omegaconf import OmegaConf

from peftsweep.config import TrialConfig
from peftsweep.plan import build_plan, write_plan
from peftsweep.validate import validate

log = logging.getLogger(__name__)
BAD_STATUSES = ("failed", "diverged")


class GridSweeper(BasicSweeper):
    """Cartesian product of the overrides, as the basic sweeper; see the module doc."""

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        assert self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        lines = self._parse_config() + list(arguments)
        jobs = self.split_arguments(parser.parse_overrides(lines), None)[0]
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        fail_fast = bool(self.config.fail_fast)
        plan = build_plan(jobs, [self._trial_config(job) for job in jobs], sweep_dir)
        write_plan(sweep_dir, plan, fail_fast=fail_fast,
                   launcher=str(self.config.hydra.launcher.get("_target_", "")))
        pending = [t.overrides for t in plan if not t.finished]
        log.info("%d trial(s) planned: %d to run, %d finished already (not launched)",
                 len(plan), len(pending), len(plan) - len(pending))
        batches = self.split_overrides_to_chunks(pending, self._batch_size(fail_fast))
        self.overrides = list(batches) if pending else []
        return self._launch_batches(fail_fast)

    def _launch_batches(self, fail_fast: bool) -> list[Sequence[JobReturn]]:
        returns: list[Sequence[JobReturn]] = []
        launched = 0
        while not self.is_done():
            batch = self.get_job_batch()
            results = self.launcher.launch(batch, initial_job_idx=launched)
            launched += len(batch)
            returns.append(results)
            bad = [r for r in results if r.return_value in BAD_STATUSES]
            if fail_fast and bad and not self.is_done():
                left = sum(len(b) for b in self.overrides[self.batch_index:])
                log.error("fail_fast: %s %s; %d trial(s) not launched",
                          " ".join(bad[0].overrides), bad[0].return_value, left)
                break
        return returns

    def _trial_config(self, job: Sequence[str]) -> TrialConfig:
        job_cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(job))
        science = {key: job_cfg[key] for key in job_cfg if key != "hydra"}
        return validate(OmegaConf.to_container(OmegaConf.create(science), resolve=True))

    def _batch_size(self, fail_fast: bool) -> int | None:
        """All at once unless fail_fast: then as many as the launcher runs side by side."""
        if self.max_batch_size or not fail_fast:
            return self.max_batch_size
        launcher = self.config.hydra.launcher
        width = launcher.get("n_jobs") or launcher.get("array_parallelism") or 1
        return int(width) if int(width) > 0 else (os.cpu_count() or 1)
