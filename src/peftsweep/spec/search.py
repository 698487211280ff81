"""The ``search:`` config block: budget, sampler, pruner, storage, workers; checked once.

The space itself is parsed by :mod:`peftsweep.study.space`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peftsweep.errors import ConfigError
from peftsweep.spec.schema import Schema, build, option


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
