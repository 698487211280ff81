"""The Lightning Trainer of a trial: precision, loggers, checkpoints, resume, timing."""

from __future__ import annotations

import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.trainer.states import TrainerFn

from peftsweep.spec.config import TrialConfig
from peftsweep.trial import distributed, runtime, stopping
from peftsweep.trial.checkpoints import CHECKPOINT_DIR
from peftsweep.trial.tracking import build_loggers


def _now() -> float:
    # Queued GPU work belongs to the phase that queued it.
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return time.perf_counter()


class PhaseTimer(Callback):
    """Seconds spent in training steps vs validation, for samples/s and overhead.

    A training stretch runs from the epoch start (or the first batch after a
    validation) to the next validation or the epoch end, so the checkpoint writes
    that follow a validation count as neither phase.
    """

    def __init__(self):
        self.train_s = 0.0
        self.val_s = 0.0
        self.first_epoch: int | None = None
        self._mark: float | None = None
        self._val_mark = 0.0

    def _stop_training_clock(self) -> None:
        if self._mark is not None:
            self.train_s += _now() - self._mark
            self._mark = None

    def on_train_epoch_start(self, trainer, pl_module):
        if self.first_epoch is None:
            self.first_epoch = trainer.current_epoch
        self._mark = _now()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self._mark is None:  # first batch after a validation (one sync per validation)
            self._mark = _now()

    def on_validation_start(self, trainer, pl_module):
        if trainer.state.fn == TrainerFn.FITTING:
            self._stop_training_clock()
        self._val_mark = _now()

    def on_validation_end(self, trainer, pl_module):
        self.val_s += _now() - self._val_mark

    def on_train_epoch_end(self, trainer, pl_module):
        self._stop_training_clock()


class ReseedBeforeFit(Callback):
    """Seed again once the model is built, right before the training loop is set up.

    Dropout draws then no longer depend on how many random numbers the strategy's
    initialisation took. It is also where HF Trainer seeds (its constructor, after
    the model exists): with random batches, a trial repeats HF Trainer's run step
    for step.
    """

    def __init__(self, seed: int):
        self.seed = seed

    def setup(self, trainer, pl_module, stage: str) -> None:
        if stage == "fit":
            pl.seed_everything(self.seed, workers=True, verbose=False)


def build_trainer(cfg: TrialConfig, job_dir: Path, metric: str, timer: PhaseTimer,
                  resumed_step: int | None = None) -> tuple[pl.Trainer, ModelCheckpoint]:
    """``resumed_step``: the step of the checkpoint the trial continues from, if any."""
    best = ModelCheckpoint(dirpath=str(job_dir / CHECKPOINT_DIR), filename="best",
                           monitor=f"val/{metric}", mode="max", save_top_k=1, save_last=True,
                           enable_version_counter=False)
    on_gpu = runtime.use_gpu(cfg)
    trainer = pl.Trainer(
        default_root_dir=str(job_dir),
        max_epochs=cfg.epochs,
        **distributed.trainer_kwargs(cfg, on_gpu),
        precision=runtime.precision(cfg),
        gradient_clip_val=cfg.trainer.gradient_clip_val,
        accumulate_grad_batches=cfg.trainer.accumulate_grad_batches,
        val_check_interval=cfg.trainer.val_check_interval,
        log_every_n_steps=cfg.trainer.log_every_n_steps,
        # A trial continuing from its last checkpoint continues its logs and trackers' runs.
        logger=build_loggers(cfg, job_dir, resumed_step=resumed_step) or False,
        callbacks=[best, timer, ReseedBeforeFit(cfg.seed), *stopping.callbacks(cfg, metric)],
        enable_progress_bar=cfg.trainer.enable_progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=not on_gpu,
    )
    return trainer, best
