"""Full fine-tuning: every parameter trains."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from peftsweep.families import Family
from peftsweep.schema import Schema
from peftsweep.strategies.base import Strategy
from peftsweep.strategies.registry import register


@dataclass(frozen=True)
class Options(Schema):
    pass


@register
class Full(Strategy):
    name = "full"
    summary = "every parameter trains"
    Options = Options

    def apply(self, model: nn.Module, options: Options, family: Family) -> nn.Module:
        for param in model.parameters():
            param.requires_grad_(True)
        return model
