"""Our trial and HF Trainer step for step, from the same seed.

Our trial with random batches draws HF Trainer's batch order (accelerate's
sampler, seeded with seed + epoch) and seeds again where HF Trainer does (once
the model exists), so the dropout masks are the same too. Given the same model,
rows and hyper-parameters, each training step's loss and learning rate must
then agree with HF Trainer's own run, dropout on and evaluation after each
epoch, with nothing fed across: the optimizer, schedule, clipping, weight decay,
loss, padding, batch order and random draws are the same.
tests/test_hf_trainer_lockstep.py runs this on the demo model; the benchmark's
lockstep phase on minilm and IMDb.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import peers
import workload
from transformers import DataCollatorWithPadding, Trainer

from peftsweep import trial as trial_module
from peftsweep.models.module import SequenceClassifier

Steps = list[tuple[float, float]]  # (training loss, learning rate) of each step


def our_steps(cfg, job_dir: Path) -> tuple[Steps, dict]:
    """Run our trial with random batches, recording every step; also return its result."""
    if cfg.trainer.group_by_length is not False:
        raise ValueError("lockstep needs trainer.group_by_length=false (HF's random order)")
    steps: Steps = []
    step = SequenceClassifier.training_step

    def recorded(self, batch, batch_idx):
        loss = step(self, batch, batch_idx)
        steps.append((loss.item(), self.trainer.optimizers[0].param_groups[0]["lr"]))
        return loss

    with mock.patch.object(SequenceClassifier, "training_step", recorded):
        result = trial_module.run_trial(cfg, job_dir)
    if result["status"] != "ok":
        raise RuntimeError(f"our trial failed: {result.get('error')}")
    return steps, result


class RecordingTrainer(Trainer):
    """HF Trainer as it is, recording each training step's loss and lr."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps: Steps = []

    def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
        out = super().compute_loss(model, inputs, return_outputs=return_outputs, **kwargs)
        if model.training:
            self.steps.append((out.item(), self.lr_scheduler.get_last_lr()[0]))
        return out


def hf_steps(cfg, out_dir: Path) -> Steps:
    """The same model and rows through HF Trainer with its own sampler, dropout and evaluation."""
    w = workload.build(cfg)
    args = peers.arguments(w, str(out_dir), grouped=False, save_strategy="no",
                           eval_strategy="epoch")
    trainer = RecordingTrainer(model=w.model, args=args, train_dataset=w.splits["train"],
                               eval_dataset=w.splits["validation"],
                               data_collator=DataCollatorWithPadding(w.tokenizer))
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
