"""The one table of tuning strategies and the checks every strategy config passes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from torch import nn

from peftsweep.errors import ConfigError
from peftsweep.models.families import Family
from peftsweep.strategies import bitfit, full, head, ia3, lora
from peftsweep.strategies.common import module_suffixes


@dataclass(frozen=True)
class Strategy:
    module: ModuleType
    summary: str

    @property
    def options(self) -> type:
        return self.module.Options


STRATEGIES: dict[str, Strategy] = {
    "full": Strategy(full, "every parameter trains"),
    "bitfit": Strategy(bitfit, "bias terms (+ task head by default)"),
    "head": Strategy(head, "task head only (linear probe)"),
    "lora": Strategy(lora, "low-rank adapters on attention (PEFT)"),
    "ia3": Strategy(ia3, "learned activation rescaling (PEFT)"),
}


def _options(raw: dict[str, Any]) -> tuple[str, Any]:
    name = raw.get("name")
    if name not in STRATEGIES:
        raise ConfigError("strategy.name", f"unknown strategy {name!r}", ", ".join(STRATEGIES))
    cls = STRATEGIES[name].options
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in raw.items() if k != "name"}
    unknown = sorted(set(values) - fields)
    if unknown:
        allowed = ", ".join(sorted(fields)) or "no options"
        raise ConfigError(f"strategy.{unknown[0]}", f"not an option of {name}", allowed)
    return name, cls(**values)


def validate_strategy(raw: dict[str, Any]) -> dict[str, Any]:
    """Check a strategy config; return it with every default filled in (for stable identities)."""
    name, options = _options(raw)
    check = getattr(STRATEGIES[name].module, "check", None)
    if check is not None:
        try:
            check(options)
        except ValueError as err:
            raise ConfigError(f"strategy ({name})", str(err)) from err
    return {"name": name, **dataclasses.asdict(options)}


def strategy_label(strategy: dict[str, Any]) -> str:
    """Name plus the options that differ from their defaults: 'lora(r=2, alpha=8)'."""
    name, options = _options(strategy)
    defaults = STRATEGIES[name].options()
    changed = [f"{f.name}={getattr(options, f.name)}" for f in dataclasses.fields(options)
               if getattr(options, f.name) != getattr(defaults, f.name)]
    return f"{name}({', '.join(changed)})" if changed else name


def check_strategy_fits(model: nn.Module, strategy: dict[str, Any], family: Family) -> None:
    """Fail early when a strategy names modules that this model does not have."""
    name, options = _options(strategy)
    module = STRATEGIES[name].module
    suffixes = module_suffixes(model)
    wanted = list(getattr(module, "targets", lambda *_: [])(options, family))
    if name in ("bitfit", "head", "lora", "ia3") and (name != "bitfit" or options.train_head):
        wanted += list(family.head_modules)
    missing = [target for target in wanted if target not in suffixes]
    if missing:
        leaves = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                         if isinstance(m, nn.Linear)})
        raise ConfigError("strategy.target_modules", f"model has no module {missing[0]!r}",
                          ", ".join(leaves))


def apply_strategy(model: nn.Module, strategy: dict[str, Any], family: Family) -> nn.Module:
    name, options = _options(strategy)
    return STRATEGIES[name].module.apply(model, options, family)
