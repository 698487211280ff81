"""Our training step is HF Trainer's, step for step (benchmarks/lockstep.py).

Same model, same batches in the same order, no dropout: every per-step loss and
learning rate must agree, for each strategy.
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
    ours = lockstep.our_steps(cfg, tmp_path / "job")
    theirs = lockstep.hf_steps(cfg, tmp_path / "hf")
    assert len(ours) == len(theirs) > 10
    losses, lrs = zip(*ours, strict=True)
    hf_losses, hf_lrs = zip(*theirs, strict=True)
    assert max(lrs) > 0
    assert lrs == pytest.approx(hf_lrs, rel=1e-6, abs=1e-12)
    # Same kernels on the same batches: equal up to float summation order at most.
    assert losses == pytest.approx(hf_losses, rel=1e-6, abs=1e-7)


def test_a_changed_hyperparameter_breaks_the_lockstep(tmp_path, cache_dir):
    cfg = config("strategy=bitfit", "trainer.group_by_length=false", "seed=3")
    ours = lockstep.our_steps(cfg, tmp_path / "job")
    theirs = lockstep.hf_steps(config("strategy=bitfit", "trainer.group_by_length=false",
                                      "seed=3", "trainer.weight_decay=0.5"), tmp_path / "hf")
    assert lockstep.compare(ours, theirs)["max_loss_diff"] > 1e-5
