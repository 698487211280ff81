"""trainer.gradient_checkpointing: the same training, recomputed, for every strategy."""

from __future__ import annotations

import pytest
import transformers.modeling_utils

from peftsweep.models.module import SequenceClassifier
from peftsweep.trial import run as trial_module

from helpers import trial_config

SMALL = ["data.demo_size=200", "epochs=1"]
TRAINING_STEP = SequenceClassifier.training_step


def run(tmp_path, monkeypatch, name: str, *overrides: str) -> dict:
    """The trial's result, with the loss of every training step added."""
    losses = []

    def recorded(self, batch, batch_idx):
        loss = TRAINING_STEP(self, batch, batch_idx)
        losses.append(loss.item())
        return loss

    monkeypatch.setattr(SequenceClassifier, "training_step", recorded)
    cfg = trial_config(*SMALL, *overrides)
    result = trial_module.run_trial(cfg, tmp_path / name)
    assert result["status"] == "ok", result["error"]
    return {**result, "losses": losses}


# LoRA (a PEFT wrapper over a frozen backbone) stays in the fast suite; the rest ~10 s each.
@pytest.mark.parametrize("strategy", [
    "lora", *(pytest.param(name, marks=pytest.mark.integration)
              for name in ("full", "bitfit", "head", "ia3"))])
def test_checkpointing_leaves_the_training_unchanged(strategy, tmp_path, cache_dir,
                                                      monkeypatch):
    # A linear probe's encoder runs in eval mode (nothing to recompute) unless asked not to.
    options = (f"strategy={strategy}",
               *(("strategy.backbone_dropout=true",) if strategy == "head" else ()))
    plain = run(tmp_path, monkeypatch, "plain", *options)
    recomputed = []
    original = transformers.modeling_utils.checkpoint

    def counted(*args, **kwargs):
        recomputed.append(kwargs.get("use_reentrant"))
        return original(*args, **kwargs)

    monkeypatch.setattr(transformers.modeling_utils, "checkpoint", counted)
    checkpointed = run(tmp_path, monkeypatch, "checkpointed", *options,
                       "trainer.gradient_checkpointing=true")
    assert recomputed and set(recomputed) == {False}  # every layer, non-reentrant
    # Recomputation replays the same dropout masks: the same losses, weights and metrics.
    assert len(plain["losses"]) == 7 and len(set(plain["losses"])) > 1
    assert checkpointed["losses"] == plain["losses"]
    assert checkpointed["history"] == plain["history"]
    assert checkpointed["test"] == plain["test"]
    assert checkpointed["identity"] == plain["identity"]  # a runtime setting, not science
