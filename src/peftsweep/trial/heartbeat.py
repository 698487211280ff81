"""The trial side of ``progress.json``: rewritten after every validation and every few seconds.

The format and its readers are in :mod:`peftsweep.trial.progress_file`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from pytorch_lightning.callbacks import Callback
from pytorch_lightning.trainer.states import TrainerFn

from peftsweep.spec.results import atomic_write_json
from peftsweep.trial.progress_file import BEAT_S, PROGRESS_FILE


class TrialHeartbeat(Callback):
    """Keeps progress.json current for the life of a ``with`` block (and a Trainer)."""

    def __init__(self, job_dir: Path, max_epochs: int, interval: float = BEAT_S):
        self.path = Path(job_dir) / PROGRESS_FILE
        self.interval = interval
        self.state: dict[str, Any] = {"started_at": time.time(), "epoch": None, "step": 0,
                                      "max_epochs": max_epochs, "validation": {}}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def __enter__(self) -> TrialHeartbeat:
        self._write()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.state["ended"] = True  # a fresh file no longer means running
        self._write()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self._write()

    def _write(self) -> None:
        try:
            atomic_write_json(self.path, {**self.state, "updated_at": time.time()})
        except OSError:
            pass  # a full or vanished disk must not kill the trial over a status file

    # What a training loop reports (a Trainer through the hooks below, a pack directly).
    def epoch_started(self, epoch: int) -> None:
        if "first_epoch" not in self.state:  # a resumed fit starts past epoch 0
            self.state.update(first_epoch=epoch, fit_started_at=time.time())
        self.state["epoch"] = epoch
        self._write()

    def epoch_ended(self, epoch: int) -> None:
        self.state["epochs_done"] = epoch + 1  # the pace peftsweep-status uses
        self._write()

    def validated(self, epoch: int, step: int, metrics: dict[str, float]) -> None:
        self.state.update(epoch=epoch, step=step, validation=metrics)
        self._write()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.epoch_started(trainer.current_epoch)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.epoch_ended(trainer.current_epoch)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn != TrainerFn.FITTING:
            return
        metrics = {k.split("/", 1)[1]: float(v) for k, v in trainer.callback_metrics.items()
                   if k.startswith("val/")}
        self.validated(trainer.current_epoch, trainer.global_step, metrics)
