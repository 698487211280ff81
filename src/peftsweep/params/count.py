"""Exact parameter counts of a model: in all, by component, and what trains.

Three views that must agree, and are checked against each other: ``breakdown`` (every
parameter by component, from ``named_parameters``), ``trainable_components`` (what a
strategy trains) and the closed form of :mod:`peftsweep.params.formula`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from peftsweep.params.components import component_of, component_order
from peftsweep.params.row import Row


def count_parameters(model: nn.Module) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total,
            "trainable_percent": round(100.0 * trainable / max(total, 1), 4)}


def breakdown(model: nn.Module) -> list[Row]:
    """Every parameter by component; the rows add up to the model's total."""
    sums: dict[str, list[int]] = {}
    for name, param in model.named_parameters():
        column = 1 if name.endswith("bias") else 0
        sums.setdefault(component_of(name), [0, 0])[column] += param.numel()
    ordered = sorted(sums.items(), key=lambda item: component_order(item[0]))
    rows = [Row(c, w, b, w + b) for c, (w, b) in ordered]
    total = count_parameters(model)["total"]
    if sum(r.total for r in rows) != total:
        raise AssertionError(f"components sum to {sum(r.total for r in rows)}, model has {total}")
    return rows


@dataclass(frozen=True)
class StrategyCount:
    components: dict[str, int]
    trainable: int
    total: int
    percent: float
    peft_reported: int | None  # PEFT's get_nb_trainable_parameters(), when wrapped


def trainable_components(model: nn.Module) -> StrategyCount:
    """Trainable parameters by component, checked against the model's own counts."""
    components: dict[str, int] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            component = component_of(name)
            components[component] = components.get(component, 0) + param.numel()
    counts = count_parameters(model)
    if sum(components.values()) != counts["trainable"]:
        raise AssertionError("trainable components do not add up to the trainable count")
    reported = None
    if hasattr(model, "get_nb_trainable_parameters"):
        reported = model.get_nb_trainable_parameters()[0]
        if reported != counts["trainable"]:
            raise AssertionError(f"PEFT reports {reported} trainable, counted "
                                 f"{counts['trainable']}")
    return StrategyCount(components, counts["trainable"], counts["total"],
                         counts["trainable_percent"], reported)
