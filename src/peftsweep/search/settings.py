"""The ``search:`` config block: budget, sampler, pruner, storage, workers; checked once.

The space itself is parsed by :mod:`peftsweep.search.space`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peftsweep.errors import ConfigError
from peftsweep.schema import Schema, build, option


@dataclass(frozen=True)
class SearchSettings(Schema):
    n_trials: int = option(20, "Trials in the study, counting those of earlier runs (resume=).",
                           gt=0)
    sampler: str = option("tpe", "How the next point is proposed.", choices=("tpe", "random"))
    pruner: str = option("median", "Which trials stop early at a validation.",
                         choices=("median", "halving", "hyperband", "none"))
    pruner_startup_trials: int = option(3, "median: trials that finish before any is pruned.",
                                        ge=0)
    pruner_warmup: int = option(1, "Validations a trial always gets (halving/hyperband: the "
                                   "minimum resource).", ge=0)
    storage: str | None = option(None, "null: sqlite:///<sweep dir>/study.db; or any SQLAlchemy "
                                       "URL (password from $PEFTSWEEP_STORAGE_PASSWORD, "
                                       "PGPASSWORD or ~/.pgpass).")
    study_name: str | None = option(None, "null: named after the sweep folder.")
    workers: int = option(1, "Trials at once: local processes, or jobs of hydra/launcher "
                             "(local_parallel: its slots from parallel.*, unless > 1).", gt=0)
    seed: int | None = option(None, "Sampler seed.")
    heartbeat_s: int = option(60, "A trial silent for twice this is failed and asked again.",
                              gt=0)
    max_retry: int = option(3, "How often a dead worker's trial is asked again.", ge=0)
    space: dict[str, Any] = option({}, "The search space: key -> {type, low, high, log, "
                                       "choices, when} (docs/search.md).")


def parse_settings(raw: dict | None) -> SearchSettings:
    """The checked settings, or ConfigError naming the key."""
    if not raw:
        raise ConfigError("search", "no search preset chosen", "search=<preset> from conf/search/")
    return build(SearchSettings, raw, "search")


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
