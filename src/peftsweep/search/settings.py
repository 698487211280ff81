"""The ``search:`` config block: budget, sampler, pruner, storage, workers; checked once.

The space itself is parsed by :mod:`peftsweep.search.space`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from peftsweep.errors import ConfigError

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "halving", "hyperband", "none")


@dataclass(frozen=True)
class SearchSettings:
    n_trials: int = 20
    sampler: str = "tpe"
    pruner: str = "median"
    # Median pruner: trials that finish before any pruning; validations before a trial may be
    # pruned. Halving / Hyperband: the smallest resource (validations) a trial gets.
    pruner_startup_trials: int = 3
    pruner_warmup: int = 1
    storage: str | None = None
    study_name: str | None = None
    workers: int = 1
    seed: int | None = None
    heartbeat_s: int = 60
    max_retry: int = 3
    space: dict = field(default_factory=dict)


def _int_at_least(key: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"search.{key}", f"must be an integer >= {low}, got {value!r}")


def parse_settings(raw: dict | None) -> SearchSettings:
    """The typed settings, or ConfigError naming the key."""
    if not raw:
        raise ConfigError("search", "no search preset chosen", "search=<preset> from conf/search/")
    names = {f.name for f in dataclasses.fields(SearchSettings)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"search.{unknown[0]}", "unknown key", ", ".join(sorted(names)))
    settings = SearchSettings(**raw)
    _int_at_least("n_trials", settings.n_trials, 1)
    _int_at_least("workers", settings.workers, 1)
    _int_at_least("pruner_startup_trials", settings.pruner_startup_trials, 0)
    _int_at_least("pruner_warmup", settings.pruner_warmup, 0)
    _int_at_least("heartbeat_s", settings.heartbeat_s, 1)
    _int_at_least("max_retry", settings.max_retry, 0)
    if settings.sampler not in SAMPLERS:
        raise ConfigError("search.sampler", f"unknown value {settings.sampler!r}",
                          ", ".join(SAMPLERS))
    if settings.pruner not in PRUNERS:
        raise ConfigError("search.pruner", f"unknown value {settings.pruner!r}",
                          ", ".join(PRUNERS))
    return settings


def build_sampler(settings: SearchSettings):
    import optuna

    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=settings.seed)
    # constant_liar: parallel workers do not all propose the point a running trial holds.
    return optuna.samplers.TPESampler(seed=settings.seed, constant_liar=True,
                                      n_startup_trials=min(10, max(2, settings.n_trials // 4)))


def build_pruner(pruner: str, startup_trials: int, warmup: int):
    """Pruner from plain values (the trial process rebuilds it from its environment)."""
    import optuna

    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials,
                                           n_warmup_steps=warmup)
    if pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, warmup))
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, warmup))
    return optuna.pruners.NopPruner()
