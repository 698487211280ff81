"""The study side of a worker: open the study, ask for the next trial within the budget,
keep dead workers' trials from blocking anyone (heartbeats and retries)."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

from peftsweep.spec.search import SearchSettings
from peftsweep.study.samplers import build_pruner, build_sampler
from peftsweep.study.space import Param, suggest
from peftsweep.study.storage import open_storage
from peftsweep.sweep.search import clock, confirm

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


def retried(trials) -> set[int]:
    """Numbers of trials a retry replaced (a dead worker's): they do not count twice."""
    out: set[int] = set()
    for trial in trials:
        out.update(trial.system_attrs.get("retry_history", []))
    return out


def ask(study, storage):
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


def next_trial(study, storage, settings: SearchSettings, spec: dict[str, Any],
               wait: bool = True):
    """A trial to run, None when the budget (and confirmation) is spent; waits while others'
    trials may still fail (and be retried) or decide which configurations to confirm
    (``wait=False``: None then, for a worker that already holds trials to run)."""
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
        done_over = retried(trials)
        active = [t for t in trials if t.number not in done_over]
        if any(t.state == TrialState.WAITING for t in active):  # a retry, or a confirmation
            return ask(study, storage)
        searched = [t for t in active if confirm.is_searched(t)]
        if len(searched) < settings.n_trials and not clock.out_of_time(
                settings.timeout, Path(spec["sweep_dir"]), spec["launched_at"], now):
            return ask(study, storage)
        if not any(t.state == TrialState.RUNNING for t in searched):
            todo = confirm.missing(active, settings, spec["reference"]["seed"])
            if todo:
                confirm.enqueue(study, *todo[0])
                return ask(study, storage)
        if not wait or not any(t.state == TrialState.RUNNING for t in active):
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


def ask_many(study, storage, settings: SearchSettings, spec: dict[str, Any],
             params: list[Param], most: int) -> list[tuple[Any, dict]]:
    """Up to ``most`` trials and their points (search.pack), [] when the search is over;
    waits only for the first. The sampler's constant liar keeps the points apart."""
    asked: list[tuple[Any, dict]] = []
    while len(asked) < most:
        trial = next_trial(study, storage, settings, spec, wait=not asked)
        if trial is None:
            break
        asked.append((trial, suggest(params, trial)))
    return asked
