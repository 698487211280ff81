"""The table of tuning strategies, filled by the strategy modules themselves."""

from __future__ import annotations

import dataclasses
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
    return strategy, build(strategy.Options, values, "strategy")


def validate_strategy(raw: dict[str, Any], family: Family) -> dict[str, Any]:
    """Check a strategy config; return it with every default filled in (stable identities)."""
    strategy, options = parse(raw)
    try:
        strategy.check(options, family)
    except InvalidOption as err:
        raise ConfigError(f"strategy.{err.key}", err.problem, err.allowed) from err
    return {"name": strategy.name, **dataclasses.asdict(options)}


def strategy_label(config: dict[str, Any]) -> str:
    """Name plus the options that differ from their defaults: 'lora(r=2, alpha=8)'."""
    strategy, options = parse(config)
    base = defaults(strategy.Options)
    changed = [f"{key}={value}" for key, value in dataclasses.asdict(options).items()
               if value != base[key]]
    return f"{strategy.name}({', '.join(changed)})" if changed else strategy.name


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


def apply_strategy(model: nn.Module, config: dict[str, Any], family: Family) -> nn.Module:
    strategy, options = parse(config)
    return strategy.apply(model, options, family)
