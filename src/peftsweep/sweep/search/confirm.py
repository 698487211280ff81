"""Confirmation: when the budget is spent, the best configurations run again at more seeds.

A search trial runs one seed, so its best point is partly its luckiest. With
``search.confirm.top_k=K search.confirm.seeds=S`` the K best configurations of the trials
this search ran (warm-started ones inform the sampler only) are queued again at seeds
``seed+1 .. seed+S-1`` once every trial of the budget has finished: as ordinary trials of
the study (user attributes ``confirms`` and ``seed``), so they get their own job folders,
heartbeats, retries, progress lines and resume like any other. They are never pruned.

"Best" is the metric; with a cost, the Pareto fronts come first (the front, then the front
of the rest, ...), the metric orders within a front.
"""

from __future__ import annotations

import json

import pandas as pd

from peftsweep.report.pareto import on_front
from peftsweep.spec.search import SearchSettings

CONFIRMS = "confirms"  # user attribute: the number of the trial whose configuration it re-runs
SEED = "seed"  # user attribute: the seed a confirmation trial runs
SOURCE_SWEEP = "source_sweep"  # user attribute of a warm-started trial: where it came from
SOURCE_JOB = "source_job"


def is_confirmation(trial) -> bool:
    return CONFIRMS in trial.user_attrs


def is_warm_start(trial) -> bool:
    return SOURCE_SWEEP in trial.user_attrs


def is_searched(trial) -> bool:
    """A trial of the budget: asked by the sampler, not warm-started, not a confirmation."""
    return not is_confirmation(trial) and not is_warm_start(trial)


def _front_ranks(values: pd.DataFrame) -> pd.Series:
    """0 for the Pareto front, 1 for the front of the rest, and so on."""
    ranks = pd.Series(-1, index=values.index)
    left = values
    rank = 0
    while not left.empty:
        front = on_front(left, "metric", "cost")
        ranks[left.index[front.to_numpy()]] = rank
        left, rank = left[~front], rank + 1
    return ranks


def ranked(trials, settings: SearchSettings) -> list:
    """The finished trials of the budget, one per configuration, best first."""
    from optuna.trial import TrialState

    first: dict[str, object] = {}
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.state == TrialState.COMPLETE and is_searched(trial):
            first.setdefault(json.dumps(trial.params, sort_keys=True, default=str), trial)
    distinct = list(first.values())
    if not distinct:
        return []
    frame = pd.DataFrame({"metric": [t.values[0] for t in distinct],
                          "cost": [t.values[-1] if settings.cost else 0.0 for t in distinct],
                          "number": [t.number for t in distinct]})
    frame["front"] = _front_ranks(frame) if settings.cost else 0
    order = frame.sort_values(["front", "metric", "number"], ascending=[True, False, True])
    return [distinct[i] for i in order.index]


def missing(trials, settings: SearchSettings, base_seed: int) -> list[tuple[object, int]]:
    """(trial to confirm, seed) pairs not asked for yet, in the order they should run."""
    if not settings.confirm.top_k:
        return []
    asked = {(t.user_attrs[CONFIRMS], t.user_attrs[SEED]) for t in trials if is_confirmation(t)}
    return [(trial, base_seed + offset)
            for trial in ranked(trials, settings)[:settings.confirm.top_k]
            for offset in range(1, settings.confirm.seeds)
            if (trial.number, base_seed + offset) not in asked]


def enqueue(study, trial, seed: int) -> None:
    """Queue the configuration of ``trial`` at ``seed``; the next ask() hands it out."""
    study.enqueue_trial(dict(trial.params), user_attrs={CONFIRMS: trial.number, SEED: seed})
