"""A trial whose worker died at any moment is retried, before its first heartbeat included:
a real SQLite study, a trial asked and never run."""

from __future__ import annotations

import time
import warnings

import optuna
from optuna.trial import TrialState

from peftsweep.study.storage import open_storage
from peftsweep.sweep.search.asking import adopt_running, ask

HEARTBEAT_S = 1


def study_in(tmp_path, name="dead"):
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}", HEARTBEAT_S, max_retry=1)
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True)
    return study, storage


def fail_stale(study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optuna.storages.fail_stale_trials(study)


def states(study) -> list[TrialState]:
    return [t.state for t in study.get_trials(deepcopy=False)]


def test_a_trial_asked_by_a_worker_that_died_at_once_is_retried(tmp_path):
    study, storage = study_in(tmp_path)
    ask(study, storage)  # the worker dies here, before its heartbeat thread
    time.sleep(2 * HEARTBEAT_S + 1.5)
    fail_stale(study)
    assert states(study) == [TrialState.FAIL, TrialState.WAITING]  # failed, then retried


def test_a_resume_adopts_a_running_trial_that_never_beat(tmp_path):
    study, storage = study_in(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.ask()  # as an older version asked: no heartbeat at all
    time.sleep(2 * HEARTBEAT_S + 1.5)
    fail_stale(study)
    assert states(study) == [TrialState.RUNNING]  # Optuna alone would wait for ever
    assert adopt_running(study, storage, "dead") == 1
    time.sleep(2 * HEARTBEAT_S + 1.5)
    fail_stale(study)
    assert states(study) == [TrialState.FAIL, TrialState.WAITING]
