"""LoRA (Hu et al., 2021) through the PEFT library.

The task head is listed in ``modules_to_save`` so it trains and is saved with
the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass

from peftsweep.spec.families import Family
from peftsweep.spec.schema import option
from peftsweep.strategies.base import PeftStrategy, StrategyOptions
from peftsweep.strategies.registry import register


@dataclass(frozen=True)
class Options(StrategyOptions):
    r: int = option(8, "Rank of the low-rank update.", gt=0)
    alpha: float = option(16, "Scaling: the update is (alpha / r) * BA.", gt=0)
    dropout: float = option(0.1, "Dropout on the LoRA input.", ge=0, lt=1)
    target_modules: list[str] | None = option(None, "Module names to adapt; null: the family's "
                                                    "default (query/value).")
    bias: str = option("none", "Which biases train.", choices=("none", "all", "lora_only"))


@register("lora", "low-rank adapters on attention (PEFT)", Options)
class LoRA(PeftStrategy):
    family_targets = "lora_targets"

    def capacity(self, options: Options) -> str:
        return "r"

    def peft_config(self, options: Options, family: Family):
        from peft import LoraConfig, TaskType

        return LoraConfig(task_type=TaskType.SEQ_CLS, r=options.r, lora_alpha=options.alpha,
                          lora_dropout=options.dropout, bias=options.bias,
                          target_modules=self.targets(options, family),
                          modules_to_save=list(family.head_modules))
