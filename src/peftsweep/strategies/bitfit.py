"""BitFit (Ben Zaken et al., 2022): train only the bias terms.

Biases include LayerNorm biases, the pooler and the classifier bias. The BitFit
paper also trains the task head; ``train_head=false`` trains biases only, the
variant whose BERT-tiny count (3,074) appears in the course reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from peftsweep.spec.families import Family
from peftsweep.spec.schema import option
from peftsweep.strategies.base import Strategy, StrategyOptions
from peftsweep.strategies.common import freeze_all, unfreeze_modules
from peftsweep.strategies.registry import register


@dataclass(frozen=True)
class Options(StrategyOptions):
    train_head: bool = option(True, "Also train the whole task head (paper setting); false: "
                                    "biases only.")


@register("bitfit", "bias terms (+ task head by default)", Options)
class BitFit(Strategy):
    def trains_head(self, options: Options) -> bool:
        return options.train_head

    def apply(self, model: nn.Module, options: Options, family: Family) -> nn.Module:
        freeze_all(model)
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.requires_grad_(True)
        if options.train_head:
            unfreeze_modules(model, family.head_modules)
        return model
