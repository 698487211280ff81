"""The PEFT methods of ``peftsweep params``: what each trains on one model, at its defaults or
sized to one budget, counted three ways that must agree (the closed form, the parameters
that train in the built model, PEFT's ``get_nb_trainable_parameters``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from torch import nn

from peftsweep.errors import ConfigError
from peftsweep.params.budget import size
from peftsweep.params.count import count_parameters
from peftsweep.params.meta_model import on_cpu
from peftsweep.params.methods import closed_form
from peftsweep.spec.families import FAMILIES
from peftsweep.strategies import apply_strategy, strategy_label, validate_strategy

# The methods compared at equal budgets (their presets under conf/strategy), in that order.
METHODS: dict[str, dict[str, Any]] = {
    "lora": {"method": "lora"}, "dora": {"method": "lora", "use_dora": True},
    "rslora": {"method": "lora", "use_rslora": True}, "adalora": {"method": "adalora"},
    "loha": {"method": "loha"}, "lokr": {"method": "lokr"}, "vera": {"method": "vera"},
    "oft": {"method": "oft"}, "ia3": {"method": "ia3"},
    "prompt_tuning": {"method": "prompt_tuning"}, "p_tuning": {"method": "p_tuning"},
    "prefix_tuning": {"method": "prefix_tuning"},
}


class MethodRow(NamedTuple):
    method: str
    setting: str  # the option a budget sized and its value, or the strategy's label
    trainable: int | None
    percent: float | None
    closed_form: str  # the formula and its value, or why there is none
    peft: int | None
    note: str  # why a method is missing (cannot reach the budget, does not apply)


def method_rows(build: Callable[[], nn.Module], family: str, max_length: int,
                model_name: str, budget: int | str | None) -> list[MethodRow]:
    rows = []
    for name, options in METHODS.items():
        raw = {"name": "peft", **options, **({"budget": budget} if budget is not None else {})}
        try:
            strategy = validate_strategy(raw, FAMILIES[family])
            sizing = size(build, strategy, FAMILIES[family], max_length, model_name)
        except ConfigError as err:
            rows.append(MethodRow(name, "", None, None, "", None,
                                  str(err).removeprefix("strategy.budget: ")))
            continue
        applied = sizing.strategy if sizing else strategy
        rows.append(_row(name, build, applied, family, sizing))
    return rows


def _row(name: str, build, strategy: dict, family: str, sizing) -> MethodRow:
    base = build()
    formula = closed_form(base, strategy, FAMILIES[family])
    model = apply_strategy(on_cpu(build()), strategy, FAMILIES[family])
    counts = count_parameters(model)
    reported = model.get_nb_trainable_parameters()[0]
    if formula is not None and formula.value != counts["trainable"]:
        raise AssertionError(f"{name}: closed form {formula.value} != counted "
                             f"{counts['trainable']}")
    setting = f"{sizing.option}={sizing.value}" if sizing and sizing.option else \
        strategy_label(strategy)
    text = f"{formula.text} = {formula.value:,}" if formula else "none: PEFT's count"
    return MethodRow(name, setting, counts["trainable"], counts["trainable_percent"], text,
                     reported, "")
