"""Tuning strategies: each decides which parameters of a backbone train.

Add a strategy by writing a module with an ``Options`` dataclass and an
``apply(model, options, family)`` function, then listing it in ``registry.py``.
"""

from peftsweep.strategies.registry import (
    STRATEGIES,
    apply_strategy,
    check_strategy_fits,
    strategy_label,
    validate_strategy,
)

__all__ = ["STRATEGIES", "apply_strategy", "check_strategy_fits", "strategy_label",
           "validate_strategy"]
