"""With random batches, a trial repeats HF Trainer's run for its seed, step for step.

Same model and rows (peftsweep.trial.hf_trainer builds HF Trainer's side from the
trial's config); each tool draws its own batch order and dropout masks and
evaluates after each epoch. Our trial draws HF Trainer's batch order
(accelerate's sampler, seeded with seed + epoch) and seeds again where HF
Trainer does, so with nothing fed across, every per-step training loss and
learning rate must agree: the optimizer, schedule, clipping, weight decay,
loss, padding, batch order and random draws are all the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import Trainer

from peftsweep.models.module import SequenceClassifier
from peftsweep.trial import run as trial_module
from peftsweep.trial.hf_trainer import build_workload, hf_trainer, training_arguments

from helpers import trial_config

Steps = list[tuple[float, float]]  # (training loss, learning rate) of each step


def our_steps(cfg, job_dir: Path, monkeypatch) -> tuple[Steps, dict]:
    """Run our trial, recording every training step; also return its result."""
    steps: Steps = []
    step = SequenceClassifier.training_step

    def recorded(self, batch, batch_idx):
        loss = step(self, batch, batch_idx)
        steps.append((loss.item(), self.trainer.optimizers[0].param_groups[0]["lr"]))
        return loss

    with monkeypatch.context() as patch:
        patch.setattr(SequenceClassifier, "training_step", recorded)
        result = trial_module.run_trial(cfg, job_dir)
    assert result["status"] == "ok", result.get("error")
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
    w = build_workload(cfg)
    args = training_arguments(w, str(out_dir), save_strategy="no", eval_strategy="epoch")
    trainer = hf_trainer(w, args, RecordingTrainer, eval_dataset=w.splits["validation"])
    trainer.train()
    return trainer.steps


@pytest.mark.parametrize("strategy", ["full", "bitfit", "lora"])
def test_each_step_matches_hf_trainer(strategy, tmp_path, cache_dir, monkeypatch):
    # A clip norm small enough that clipping acts on these gradients.
    cfg = trial_config(f"strategy={strategy}", "trainer.group_by_length=false", "seed=3",
                       "trainer.gradient_clip_val=0.1")
    ours, result = our_steps(cfg, tmp_path / "job", monkeypatch)
    theirs = hf_steps(cfg, tmp_path / "hf")
    assert result["batches"]["order"] == "random"
    assert len(ours) == len(theirs) > 20  # two epochs, with an evaluation between them
    losses, lrs = zip(*ours, strict=True)
    hf_losses, hf_lrs = zip(*theirs, strict=True)
    assert max(lrs) > 0
    assert lrs == pytest.approx(hf_lrs, rel=1e-6, abs=1e-12)
    # Same kernels on the same batches with the same dropout masks.
    assert losses == pytest.approx(hf_losses, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("change", ["trainer.weight_decay=0.5", "seed=4"])
def test_a_changed_setting_breaks_the_lockstep(change, tmp_path, cache_dir, monkeypatch):
    base = ["strategy=bitfit", "trainer.group_by_length=false", "seed=3"]
    ours, _ = our_steps(trial_config(*base), tmp_path / "job", monkeypatch)
    theirs = hf_steps(trial_config(*base, change), tmp_path / "hf")
    assert len(ours) == len(theirs)
    assert max(abs(a[0] - b[0]) for a, b in zip(ours, theirs, strict=True)) > 1e-5
