"""With random batches, a trial repeats HF Trainer's run for its seed (benchmarks/lockstep.py).

Same model and rows; each tool draws its own batch order and dropout masks and
evaluates after each epoch. Every per-step loss and learning rate must agree.
"""

from __future__ import annotations

import sys

import pytest
from test_trial import config

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import lockstep  # noqa: E402 - lives with the benchmarks, which run it on minilm


@pytest.mark.parametrize("strategy", ["full", "bitfit", "lora"])
def test_each_step_matches_hf_trainer(strategy, tmp_path, cache_dir):
    # A clip norm small enough that clipping acts on these gradients.
    cfg = config(f"strategy={strategy}", "trainer.group_by_length=false", "seed=3",
                 "trainer.gradient_clip_val=0.1")
    ours, result = lockstep.our_steps(cfg, tmp_path / "job")
    theirs = lockstep.hf_steps(cfg, tmp_path / "hf")
    assert result["batches"]["order"] == "random"
    assert len(ours) == len(theirs) > 20  # two epochs, with an evaluation between them
    losses, lrs = zip(*ours, strict=True)
    hf_losses, hf_lrs = zip(*theirs, strict=True)
    assert max(lrs) > 0
    assert lrs == pytest.approx(hf_lrs, rel=1e-6, abs=1e-12)
    # Same kernels on the same batches with the same dropout masks.
    assert losses == pytest.approx(hf_losses, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("change", ["trainer.weight_decay=0.5", "seed=4"])
def test_a_changed_setting_breaks_the_lockstep(change, tmp_path, cache_dir):
    cfg = config("strategy=bitfit", "trainer.group_by_length=false", "seed=3")
    ours, _ = lockstep.our_steps(cfg, tmp_path / "job")
    theirs = lockstep.hf_steps(config("strategy=bitfit", "trainer.group_by_length=false",
                                      "seed=3", change), tmp_path / "hf")
    assert lockstep.compare(ours, theirs)["max_loss_diff"] > 1e-5
