"""Hydra sweeper for ``hydra/sweeper=search``: one Optuna study, workers that pull from it.

Built on Optuna directly rather than on Hydra's Optuna sweeper plugin, which asks for
trials in batches (a batch waits for its slowest trial) and cannot prune (its jobs never
see the trial). Here each worker asks for its next trial as soon as its last one ends, and
each trial reaches the study through its environment to report validations (pruning.py).

Where the workers run follows ``hydra/launcher``: the basic launcher runs ``search.workers``
local processes (one GPU each, or the cores split; placement.py), any other launcher
(Slurm, joblib) runs ``search.workers`` jobs of :func:`worker_task`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from peftsweep.compose.session import conf_dir
from peftsweep.spec.layout import SEARCH_DIR, SEARCH_DONE, SEARCH_IMPORTANCES, SEARCH_SPEC
from peftsweep.spec.results import atomic_write_text
from peftsweep.spec.search import SearchSettings, parse_settings
from peftsweep.study.objectives import directions, name_objectives
from peftsweep.study.space import Param, parse_space
from peftsweep.study.storage import default_url, open_storage, redact, scrub, take_password
from peftsweep.sweep import placement
from peftsweep.sweep.progress import PROGRESS_LOG
from peftsweep.sweep.search import warm_start
from peftsweep.sweep.search.preflight import compose_edges, reference_of
from peftsweep.sweep.search.worker import run_worker

log = logging.getLogger(__name__)


class SearchSweep(Sweeper):
    def __init__(self, **_: Any) -> None:
        self.config: DictConfig | None = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config

    def sweep(self, arguments: list[str]) -> Any:
        cfg = self.config
        settings = parse_settings(OmegaConf.to_container(cfg.search, resolve=True))
        sweep_dir = Path(str(cfg.hydra.sweep.dir)).resolve()
        (sweep_dir / SEARCH_DIR).mkdir(parents=True, exist_ok=True)
        (sweep_dir / SEARCH_DONE).unlink(missing_ok=True)  # this launch may ask for more
        url = take_password(settings.storage) or default_url(sweep_dir)
        arguments = [scrub(a) for a in arguments]
        # From here on the config holds no password: launchers pickle it into the sweep folder.
        scrubbed = OmegaConf.create(scrub(OmegaConf.to_yaml(cfg)))
        OmegaConf.copy_cache(from_config=cfg, to_config=scrubbed)  # same sweep folder
        self.config = cfg = scrubbed
        atomic_write_text(sweep_dir / "multirun.yaml", OmegaConf.to_yaml(cfg))
        spec = _create_study(settings, url, sweep_dir, arguments)
        atomic_write_text(sweep_dir / SEARCH_SPEC, scrub(json.dumps(spec, indent=2)) + "\n")
        launcher = cfg.hydra.runtime.choices.get("hydra/launcher")
        workers = _worker_count(settings, launcher, cfg)
        log.info("search %s: %d trials, %d worker(s), storage %s", spec["study"],
                 settings.n_trials, workers, redact(url))
        if launcher not in ("basic", placement.LAUNCHER):
            out = self._launch_workers(arguments, workers, sweep_dir)
        elif workers == 1:
            out = [run_worker(spec)]
        else:
            out = _local_workers(sweep_dir / SEARCH_SPEC, workers, cfg)
        _write_importances(spec, sweep_dir)
        return out

    def _launch_workers(self, arguments: list[str], n: int, sweep_dir: Path) -> Any:
        """k jobs of the configured launcher (e.g. Slurm), each pulling from the study."""
        from hydra.core.plugins import Plugins

        launcher = Plugins.instance().instantiate_launcher(
            hydra_context=self.hydra_context, task_function=worker_task, config=self.config)
        jobs = [[*arguments, f"+search_worker_spec={sweep_dir / SEARCH_SPEC}",
                 f"hydra.sweep.dir={sweep_dir}", f"hydra.sweep.subdir={SEARCH_DIR}/worker{k}"]
                for k in range(n)]
        return launcher.launch(jobs, initial_job_idx=0)


def _worker_count(settings: SearchSettings, launcher: str | None, cfg: DictConfig) -> int:
    """search.workers; under local_parallel, its slots (parallel.*) unless workers > 1."""
    if launcher == placement.LAUNCHER and settings.workers == 1:
        return int(cfg.hydra.launcher.n_jobs)
    return settings.workers


def _create_study(settings: SearchSettings, url: str, sweep_dir: Path,
                  arguments: list[str]) -> dict[str, Any]:
    import optuna

    params = parse_space(settings.space)
    # The configs at the space's edges, as preflight composed them: what every trial shares
    # (a resume is compared with it), the fixed seed, the metric that names the objective.
    reference = reference_of(params, *compose_edges(conf_dir(), arguments, params))
    # The sweep folder names the study: resume=<sweep dir> finds it again.
    name = settings.study_name or f"{sweep_dir.parent.name}/{sweep_dir.name}"
    study = optuna.create_study(storage=open_storage(url), study_name=name,
                                directions=directions(settings), load_if_exists=True)
    name_objectives(study, reference.metric, settings)
    _warm_start(study, settings, params, reference, sweep_dir)
    return {"conf_dir": str(conf_dir()), "overrides": arguments, "sweep_dir": str(sweep_dir),
            "storage": url, "study": name, "launched_at": time.time(),
            "settings": dataclasses.asdict(dataclasses.replace(settings, storage=url)),
            "reference": reference.to_json()}


def _warm_start(study, settings: SearchSettings, params: list[Param], reference,
                sweep_dir: Path) -> None:
    """Hand the earlier sweeps' trials to the study before any worker asks for a point."""
    folders = [Path(f).expanduser().resolve() for f in settings.warm_start_folders()]
    if not folders:
        return
    handover = warm_start.gather(folders, params, reference, settings, own=sweep_dir)
    added = warm_start.hand_over(study, handover, params)
    log.info("%s", warm_start.summary_line(handover, len(folders), added))


