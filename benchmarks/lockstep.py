"""Our trial and HF Trainer step for step.

Both loops get the same model (same seed, same strategy code), the same rows in
the same batches and order, and no dropout. Then each training step's loss and
learning rate must agree: the optimizer, schedule, clipping, weight decay, loss
and padding are the same, and any accuracy gap between the two tools comes from
batch order and dropout draws alone. tests/test_hf_trainer_lockstep.py runs this
on the demo model; the benchmark's lockstep phase on minilm and IMDb.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import peers
import torch
import workload
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding, Trainer

from peftsweep import trial as trial_module
from peftsweep.data.batching import LengthGroupedBatchSampler
from peftsweep.models.module import SequenceClassifier

Steps = list[tuple[float, float]]  # (training loss, learning rate) of each step


def without_dropout(model: torch.nn.Module) -> torch.nn.Module:
    # BERT's attention reads its dropout rate from the nn.Dropout module too.
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


def our_steps(cfg, job_dir: Path) -> Steps:
    """Run our trial (random batches, dropout off), recording every step."""
    if cfg.trainer.group_by_length:
        raise ValueError("lockstep needs trainer.group_by_length=false (HF has no such order)")
    steps: Steps = []
    step, fit_start = SequenceClassifier.training_step, SequenceClassifier.on_fit_start

    def recorded(self, batch, batch_idx):
        loss = step(self, batch, batch_idx)
        steps.append((loss.item(), self.trainer.optimizers[0].param_groups[0]["lr"]))
        return loss

    def dropout_off(self):
        fit_start(self)
        without_dropout(self.model)

    with (mock.patch.object(SequenceClassifier, "training_step", recorded),
          mock.patch.object(SequenceClassifier, "on_fit_start", dropout_off)):
        result = trial_module.run_trial(cfg, job_dir)
    if result["status"] != "ok":
        raise RuntimeError(f"our trial failed: {result.get('error')}")
    return steps


class OrderedTrainer(Trainer):
    """HF Trainer fed a given batch sampler, recording each step's loss and lr."""

    def __init__(self, *args, batch_sampler, **kwargs):
        super().__init__(*args, **kwargs)
        self.batch_sampler = batch_sampler
        self.steps: Steps = []

    def get_train_dataloader(self) -> DataLoader:
        rows = self._remove_unused_columns(self.train_dataset, description="training")
        loader = DataLoader(rows, batch_sampler=self.batch_sampler, collate_fn=self.data_collator)
        return self.accelerator.prepare(loader)

    def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
        loss = super().compute_loss(model, inputs, return_outputs=False, **kwargs)
        self.steps.append((loss.item(), self.lr_scheduler.get_last_lr()[0]))
        return loss


def hf_steps(cfg, out_dir: Path) -> Steps:
    """The same model, rows and batch order through HF Trainer, as the benchmark's peer."""
    w = workload.build(cfg)
    train = w.splits["train"]
    # Our datamodule's order for these rows: random batches, reshuffled per epoch by seed.
    sampler = LengthGroupedBatchSampler(train["length"], cfg.batch_size, cfg.seed,
                                        group_batches=1)
    args = peers.arguments(w, str(out_dir), grouped=False, save_strategy="no",
                           eval_strategy="no")
    trainer = OrderedTrainer(model=without_dropout(w.model), args=args, train_dataset=train,
                             data_collator=DataCollatorWithPadding(w.tokenizer),
                             batch_sampler=sampler)
    trainer.train()
    return trainer.steps


def compare(ours: Steps, theirs: Steps) -> dict:
    """Largest per-step differences, and how far the loss moved (so a match means something)."""
    if len(ours) != len(theirs):
        return {"steps": [len(ours), len(theirs)], "error": "different numbers of steps"}
    loss_diff = max(abs(a[0] - b[0]) for a, b in zip(ours, theirs, strict=True))
    lr_diff = max(abs(a[1] - b[1]) for a, b in zip(ours, theirs, strict=True))
    losses = [loss for loss, _ in ours]
    return {"steps": len(ours), "max_loss_diff": loss_diff, "max_lr_diff": lr_diff,
            "first_loss": losses[0], "last_loss": losses[-1], "peak_lr": max(lr for _, lr in ours)}
