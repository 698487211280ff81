"""(IA)^3 (Liu et al., 2022) through the PEFT library: learned rescaling vectors."""

from __future__ import annotations

from dataclasses import dataclass

from peftsweep.spec.families import Family
from peftsweep.spec.schema import option
from peftsweep.strategies.base import PeftStrategy, StrategyOptions
from peftsweep.strategies.registry import register


@dataclass(frozen=True)
class Options(StrategyOptions):
    target_modules: list[str] | None = option(None, "Modules to rescale; null: the family's "
                                                    "default (key, value, output.dense).")
    feedforward_modules: list[str] | None = option(
        None, "Targets that are feed-forward layers (scaled on their input); null: the "
              "feed-forward layers among the targets.")


@register("ia3", "learned activation rescaling (PEFT)", Options)
class IA3(PeftStrategy):
    family_targets = "ia3_targets"

    def peft_config(self, options: Options, family: Family):
        from peft import IA3Config, TaskType

        targets = self.targets(options, family)
        feedforward = options.feedforward_modules
        if feedforward is None:
            feedforward = [t for t in targets if t in family.ia3_feedforward]
        return IA3Config(task_type=TaskType.SEQ_CLS, target_modules=targets,
                         feedforward_modules=list(feedforward),
                         modules_to_save=list(family.head_modules))
