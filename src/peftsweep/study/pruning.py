"""Report each validation of a search trial to its study; stop the trial when it is pruned.

The trial reaches the study through ``$PEFTSWEEP_SEARCH`` (set by the search worker for the
length of one trial): storage URL (redacted; the password comes from the environment),
study name, trial number and the pruner settings. Outside a search the variable is unset
and nothing is added to the trainer.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from pytorch_lightning.callbacks import Callback
from pytorch_lightning.trainer.states import TrainerFn

from peftsweep.study.samplers import build_pruner
from peftsweep.study.storage import open_storage

CONTEXT_ENV = "PEFTSWEEP_SEARCH"


class Pruned(Exception):
    """The study pruned this trial at a validation; the trial records it and stops."""

    def __init__(self, step: int, epoch: int, validation: int, value: float):
        super().__init__(f"pruned at step {step} (validation {validation}, value {value:.4g})")
        self.record = {"step": step, "epoch": epoch, "validation": validation, "value": value}


def context() -> dict[str, Any] | None:
    raw = os.environ.get(CONTEXT_ENV)
    return json.loads(raw) if raw else None


def validation_number(trainer, val_check_interval: float) -> int:
    """Validations so far, in units that do not depend on the batch size (the pruner's step)."""
    batches = trainer.global_step * trainer.accumulate_grad_batches
    if isinstance(val_check_interval, int) and not isinstance(val_check_interval, bool) \
            and val_check_interval > 1:
        return max(1, batches // val_check_interval)
    per_epoch = max(1, int(trainer.num_training_batches))
    return max(1, round(batches / per_epoch / float(val_check_interval)))


class ReportToStudy(Callback):
    """Each validation's value goes to the trial's intermediate values; the study's pruner
    decides on the trial as stored (Optuna's public storage and pruner API)."""

    def __init__(self, ctx: dict[str, Any], metric: str, val_check_interval: float):
        import optuna  # the search extra: only a search trial gets here

        self.key = f"val/{metric}"
        self.interval = val_check_interval
        self.storage = open_storage(ctx["storage"])
        self.study = optuna.load_study(study_name=ctx["study"], storage=self.storage,
                                       pruner=build_pruner(ctx["pruner"], ctx["startup"],
                                                           ctx["warmup"]))
        study_id = self.storage.get_study_id_from_name(ctx["study"])
        self.trial_id = self.storage.get_trial_id_from_study_id_trial_number(study_id,
                                                                             ctx["trial"])

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.key)
        if value is None or not math.isfinite(float(value)):
            return  # divergence is the module's to report
        number = validation_number(trainer, self.interval)
        self.storage.set_trial_intermediate_value(self.trial_id, number, float(value))
        if self.study.pruner.prune(self.study, self.storage.get_trial(self.trial_id)):
            raise Pruned(int(trainer.global_step), int(trainer.current_epoch), number,
                         float(value))


def from_environment(metric: str, val_check_interval: float) -> ReportToStudy | None:
    ctx = context()
    return ReportToStudy(ctx, metric, val_check_interval) if ctx else None
