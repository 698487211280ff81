"""The table of tuning strategies, filled by the strategy modules themselves."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from torch import nn

from peftsweep.errors import ConfigError
from peftsweep.spec.families import Family
from peftsweep.spec.schema import InvalidOption, build, defaults
from peftsweep.strategies.base import Strategy
from peftsweep.strategies.common import module_suffixes

STRATEGIES: dict[str, Strategy] = {}


def register(name: str, summary: str, options: type):
    """Class decorator: make a strategy selectable as ``strategy=<name>``.

    ``summary`` is one line for tables and help; ``options`` its Options dataclass.
    """

    def add(cls: type[Strategy]) -> type[Strategy]:
        cls.name, cls.summary, cls.Options = name, summary, options
        STRATEGIES[name] = cls()
        return cls

    return add


def parse(raw: dict[str, Any]) -> tuple[Strategy, Any]:
    """The strategy named in ``raw`` and its checked options."""
    name = raw.get("name")
    if name not in STRATEGIES:
        raise ConfigError("strategy.name", f"unknown strategy {name!r}", ", ".join(STRATEGIES))
    strategy = STRATEGIES[name]
    values = {k: v for k, v in raw.items() if k != "name"}
    options = build(strategy.options_for(values), values, "strategy")
    capacity = strategy.capacity(options)
    if options.budget is not None and capacity is not None:
        default = defaults(type(options))[capacity]
        if getattr(options, capacity) != default:
            raise ConfigError(f"strategy.{capacity}", f"strategy.budget={options.budget} sizes "
                              f"{capacity}, which is also set here (to "
                              f"{getattr(options, capacity)}): set one of them",
                              f"{capacity} at its default ({default}), or no budget")
    return strategy, options


def chosen_options(options: Any) -> dict[str, Any]:
    """Every option, except those declared ``omit_default`` and left at their default.

    Keys added after results existed (the budget, most PEFT options) stay out of the trial
    identity until set, so adding them re-runs nothing.
    """
    base = defaults(type(options))
    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)
            if not (f.metadata.get("omit_default") and getattr(options, f.name) == base[f.name])}


def validate_strategy(raw: dict[str, Any], family: Family) -> dict[str, Any]:
    """Check a strategy config; return it with every default filled in (stable identities)."""
    strategy, options = parse(raw)
    try:
        strategy.check(options, family)
    except InvalidOption as err:
        raise ConfigError(f"strategy.{err.key}", err.problem, err.allowed) from err
    return {"name": strategy.name, **chosen_options(options)}


def strategy_label(config: dict[str, Any]) -> str:
    """Name plus the options that differ from their defaults: 'lora(r=2, alpha=8)'."""
    strategy, options = parse(config)
    base = defaults(type(options))
    changed = [f"{key}={value}" for key, value in dataclasses.asdict(options).items()
               if value != base[key]]
    return strategy.label(options, changed)


def capacity_of(config: dict[str, Any]) -> str | None:
    """The option a budget sizes for this strategy config; None: its size is fixed."""
    strategy, options = parse(config)
    return strategy.capacity(options)


def with_capacity(config: dict[str, Any], value: int) -> dict[str, Any]:
    """The strategy config with its capacity option set to ``value`` and no budget: what a
    trial applies once a budget is sized."""
    strategy, options = parse(config)
    options = strategy.with_capacity(dataclasses.replace(options, budget=None), value)
    return {"name": strategy.name, **chosen_options(options)}


def virtual_tokens(config: dict[str, Any]) -> int:
    """Positions the strategy prepends to every input."""
    strategy, options = parse(config)
    return strategy.virtual_tokens(options)


def trains_every_weight(config: dict[str, Any]) -> bool:
    """Whether the strategy trains every weight of the model (full fine-tuning)."""
    strategy, options = parse(config)
    return strategy.trains_every_weight(options)


def virtual_input(config: dict[str, Any]) -> str | None:
    """What the strategy puts in front of every input: None, or ``prefix:<n>`` (keys and
    values in every layer) or ``embeddings:<n>`` (input embeddings) for n virtual tokens."""
    strategy, options = parse(config)
    count = strategy.virtual_tokens(options)
    if not count:
        return None
    return f"{'prefix' if strategy.kv_prefix(options) else 'embeddings'}:{count}"


def check_strategy_fits(model: nn.Module, config: dict[str, Any], family: Family) -> None:
    """Fail early when a strategy names modules that this model does not have."""
    strategy, options = parse(config)
    wanted = list(strategy.targets(options, family))
    if strategy.trains_head(options):
        wanted += list(family.head_modules)
    suffixes = module_suffixes(model)
    missing = [target for target in wanted if target not in suffixes]
    if missing:
        leaves = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                         if isinstance(m, nn.Linear)})
        raise ConfigError("strategy.target_modules", f"model has no module {missing[0]!r}",
                          ", ".join(leaves))


def apply_strategy(model: nn.Module, config: dict[str, Any], family: Family,
                   total_steps: int | None = None) -> nn.Module:
    """Freeze or wrap ``model``; ``total_steps``: the optimizer steps the trial will take."""
    strategy, options = parse(config)
    if options.budget is not None:  # applying it as written would ignore the budget
        raise ValueError("a strategy with a budget is sized first "
                         "(peftsweep.params.budget.trial_strategy)")
    if total_steps is not None:
        options = strategy.for_training(options, total_steps)
    return strategy.apply(model, options, family)


def step_hook(model: nn.Module, config: dict[str, Any]) -> Callable[[int], None] | None:
    """What the strategy does after each optimizer step of ``model`` (AdaLoRA's rank
    allocation), or None."""
    strategy, options = parse(config)
    return strategy.step_hook(model, options)


def frozen_backbone(config: dict[str, Any]) -> bool:
    """Whether the strategy keeps the base model frozen and in eval mode (a linear probe)."""
    strategy, options = parse(config)
    return strategy.frozen_backbone(options)