def _write_importances(spec: dict[str, Any], sweep_dir: Path) -> None:
    """Optuna's parameter importances for the report ({} when they cannot be computed yet)."""
    import optuna

    try:
        study = optuna.load_study(study_name=spec["study"], storage=open_storage(spec["storage"]))
        # Of the metric; a study with a cost must name the objective, and importance
        # evaluators given a target rank parameters for a low one: the metric, negated.
        target = (lambda trial: -trial.values[0]) if len(study.directions) > 1 else None
        importances = optuna.importance.get_param_importances(study, target=target)
    except (RuntimeError, ValueError) as err:  # too few finished trials, or one parameter
        log.info("parameter importances not computed: %s", err)
        importances = {}
    atomic_write_text(sweep_dir / SEARCH_IMPORTANCES,
                      json.dumps({k: float(v) for k, v in importances.items()}, indent=2) + "\n")


def _local_workers(spec_path: Path, n: int, cfg: DictConfig) -> list[int]:
    """n worker processes on this machine, placed as local_parallel places trials."""
    gpus = placement.usable_gpus(OmegaConf.select(cfg, "trainer.accelerator"))
    procs = []
    for slot in range(n):
        where = placement.for_slot(slot, len(gpus), n, placement.n_cpus())
        env = {**os.environ, **placement.environment(where, gpus)}
        logfile = spec_path.parent / f"worker{slot}.log"
        with open(logfile, "w") as out:  # the child keeps its own handle
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "peftsweep.sweep.search.worker", str(spec_path)],
                env=env, stdout=out, stderr=subprocess.STDOUT))
    codes = _wait_echoing(procs, spec_path.parent.parent / PROGRESS_LOG)
    for slot, code in enumerate(codes):
        if code != 0:
            log.error("search worker %d exited with %d (see %s)", slot, code,
                      spec_path.parent / f"worker{slot}.log")
    return codes


def _wait_echoing(procs: list[subprocess.Popen], progress_log: Path) -> list[int]:
    """Wait for the workers, copying their progress lines to this terminal as they come."""
    offset = progress_log.stat().st_size if progress_log.exists() else 0
    while True:
        running = any(proc.poll() is None for proc in procs)
        offset = _echo_new_lines(progress_log, offset)
        if not running:
            return [proc.wait() for proc in procs]
        time.sleep(1.0)


def _echo_new_lines(path: Path, offset: int) -> int:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return offset
    complete = chunk[:chunk.rfind(b"\n") + 1]  # a line being written waits for its end
    if complete:
        os.write(2, complete)
    return offset + len(complete)


def worker_task(cfg: DictConfig) -> dict[str, int]:
    """Task function of a launcher job that is a search worker (Slurm, joblib)."""
    from hydra.core.hydra_config import HydraConfig

    if placement.apply_from_hydra(cfg) is None:  # the job number tells the workers apart
        os.environ["PEFTSWEEP_SLOT"] = str(HydraConfig.get().job.num)
    spec = json.loads(Path(str(cfg.search_worker_spec)).read_text())
    return run_worker(spec)
