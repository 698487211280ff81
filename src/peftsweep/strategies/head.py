"""Linear probe: only the task head trains; the encoder stays frozen, in eval mode."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from peftsweep.spec.families import Family
from peftsweep.spec.schema import option
from peftsweep.strategies.base import Strategy, StrategyOptions
from peftsweep.strategies.common import freeze_all, unfreeze_modules
from peftsweep.strategies.registry import register


@dataclass(frozen=True)
class HeadOptions(StrategyOptions):
    backbone_dropout: bool = option(
        False, "Keep the frozen backbone in train mode, its dropout on (and its features then "
               "recomputed at every step); false: the linear-probe convention, the backbone in "
               "eval mode, its features computed once (trainer.feature_cache).")


@register("head", "task head only (linear probe)", HeadOptions)
class Head(Strategy):
    def frozen_backbone(self, options: HeadOptions) -> bool:
        return not options.backbone_dropout

    def apply(self, model: nn.Module, options: HeadOptions, family: Family) -> nn.Module:
        freeze_all(model)
        unfreeze_modules(model, family.head_modules)
        return model
