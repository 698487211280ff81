"""Equal budgets: a strategy's capacity option sized to a number of trainable parameters.

``strategy.budget=N`` (or ``N%`` of the model's parameters) chooses the value of the option
that sets a method's size (LoRA's rank, a prompt's length, OFT's block size, ...) whose exact
trainable count, head included and counted as result.json counts it, is closest to the
budget. Counts come from the method's closed form (:mod:`.methods`) where there is one, else
from PEFT on the model built on the meta device. A budget the method cannot reach (a fixed
size, or below the smallest or above the largest value) is one line naming the closest it
can do.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from torch import nn

from peftsweep.errors import ConfigError
from peftsweep.params.count import count_parameters
from peftsweep.params.meta_model import build_for_counting, on_cpu
from peftsweep.params.methods import Shapes, closed_form, shapes_for
from peftsweep.spec.config import TrialConfig, task_spec
from peftsweep.spec.families import FAMILIES, Family
from peftsweep.strategies import apply_strategy, parse, strategy_label, with_capacity
from peftsweep.strategies.base import budget_share

# Enumerate every value when each count is a formula; else search, counts being monotone.
ENUMERATE_UP_TO = 4096


class Sizing(NamedTuple):
    budget: int | str  # as written
    target: int  # parameters the budget stands for
    option: str | None  # the option sized (None: the strategy's size is fixed)
    value: int | None
    trainable: int  # the count at that value
    strategy: dict[str, Any]  # the config a trial applies: the value set, no budget

    def record(self) -> dict[str, Any]:
        """What result.json keeps (``budget``)."""
        return {"requested": self.budget, "parameters": self.target, "option": self.option,
                "value": self.value, "trainable": self.trainable,
                "deviation": round((self.trainable - self.target) / self.target, 6)}


def exact_count(build: Callable[[], nn.Module], strategy: dict[str, Any], family: Family) -> int:
    """Trainable parameters of ``strategy`` on a fresh model, counted once PEFT built it."""
    model = apply_strategy(on_cpu(build()), strategy, family)
    return count_parameters(model)["trainable"]


def _counter(build, base: nn.Module, strategy: dict, family: Family, shapes: Shapes | None):
    @functools.cache
    def count(value: int) -> int:
        at = with_capacity(strategy, value)
        formula = closed_form(base, at, family, shapes) if shapes is not None else None
        return formula.value if formula is not None else exact_count(build, at, family)
    return count


def _values(option: str, base: nn.Module, shapes: Shapes | None, family: Family,
            max_length: int) -> list[int] | range:
    """Every value the option may take on this model."""
    dims = [(i, o) for _, i, o in shapes.linears] if shapes is not None else []
    if option == "num_virtual_tokens":
        positions = getattr(base.config, "max_position_embeddings", None) or 512
        return range(1, positions - family.position_offset - max_length + 1)
    if option == "oft_block_size":  # a block size must divide every input width
        widths = [i for i, _ in dims] or [base.config.hidden_size]
        return [b for b in range(2, min(widths) + 1) if all(w % b == 0 for w in widths)]
    if option == "n_frequency":
        return range(1, min((i * o for i, o in dims), default=base.config.hidden_size ** 2) + 1)
    # A rank: up to the full rank of the narrowest adapted layer.
    return range(1, min((min(i, o) for i, o in dims), default=base.config.hidden_size) + 1)


def _closest(values, count: Callable[[int], int], target: int, exhaustive: bool) -> int:
    if exhaustive:
        return min(values, key=lambda v: (abs(count(v) - target), v))
    low, high = 0, len(values) - 1  # the first value whose count reaches the target
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if count(values[middle]) < target else (low, middle)
    near = [values[i] for i in (low - 1, low) if 0 <= i < len(values)]
    return min(near, key=lambda v: (abs(count(v) - target), v))


def size(build: Callable[[], nn.Module], strategy: dict[str, Any], family: Family,
         max_length: int, model_name: str) -> Sizing | None:
    """The budget of ``strategy`` resolved on the model ``build`` makes; None without one."""
    runner, options = parse(strategy)
    if options.budget is None:
        return None
    base = build()
    parameters, percent = budget_share(options.budget)
    target = parameters or max(1, round(count_parameters(base)["total"] * percent / 100))
    label, option = strategy_label(strategy), runner.capacity(options)
    if option is None:
        unbudgeted = {key: value for key, value in strategy.items() if key != "budget"}
        fixed = exact_count(build, unbudgeted, family)
        if fixed == target:
            return Sizing(options.budget, target, None, None, fixed, unbudgeted)
        raise ConfigError("strategy.budget", f"{label} has a fixed size: it trains "
                          f"{fixed:,} parameters on model {model_name}, not {target:,}",
                          f"{fixed:,}, or a method with a rank or a length to size")
    shapes = shapes_for(base, with_capacity(strategy, 1), family)
    values = list(_values(option, base, shapes, family, max_length))
    if not values:
        raise ConfigError("strategy.budget", f"{label}: no value of {option} fits model "
                          f"{model_name}")
    count = _counter(build, base, strategy, family, shapes)
    exhaustive = shapes is not None and len(values) <= ENUMERATE_UP_TO and \
        closed_form(base, with_capacity(strategy, values[0]), family, shapes) is not None
    _check_reachable(values, count, target, label, option, model_name)
    value = _closest(values, count, target, exhaustive)
    return Sizing(options.budget, target, option, value, count(value),
                  with_capacity(strategy, value))


def _check_reachable(values, count, target: int, label: str, option: str, model: str) -> None:
    smallest, largest = values[0], values[-1]
    if target < count(smallest):
        raise ConfigError("strategy.budget", f"{target:,} parameters is below the smallest "
                          f"{label} on model {model}: {option}={smallest} trains "
                          f"{count(smallest):,}", f">= {count(smallest):,}")
    if target > count(largest):
        raise ConfigError("strategy.budget", f"{target:,} parameters is above the largest "
                          f"{label} on model {model}: {option}={largest} trains "
                          f"{count(largest):,}", f"<= {count(largest):,}")


def _key(cfg: TrialConfig) -> str:
    return json.dumps([dataclasses.asdict(cfg.model), dataclasses.asdict(cfg.data),
                       cfg.strategy, cfg.cache_dir], sort_keys=True, default=str)


_SIZED: dict[str, Sizing] = {}


def sized(cfg: TrialConfig) -> Sizing | None:
    """The trial's budget resolved on its model (once per process for equal configs)."""
    if cfg.strategy.get("budget") is None:
        return None
    key = _key(cfg)
    if key not in _SIZED:
        spec = task_spec(cfg.data)
        _SIZED[key] = size(lambda: build_for_counting(cfg.model, spec, cfg.cache_dir),
                           cfg.strategy, FAMILIES[cfg.model.family], cfg.data.max_length,
                           cfg.model.name)
    return _SIZED[key]


def trial_strategy(cfg: TrialConfig) -> dict[str, Any]:
    """The strategy config a trial applies: its own, or the one its budget sized."""
    sizing = sized(cfg)
    return dict(cfg.strategy) if sizing is None else sizing.strategy
