"""Report each validation of a search trial to its study; stop the trial when it is pruned.

The trial reaches the study through ``$PEFTSWEEP_SEARCH`` (set by the search worker for the
length of one trial): storage URL (redacted; the password comes from the environment),
study name, trial number, the pruner settings and, for a confirmation trial, the trial it
confirms. Outside a search the variable is unset
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


class StudyReporter:
    """One search trial's line to its study: report a validation's value, ask the pruner
    (Optuna's public storage and pruner API). Connects at the first report."""

    def __init__(self, ctx: dict[str, Any]):
        self.ctx = ctx
        self.study = self.storage = self.trial_id = None

    def _connect(self) -> None:
        import optuna  # the search extra: only a search trial gets here

        ctx = self.ctx
        self.storage = open_storage(ctx["storage"])
        self.study = optuna.load_study(study_name=ctx["study"], storage=self.storage,
                                       pruner=build_pruner(ctx["pruner"], ctx["startup"],
                                                           ctx["warmup"]))
        study_id = self.storage.get_study_id_from_name(ctx["study"])
        self.trial_id = self.storage.get_trial_id_from_study_id_trial_number(study_id,
                                                                             ctx["trial"])

    def prunes(self, number: int, value: float) -> bool:
        """Report validation ``number``; True when the study prunes the trial there."""
        if self.study is None:
            self._connect()
        self.storage.set_trial_intermediate_value(self.trial_id, number, float(value))
        return bool(self.study.pruner.prune(self.study, self.storage.get_trial(self.trial_id)))


class ReportToStudy(Callback):
    """Each validation's value goes to the trial's intermediate values; the study's pruner
    decides on the trial as stored.

    Under DDP only rank 0 talks to the study; it broadcasts its decision at every
    validation and every rank acts on it, so the ranks stop together (a rank that pruned on
    its own would leave the others waiting for it in their next collective).
    """

    def __init__(self, ctx: dict[str, Any], metric: str, val_check_interval: float):
        self.reporter = StudyReporter(ctx)
        self.key = f"val/{metric}"
        self.interval = val_check_interval

    def decide(self, trainer) -> dict[str, Any] | None:
        """Rank 0: report this validation; the pruning record if the study prunes the trial."""
        value = trainer.callback_metrics.get(self.key)
        if value is None or not math.isfinite(float(value)):
            return None  # divergence is the module's to report
        number = validation_number(trainer, self.interval)
        if not self.reporter.prunes(number, float(value)):
            return None
        return {"step": int(trainer.global_step), "epoch": int(trainer.current_epoch),
                "validation": number, "value": float(value)}

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking:
            return
        record = self.decide(trainer) if trainer.is_global_zero else None
        if trainer.world_size > 1:  # every rank gets here at every validation
            record = trainer.strategy.broadcast(record, src=0)
        if record is not None:
            raise Pruned(**record)


def from_environment(metric: str, val_check_interval: float) -> ReportToStudy | None:
    ctx = context()
    return ReportToStudy(ctx, metric, val_check_interval) if ctx else None
