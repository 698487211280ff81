"""(IA)^3 (Liu et al., 2022) through the PEFT library: learned rescaling vectors."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from peftsweep.models.families import Family


@dataclass(frozen=True)
class Options:
    target_modules: list | None = field(
        default=None, metadata={"help": "Modules to rescale; null = family default."})
    feedforward_modules: list | None = field(
        default=None, metadata={"help": "Targets that are feed-forward layers; null = default."})


def targets(options: Options, family: Family) -> list[str]:
    return list(options.target_modules or family.ia3_targets)


def apply(model: nn.Module, options: Options, family: Family) -> nn.Module:
    # Imported here: peft takes seconds to import and most trials never need it.
    from peft import IA3Config, TaskType, get_peft_model

    feedforward = options.feedforward_modules
    if feedforward is None:
        feedforward = [t for t in targets(options, family) if t in family.ia3_feedforward]
    config = IA3Config(
        task_type=TaskType.SEQ_CLS,
        target_modules=targets(options, family),
        feedforward_modules=list(feedforward),
        modules_to_save=list(family.head_modules),
    )
    return get_peft_model(model, config)
