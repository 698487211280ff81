"""Linear probe: only the task head trains; the encoder stays frozen."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from peftsweep.models.families import Family
from peftsweep.strategies.common import freeze_all, unfreeze_modules


@dataclass(frozen=True)
class Options:
    pass


def apply(model: nn.Module, options: Options, family: Family) -> nn.Module:
    freeze_all(model)
    unfreeze_modules(model, family.head_modules)
    return model
