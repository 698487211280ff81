"""What every strategy trains on one model: each applied to a fresh copy and counted."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from peftsweep.errors import ConfigError
from peftsweep.params.count import StrategyCount, trainable_components
from peftsweep.params.meta_model import on_cpu
from peftsweep.spec.families import FAMILIES
from peftsweep.strategies import (
    STRATEGIES,
    apply_strategy,
    check_strategy_fits,
    strategy_label,
    validate_strategy,
)


def strategy_variants(family: str, selected: dict | None = None) -> dict[str, dict]:
    """Every registered strategy at its defaults that fits the family, plus the user's choice."""
    variants = {}
    for name in STRATEGIES:
        try:
            variants[name] = validate_strategy({"name": name}, FAMILIES[family])
        except ConfigError:
            continue  # e.g. prefix tuning on a family without key/value caches
    if selected:
        variants.setdefault(strategy_label(selected), dict(selected))
    return variants


def trainable_by_strategy(build: Callable[[], nn.Module], family: str,
                          variants: dict[str, dict]) -> dict[str, StrategyCount]:
    """Apply each strategy to a fresh model (strategies mutate and wrap it) and count."""
    counts = {}
    for label, strategy in variants.items():
        model = on_cpu(build())  # PEFT counts rightly on real tensors only (meta_model.py)
        check_strategy_fits(model, strategy, FAMILIES[family])
        counts[label] = trainable_components(apply_strategy(model, strategy, FAMILIES[family]))
    return counts
