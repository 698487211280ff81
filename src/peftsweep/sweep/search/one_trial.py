"""One search trial from the worker's side: compose its point, keep it alive while it runs,
run it as a grid trial would, tell the study how it ended."""

from __future__ import annotations

import json
import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peftsweep.compose.session import compose_task
from peftsweep.compose.validate import validate
from peftsweep.spec.config import TrialConfig
from peftsweep.spec.search import SearchSettings
from peftsweep.study.objectives import told_values
from peftsweep.study.pruning import CONTEXT_ENV
from peftsweep.study.space import to_overrides
from peftsweep.sweep.resolvers import job_folder
from peftsweep.sweep.search import confirm, on_disk, trial_config, trial_lines
from peftsweep.sweep.search.asking import trial_id
from peftsweep.trial.run import run_trial

log = logging.getLogger(__name__)


@contextmanager
def heartbeat(storage, study_name: str, trial):
    """Mark the trial alive until it is told; a killed worker's trial goes stale."""
    stop = threading.Event()
    interval = storage.get_heartbeat_interval()
    beat_id = trial_id(storage, study_name, trial.number)

    def beat() -> None:
        while True:
            storage.record_heartbeat(beat_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, daemon=True)
    if interval:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if interval:
            thread.join()


def point_overrides(trial, values: dict) -> list[str]:
    """The point as overrides; a confirmation trial adds its seed."""
    seed = trial.user_attrs.get(confirm.SEED)
    return to_overrides(values) + ([f"seed={seed}"] if seed is not None else [])


@dataclass
class Prepared:
    """A search trial ready to run: its config, job folder and search context."""
    trial: Any
    values: dict
    cfg: TrialConfig
    job_dir: Path
    context: dict[str, Any]


def prepare(spec: dict[str, Any], settings: SearchSettings, trial, values: dict) -> Prepared:
    """Compose the point as a grid trial (same folder name and saved config)."""
    point = point_overrides(trial, values)
    overrides = trial_config.merge(spec["overrides"], point)
    cfg = compose_task(spec["conf_dir"], overrides)
    job_dir = job_folder(Path(spec["sweep_dir"]), cfg)
    # The study learns the job folder before anything is written there, so a worker killed
    # at any later point leaves a trial that names its folder.
    trial.set_user_attr("job", job_dir.name)
    trial_config.save_hydra_files(job_dir, cfg, overrides)
    confirms = trial.user_attrs.get(confirm.CONFIRMS)
    context = {
        "storage": spec["storage"], "study": spec["study"], "trial": trial.number,
        # A confirmation trial runs to its end: its result is what the selection averages.
        "pruner": "none" if confirms is not None else settings.pruner,
        "startup": settings.pruner_startup_trials, "warmup": settings.pruner_warmup,
        "confirms": confirms}
    log.info("search trial %d: %s -> %s", trial.number, " ".join(point), job_dir.name)
    return Prepared(trial, values, validate(cfg), job_dir, context)


def run_one(prepared: Prepared) -> dict | None:
    """Run one prepared point alone, its log in the job folder's train.log."""
    os.environ[CONTEXT_ENV] = json.dumps(prepared.context)
    handler = logging.FileHandler(prepared.job_dir / "train.log")
    logging.getLogger().addHandler(handler)
    try:
        return run_trial(prepared.cfg, prepared.job_dir)
    finally:
        os.environ.pop(CONTEXT_ENV, None)
        logging.getLogger().removeHandler(handler)
        handler.close()


def tell(study, trial, result: dict | None, settings: SearchSettings) -> str:
    from optuna.trial import TrialState

    status = result["status"] if result else "busy"
    trial.set_user_attr("status", status)
    values = told_values(result, settings) if status == "ok" else None
    if values is not None:
        study.tell(trial, values if settings.cost else values[0])
    elif status == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    else:  # failed, diverged, the same trial held by another worker, or a result without
        # the cost (one written before peak_memory was measured)
        study.tell(trial, state=TrialState.FAIL)
    return status


def note_told(study, trial, spec: dict[str, Any], values: dict, result: dict | None,
               status: str) -> None:
    """The told-trials file and the progress line: neither may stop a search."""
    try:
        on_disk.record_told(Path(spec["sweep_dir"]), trial.number,
                            trial.user_attrs.get("job"), status)
        trial_lines.report(study, trial, spec, values, result)
    except Exception as err:  # noqa: BLE001 - the trial is told; only the display is lost
        log.warning("no progress line for search trial %d: %s", trial.number, err)


