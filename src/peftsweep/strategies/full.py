"""Full fine-tuning: every parameter trains."""

from __future__ import annotations

from torch import nn

from peftsweep.spec.families import Family
from peftsweep.strategies.base import NoOptions, Strategy
from peftsweep.strategies.registry import register


@register("full", "every parameter trains", NoOptions)
class Full(Strategy):
    def trains_every_weight(self, options: NoOptions) -> bool:
        return True

    def apply(self, model: nn.Module, options: NoOptions, family: Family) -> nn.Module:
        for param in model.parameters():
            param.requires_grad_(True)
        return model
