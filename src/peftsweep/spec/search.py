"""The ``search:`` config block: budget, sampler, pruner, cost, confirmation, warm start,
storage, workers; checked once. Also the costs a search can minimise, read from a result.

The space itself is parsed by :mod:`peftsweep.study.space`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from peftsweep.errors import ConfigError
from peftsweep.spec.schema import InvalidOption, Schema, build, option

# search.cost -> the objective's name as Optuna shows it. All are minimised.
COSTS = {"trainable_params": "trainable params", "train_s": "train seconds",
         "peak_memory": "peak memory bytes"}
SAMPLERS = ("tpe", "random", "gp", "cmaes", "nsga2", "nsga3")
SINGLE_OBJECTIVE_SAMPLERS = ("cmaes",)


def cost_value(result: dict[str, Any], cost: str) -> float | None:
    """A finished trial's cost from its result.json; None where the result lacks it."""
    if cost == "trainable_params":
        value = (result.get("params") or {}).get("trainable")
    elif cost == "train_s":
        value = (result.get("timing") or {}).get("train_s")
    else:
        value = (result.get("peak_memory") or {}).get("bytes")
    return None if value is None else float(value)


@dataclass(frozen=True)
class ConfirmSettings(Schema):
    top_k: int = option(0, "When the budget is spent, re-run this many of the best "
                           "configurations to confirm.seeds seeds; 0: off.", ge=0)
    seeds: int = option(3, "Seeds per confirmed configuration, the one already run included.",
                        ge=2)


@dataclass(frozen=True)
class SearchSettings(Schema):
    n_trials: int = option(20, "Trials the search asks for, counting those of earlier runs "
                               "(resume=); not warm-started or confirmation trials.", gt=0)
    sampler: str = option("tpe", "How the next point is proposed: TPE, random, Gaussian "
                                 "process, CMA-ES (numeric spaces), NSGA-II, NSGA-III.",
                          choices=SAMPLERS)
    multivariate: bool = option(False, "tpe: model the parameters jointly (grouped where the "
                                       "space has conditions).")
    pruner: str = option("auto", "Which trials stop early at a validation; auto: median, "
                                 "or none with a cost.",
                         choices=("auto", "median", "halving", "hyperband", "none"))
    pruner_startup_trials: int = option(3, "median: trials that finish before any is pruned.",
                                        ge=0)
    pruner_warmup: int = option(1, "Validations a trial always gets (halving/hyperband: the "
                                   "minimum resource).", ge=0)
    cost: str | None = option(None, "A second objective, minimised beside the metric: a "
                                    "two-objective study with a Pareto front.",
                              choices=tuple(COSTS))
    timeout: float | None = option(None, "Seconds the search may ask for trials, counting "
                                         "earlier runs (resume=); null: no limit.", gt=0)
    confirm: ConfirmSettings = option(ConfirmSettings(), "Re-run the best configurations over "
                                                         "seeds (top_k, seeds).")
    warm_start: list[str] | str | None = option(None, "Sweep folders whose finished trials in "
                                                      "this space seed the study.")
    storage: str | None = option(None, "null: sqlite:///<sweep dir>/study.db; or any SQLAlchemy "
                                       "URL (password from $PEFTSWEEP_STORAGE_PASSWORD, "
                                       "PGPASSWORD or ~/.pgpass).")
    study_name: str | None = option(None, "null: named after the sweep folder.")
    workers: int = option(1, "Trials at once: local processes, or jobs of hydra/launcher "
                             "(local_parallel: its slots from parallel.*, unless > 1).", gt=0)
    pack: int = option(1, "Trials each worker asks for at once; those that share model, data "
                          "and batch shape train as one pack on one backbone "
                          "(docs/scale.md).", gt=0)
    seed: int | None = option(None, "Sampler seed.")
    heartbeat_s: int = option(60, "A trial silent for twice this is failed and asked again.",
                              gt=0)
    max_retry: int = option(3, "How often a dead worker's trial is asked again.", ge=0)
    space: dict[str, Any] = option({}, "The search space: key -> {type, low, high, log, "
                                       "choices, when} (docs/search.md).")

    def check(self) -> None:
        if self.multivariate and self.sampler != "tpe":
            raise InvalidOption("multivariate", f"only the tpe sampler models parameters "
                                f"jointly, not {self.sampler}", "false, or search.sampler=tpe")
        if self.cost and self.pruner not in ("auto", "none"):
            raise InvalidOption("pruner", f"Optuna cannot prune a two-objective study "
                                f"(search.cost={self.cost})", "none")
        if self.cost and self.sampler in SINGLE_OBJECTIVE_SAMPLERS:
            raise InvalidOption("sampler", f"{self.sampler} optimises one objective; "
                                f"search.cost={self.cost} makes two",
                                ", ".join(s for s in SAMPLERS
                                          if s not in SINGLE_OBJECTIVE_SAMPLERS))
        if any(not str(folder).strip() for folder in self.warm_start_folders()):
            raise InvalidOption("warm_start", "names an empty folder", "sweep folders")

    def warm_start_folders(self) -> list[str]:
        """The warm-start folders: a list, or one string of comma-separated folders."""
        if self.warm_start is None:
            return []
        if isinstance(self.warm_start, str):
            return [part.strip() for part in self.warm_start.split(",")]
        return [str(folder) for folder in self.warm_start]

    @property
    def objectives(self) -> int:
        return 2 if self.cost else 1

    @property
    def extra_trials(self) -> int:
        """Confirmation trials at most, beside the budget."""
        return self.confirm.top_k * (self.confirm.seeds - 1)


def parse_settings(raw: dict | None) -> SearchSettings:
    """The checked settings (``pruner: auto`` resolved), or ConfigError naming the key."""
    if not raw:
        raise ConfigError("search", "no search preset chosen", "search=<preset> from conf/search/")
    settings = build(SearchSettings, raw, "search")
    if settings.pruner == "auto":
        settings = replace(settings, pruner="none" if settings.cost else "median")
    return settings
