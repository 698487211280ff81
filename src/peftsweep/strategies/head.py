"""Linear probe: only the task head trains; the encoder stays frozen."""

from __future__ import annotations

from torch import nn

from peftsweep.spec.families import Family
from peftsweep.strategies.base import NoOptions, Strategy
from peftsweep.strategies.common import freeze_all, unfreeze_modules
from peftsweep.strategies.registry import register


@register("head", "task head only (linear probe)", NoOptions)
class Head(Strategy):
    def apply(self, model: nn.Module, options: NoOptions, family: Family) -> nn.Module:
        freeze_all(model)
        unfreeze_modules(model, family.head_modules)
        return model
