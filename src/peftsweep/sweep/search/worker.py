"""One search worker: ask the study for a trial, run it as a grid would, tell, repeat.

Workers share nothing but the study's database and the sweep folder, so any number of
them (processes here, Slurm jobs elsewhere) pull trials without waiting for each other.
``python -m peftsweep.sweep.search.worker <spec.json>`` runs one; see sweeper.py for the spec.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from peftsweep.compose.session import compose_task
from peftsweep.compose.validate import validate
from peftsweep.spec.layout import SEARCH_ASK_LOCK
from peftsweep.spec.search import SearchSettings, parse_settings
from peftsweep.study.objectives import told_values
from peftsweep.study.pruning import CONTEXT_ENV
from peftsweep.study.samplers import build_pruner, build_sampler
from peftsweep.study.space import Param, parse_space, suggest, to_overrides
from peftsweep.study.storage import open_storage
from peftsweep.sweep.resolvers import job_folder
from peftsweep.sweep.search import clock, confirm, on_disk, trial_config, trial_lines
from peftsweep.trial import runtime
from peftsweep.trial.run import run_trial

log = logging.getLogger(__name__)


def load_study(spec: dict[str, Any], settings: SearchSettings, params: list[Param] = ()):
    """The study and the storage it lives in (heartbeats go to the storage directly)."""
    import optuna

    storage = open_storage(spec["storage"], settings.heartbeat_s, settings.max_retry)
    study = optuna.load_study(study_name=spec["study"], storage=storage,
                              pruner=build_pruner(settings.pruner,
                                                  settings.pruner_startup_trials,
                                                  settings.pruner_warmup))
    if settings.seed is not None:
        # Each worker, and each resumed run, draws its own sequence: never the same points.
        slot = int(os.environ.get("PEFTSWEEP_SLOT", 0) or 0)
        seed = settings.seed + 1000 * slot + len(study.get_trials(deepcopy=False))
        settings = dataclasses.replace(settings, seed=seed)
    study.sampler = build_sampler(settings, params)
    return study, storage


def _retried(trials) -> set[int]:
    """Numbers of trials a retry replaced (a dead worker's): they do not count twice."""
    out: set[int] = set()
    for trial in trials:
        out.update(trial.system_attrs.get("retry_history", []))
    return out


def _ask(study, storage):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "heartbeat is meant for optimize()"
        trial = study.ask()
    # Optuna fails only trials with a heartbeat gone stale, never one without any: beat
    # once now, so that a worker that dies before its heartbeat thread starts still
    # leaves a trial that goes stale and is retried.
    if storage.get_heartbeat_interval():
        storage.record_heartbeat(trial_id(storage, study.study_name, trial.number))
    return trial


def adopt_running(study, storage, study_name: str) -> int:
    """Beat once for every running trial; return how many. A trial whose worker beats keeps
    beating; one that nobody runs (asked by a worker that died before any heartbeat, or
    by an older version) goes stale after the grace period and is retried, so a resume
    never waits on it for ever."""
    from optuna.trial import TrialState

    if not storage.get_heartbeat_interval():
        return 0
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in running:
        storage.record_heartbeat(trial_id(storage, study_name, trial.number))
    return len(running)


def next_trial(study, storage, settings: SearchSettings, spec: dict[str, Any]):
    """A trial to run, None when the budget (and confirmation) is spent; waits while others'
    trials may still fail (and be retried) or decide which configurations to confirm."""
    from optuna.trial import TrialState

    waiting_logged = False
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fail_stale_trials is marked experimental
            import optuna

            optuna.storages.fail_stale_trials(study)
        now = time.time()
        clock.record(Path(spec["sweep_dir"]), spec["launched_at"], now)
        trials = study.get_trials(deepcopy=False)
        retried = _retried(trials)
        active = [t for t in trials if t.number not in retried]
        if any(t.state == TrialState.WAITING for t in active):  # a retry, or a confirmation
            return _ask(study, storage)
        searched = [t for t in active if confirm.is_searched(t)]
        if len(searched) < settings.n_trials and not clock.out_of_time(
                settings.timeout, Path(spec["sweep_dir"]), spec["launched_at"], now):
            return _ask(study, storage)
        if not any(t.state == TrialState.RUNNING for t in searched):
            todo = confirm.missing(active, settings, spec["reference"]["seed"])
            if todo:
                confirm.enqueue(study, *todo[0])
                return _ask(study, storage)
        if not any(t.state == TrialState.RUNNING for t in active):
            return None
        # Budget spent but a trial still runs: if its worker died, its retry is ours to run;
        # and the best configurations are known only once every trial has finished.
        if not waiting_logged:
            log.info("budget spent; waiting for running trials (a dead worker's trial is "
                     "retried after 2 missed heartbeats)")
            waiting_logged = True
        time.sleep(min(5.0, storage.get_heartbeat_interval() or 5.0))


def trial_id(storage, study_name: str, number: int) -> int:
    """The storage's id of trial ``number`` of the study (Optuna's public storage API)."""
    study_id = storage.get_study_id_from_name(study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)


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


def run_one(spec: dict[str, Any], settings: SearchSettings, trial, values: dict) -> dict | None:
    """Run one point as a grid trial (same folder name and result.json)."""
    point = point_overrides(trial, values)
    overrides = trial_config.merge(spec["overrides"], point)
    cfg = compose_task(spec["conf_dir"], overrides)
    job_dir = job_folder(Path(spec["sweep_dir"]), cfg)
    # The study learns the job folder before anything is written there, so a worker killed
    # at any later point leaves a trial that names its folder.
    trial.set_user_attr("job", job_dir.name)
    trial_config.save_hydra_files(job_dir, cfg, overrides)
    confirms = trial.user_attrs.get(confirm.CONFIRMS)
    os.environ[CONTEXT_ENV] = json.dumps({
        "storage": spec["storage"], "study": spec["study"], "trial": trial.number,
        # A confirmation trial runs to its end: its result is what the selection averages.
        "pruner": "none" if confirms is not None else settings.pruner,
        "startup": settings.pruner_startup_trials, "warmup": settings.pruner_warmup,
        "confirms": confirms})
    handler = logging.FileHandler(job_dir / "train.log")
    logging.getLogger().addHandler(handler)
    try:
        log.info("search trial %d: %s -> %s", trial.number, " ".join(point), job_dir.name)
        return run_trial(validate(cfg), job_dir)
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


def run_worker(spec: dict[str, Any]) -> dict[str, int]:
    """Pull trials until the study's budget is spent; return this worker's status counts."""
    runtime.quiet_libraries()
    settings = parse_settings(spec["settings"])
    params = parse_space(settings.space)
    study, storage = load_study(spec, settings, params)
    lock = FileLock(str(Path(spec["sweep_dir"]) / SEARCH_ASK_LOCK))
    with lock:
        adopt_running(study, storage, spec["study"])
    counts: dict[str, int] = {}
    while True:
        with lock:  # count and ask as one step, so parallel workers never overshoot n_trials
            trial = next_trial(study, storage, settings, spec)
            values = suggest(params, trial) if trial is not None else {}
        if trial is None:
            on_disk.mark_done(Path(spec["sweep_dir"]))
            return counts
        with heartbeat(storage, spec["study"], trial):
            result = run_one(spec, settings, trial, values)
            status = tell(study, trial, result, settings)
        _note_told(study, trial, spec, values, result, status)
        counts[status] = counts.get(status, 0) + 1


def _note_told(study, trial, spec: dict[str, Any], values: dict, result: dict | None,
               status: str) -> None:
    """The told-trials file and the progress line: neither may stop a search."""
    try:
        on_disk.record_told(Path(spec["sweep_dir"]), trial.number,
                            trial.user_attrs.get("job"), status)
        trial_lines.report(study, trial, spec, values, result)
    except Exception as err:  # noqa: BLE001 - the trial is told; only the display is lost
        log.warning("no progress line for search trial %d: %s", trial.number, err)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s")
    spec = json.loads(Path(argv[0]).read_text())
    counts = run_worker(spec)
    log.info("worker %s done: %s", os.environ.get("PEFTSWEEP_SLOT", "0"), counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
