"""Tuning strategies: each decides which parameters of a backbone train.

Add a strategy by writing one module here (an ``Options`` dataclass and a
registered :class:`~peftsweep.strategies.base.Strategy` subclass) and one YAML
file under ``conf/strategy/``: every module of this package is imported below,
so it registers itself.
"""

import importlib
import pkgutil

from peftsweep.strategies.registry import (
    STRATEGIES,
    apply_strategy,
    capacity_of,
    check_strategy_fits,
    frozen_backbone,
    parse,
    register,
    step_hook,
    strategy_label,
    trains_every_weight,
    validate_strategy,
    virtual_input,
    virtual_tokens,
    with_capacity,
)

# Modules that hold no strategy of their own.
_INFRASTRUCTURE = {"base", "common", "registry", "peft_methods", "peft_options",
                   "rank_allocation"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _INFRASTRUCTURE:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["STRATEGIES", "apply_strategy", "capacity_of", "check_strategy_fits",
           "frozen_backbone", "parse", "register", "step_hook", "strategy_label",
           "trains_every_weight", "validate_strategy", "virtual_input", "virtual_tokens",
           "with_capacity"]
