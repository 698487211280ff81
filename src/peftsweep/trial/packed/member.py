"""One trial of a pack: its own data order, optimizer, schedule, clipping, early stopping,
selection and checkpoint, the same as Lightning gives it alone (trial/training.py)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import get_linear_schedule_with_warmup

from peftsweep.data.batching import GROUP_BATCHES, LengthGroupedBatchSampler, use_grouping
from peftsweep.spec.config import TrialConfig
from peftsweep.trial.checkpoints import CHECKPOINT_DIR
from peftsweep.trial.heartbeat import TrialHeartbeat
from peftsweep.trial.packed.csv_rows import CsvRows
from peftsweep.trial.packed.twin import Twin

PACK_CHECKPOINT = "packed.ckpt"


@dataclass
class Member:
    cfg: TrialConfig
    job_dir: Path
    identity: str
    twin: Twin
    slot: int
    heartbeat: TrialHeartbeat
    started: float
    sampler: LengthGroupedBatchSampler | None = None
    optimizer: torch.optim.Optimizer | None = None
    scheduler: Any = None
    batching: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    best_value: float = -math.inf
    best_state: dict[str, torch.Tensor] | None = None
    waited: int = 0  # validations without a better metric (early stopping)
    step: int = 0
    epoch: int = 0
    batches_done: int = 0  # in the current epoch
    resumed_from_step: int | None = None
    status: str = "running"  # running | done | stopped | diverged | failed
    error: str | None = None
    failed_step: int | None = None
    stopped_at: dict | None = None
    reporter: Any = None
    """A search trial's line to its study (study/pruning.py StudyReporter), else None."""
    pruned_at: dict | None = None
    csv: CsvRows | None = None
    """Its csv/metrics.csv (logger.csv), else None."""
    tensorboard: Any = None
    """Its TensorBoardLogger (logger.tensorboard), made once its resume step is known."""
    finite: torch.Tensor | None = None
    losses: list[torch.Tensor] = field(default_factory=list)
    """This run's training losses, detached (no host sync per step)."""

    @property
    def training(self) -> bool:
        return self.status == "running"

    def params(self) -> list[torch.nn.Parameter]:
        return list(self.twin.named.values())

    def prepare(self, lengths, total_steps: int, fused: bool) -> None:
        cfg = self.cfg
        grouped, saving = use_grouping(cfg.trainer.group_by_length, lengths, cfg.batch_size,
                                       cfg.seed)
        self.batching = {"order": "length-grouped" if grouped else "random",
                         "group_by_length": cfg.trainer.group_by_length,
                         "padded_tokens_saved": round(saving, 4)}
        self.sampler = LengthGroupedBatchSampler(lengths, cfg.batch_size, cfg.seed,
                                                 group_batches=GROUP_BATCHES if grouped else 1)
        decay = [p for p in self.params() if p.ndim >= 2]
        no_decay = [p for p in self.params() if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": cfg.trainer.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr, fused=fused or None)
        warmup = cfg.trainer.warmup_steps or math.ceil(cfg.trainer.warmup_ratio * total_steps)
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, warmup, total_steps)

    def clip_and_step(self) -> None:
        if self.cfg.trainer.gradient_clip_val:
            torch.nn.utils.clip_grad_norm_(self.params(), self.cfg.trainer.gradient_clip_val)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1

    def validated(self, values: dict[str, float], metric: str) -> None:
        """Record one validation: history, best state (strictly better, as ModelCheckpoint
        keeps it), early stopping, progress."""
        self.history.append({"step": self.step, "epoch": self.epoch,
                             **{f"validation/{k}": v for k, v in values.items()}})
        self.log({f"val/{k}": v for k, v in values.items()})
        value = values[metric]
        if value > self.best_value:  # NaN is never better
            self.best_value = value
            self.best_state = {n: p.detach().cpu().clone() for n, p in self.twin.named.items()}
            self.waited = 0
        else:
            self.waited += 1
        patience = self.cfg.trainer.early_stopping_patience
        if patience is not None and self.waited >= patience:
            self.status = "stopped"
            self.stopped_at = {"step": self.step, "epoch": self.epoch}
        self._report(value)
        self.heartbeat.validated(self.epoch, self.step, values)

    def _report(self, value: float) -> None:
        """A search trial tells its study each validation; pruned wins over early stopping,
        as it does alone. The study out of reach fails this trial, not the pack."""
        if self.reporter is None or not math.isfinite(value):
            return
        number = len(self.history)  # validations so far, this one included
        try:
            pruned = self.reporter.prunes(number, value)
        except Exception as err:  # noqa: BLE001
            self.status, self.error = "failed", f"{type(err).__name__}: {err}"
            self.failed_step = self.step
            return
        if pruned:
            self.status = "pruned"
            self.pruned_at = {"step": self.step, "epoch": self.epoch, "validation": number,
                              "value": value}

    def log(self, values: dict[str, float]) -> None:
        if self.csv is not None:
            self.csv.add({"epoch": self.epoch, "step": self.step, **values})
        if self.tensorboard is not None:  # the epoch too, as Lightning logs it alone
            self.tensorboard.log_metrics({"epoch": self.epoch, **values}, step=self.step)

    # A packed trial resumes from its own checkpoint, written after each validation.
    def save(self) -> None:
        folder = self.job_dir / CHECKPOINT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        state = {"step": self.step, "epoch": self.epoch, "batches_done": self.batches_done,
                 "history": self.history, "best_value": self.best_value,
                 "best_state": self.best_state, "waited": self.waited,
                 "params": {n: p.detach().cpu() for n, p in self.twin.named.items()},
                 "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict()}
        staging = folder / f".{PACK_CHECKPOINT}.{os.getpid()}.tmp"
        torch.save(state, staging)
        os.replace(staging, folder / PACK_CHECKPOINT)
        if self.csv is not None:  # after the checkpoint: its rows never run ahead of it
            self.csv.flush()
        if self.tensorboard is not None:
            self.tensorboard.save()

    def load(self) -> bool:
        path = self.job_dir / CHECKPOINT_DIR / PACK_CHECKPOINT
        if not path.is_file():
            return False
        state = torch.load(path, map_location="cpu", weights_only=True)
        with torch.no_grad():
            for name, param in self.twin.named.items():
                param.copy_(state["params"][name])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        for key in ("step", "epoch", "batches_done", "history", "best_value", "best_state",
                    "waited"):
            setattr(self, key, state[key])
        self.resumed_from_step = self.step
        if self.csv is not None:
            self.csv.resume(self.step)
        return True

    def position(self) -> tuple[int, int]:
        return self.epoch, self.batches_done
