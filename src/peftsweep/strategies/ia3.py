"""(IA)^3 (Liu et al., 2022) through the PEFT library: learned rescaling vectors."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from peftsweep.families import Family
from peftsweep.schema import Schema, option
from peftsweep.strategies.base import Strategy
from peftsweep.strategies.common import peft_config_or_error
from peftsweep.strategies.registry import register


@dataclass(frozen=True)
class Options(Schema):
    target_modules: list[str] | None = option(None, "Modules to rescale; null: the family's "
                                                    "default (key, value, output.dense).")
    feedforward_modules: list[str] | None = option(
        None, "Targets that are feed-forward layers (scaled on their input); null: the "
              "feed-forward layers among the targets.")


@register
class IA3(Strategy):
    name = "ia3"
    summary = "learned activation rescaling (PEFT)"
    Options = Options

    def targets(self, options: Options, family: Family) -> list[str]:
        return list(options.target_modules or family.ia3_targets)

    def peft_config(self, options: Options, family: Family):
        # Imported here: peft takes seconds to import and most trials never need it.
        from peft import IA3Config, TaskType

        targets = self.targets(options, family)
        feedforward = options.feedforward_modules
        if feedforward is None:
            feedforward = [t for t in targets if t in family.ia3_feedforward]
        return IA3Config(task_type=TaskType.SEQ_CLS, target_modules=targets,
                         feedforward_modules=list(feedforward),
                         modules_to_save=list(family.head_modules))

    def check(self, options: Options, family: Family) -> None:
        peft_config_or_error(self.peft_config, options, family)

    def apply(self, model: nn.Module, options: Options, family: Family) -> nn.Module:
        from peft import get_peft_model

        return get_peft_model(model, self.peft_config(options, family))
