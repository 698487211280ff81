"""The study's sampler and pruner, built from the checked ``search:`` settings.

Optuna is imported inside each function: it is the ``search`` extra, and a grid never
needs it.
"""

from __future__ import annotations

import warnings

from peftsweep.errors import ConfigError
from peftsweep.spec.search import SAMPLERS, SearchSettings
from peftsweep.study.space import Param


def check_sampler(settings: SearchSettings, params: list[Param]) -> None:
    """What a sampler cannot search: CMA-ES moves through numeric ranges only."""
    if settings.sampler != "cmaes":
        return
    categorical = next((p for p in params if p.kind == "categorical" or p.when), None)
    if categorical is not None:
        kind = "is categorical" if categorical.kind == "categorical" else "is conditional"
        raise ConfigError("search.sampler", f"cmaes searches numeric ranges only, and "
                          f"search.space.{categorical.name} {kind}",
                          ", ".join(s for s in SAMPLERS if s != "cmaes"))


def _startup(n_trials: int) -> int:
    # Random points before the model takes over: a quarter of the budget, 2 to 10.
    return min(10, max(2, n_trials // 4))


def build_sampler(settings: SearchSettings, params: list[Param] = ()):
    import optuna

    with warnings.catch_warnings():  # TPE's group and some samplers are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _sampler(settings, params)


def _sampler(settings: SearchSettings, params: list[Param]):
    import optuna

    seed, startup = settings.seed, _startup(settings.n_trials)
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if settings.sampler == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    if settings.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=startup)
    if settings.sampler in ("nsga2", "nsga3"):
        # A generation per quarter of the budget: Optuna's 50 would leave a 20-trial
        # search random throughout.
        population = min(50, max(4, settings.n_trials // 4))
        kind = optuna.samplers.NSGAIISampler if settings.sampler == "nsga2" \
            else optuna.samplers.NSGAIIISampler
        return kind(seed=seed, population_size=population)
    # constant_liar: parallel workers do not all propose the point a running trial holds.
    # group: a conditional space is modelled per set of keys that occur together.
    multivariate = settings.multivariate or None
    grouped = settings.multivariate and any(p.when for p in params)
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True, n_startup_trials=startup,
                                      multivariate=multivariate, group=grouped)


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
