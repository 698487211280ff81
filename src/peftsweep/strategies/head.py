"""Linear probe: only the task head trains; the encoder stays frozen."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from peftsweep.families import Family
from peftsweep.schema import Schema
from peftsweep.strategies.base import Strategy
from peftsweep.strategies.common import freeze_all, unfreeze_modules
from peftsweep.strategies.registry import register


@dataclass(frozen=True)
class Options(Schema):
    pass


@register
class Head(Strategy):
    name = "head"
    summary = "task head only (linear probe)"
    Options = Options

    def apply(self, model: nn.Module, options: Options, family: Family) -> nn.Module:
        freeze_all(model)
        unfreeze_modules(model, family.head_modules)
        return model
