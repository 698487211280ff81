"""Full fine-tuning: every parameter trains."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from peftsweep.models.families import Family


@dataclass(frozen=True)
class Options:
    pass


def apply(model: nn.Module, options: Options, family: Family) -> nn.Module:
    for param in model.parameters():
        param.requires_grad_(True)
    return model
