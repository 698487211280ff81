"""The study's sampler and pruner, built from the checked ``search:`` settings.

Optuna is imported inside each function: it is the ``search`` extra, and a grid never
needs it.
"""

from __future__ import annotations

from peftsweep.spec.search import SearchSettings


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
