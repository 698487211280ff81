"""LoRA (Hu et al., 2021) through the PEFT library.

The task head is listed in ``modules_to_save`` so it trains and is saved with
the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from peftsweep.models.families import Family

BIAS_MODES = ("none", "all", "lora_only")


@dataclass(frozen=True)
class Options:
    r: int = field(default=8, metadata={"help": "Rank of the low-rank update."})
    alpha: float = field(default=16, metadata={"help": "Scaling: update is (alpha / r) * BA."})
    dropout: float = field(default=0.1, metadata={"help": "Dropout on the LoRA input."})
    target_modules: list | None = field(
        default=None, metadata={"help": "Module names to adapt; null = family default."})
    bias: str = field(default="none", metadata={"help": "Which biases train: none|all|lora_only."})


def check(options: Options) -> None:
    if options.r <= 0:
        raise ValueError(f"r must be > 0, got {options.r}")
    if not 0 <= options.dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {options.dropout}")
    if options.bias not in BIAS_MODES:
        raise ValueError(f"bias must be one of {', '.join(BIAS_MODES)}, got {options.bias!r}")


def targets(options: Options, family: Family) -> list[str]:
    return list(options.target_modules or family.lora_targets)


def apply(model: nn.Module, options: Options, family: Family) -> nn.Module:
    # Imported here: peft takes seconds to import and most trials never need it.
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=options.r,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules=targets(options, family),
        bias=options.bias,
        modules_to_save=list(family.head_modules),
    )
    return get_peft_model(model, config)
