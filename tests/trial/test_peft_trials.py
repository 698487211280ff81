"""A short trial of every PEFT preset on the tiny demo model, one on the packaged MiniLM, and
what result.json keeps of them: the exact count, the budget and every test example."""

from __future__ import annotations

import pytest
import torch

from peftsweep.params.meta_model import build_for_counting
from peftsweep.params.methods import closed_form
from peftsweep.spec.config import task_spec
from peftsweep.spec.examples import decode
from peftsweep.spec.families import FAMILIES
from peftsweep.spec.results import read_result
from peftsweep.strategies import rank_allocation
from peftsweep.trial.run import run_trial

from helpers import trial_config

PRESETS = ["dora", "rslora", "adalora", "loha", "lokr", "vera", "oft", "prompt_tuning",
           "p_tuning"]
SHORT = ["data.demo_size=200", "epochs=1"]


def check_examples(result: dict) -> None:
    """The per-example outcomes are the test split's, and give the trial's own accuracy."""
    examples = result["test_examples"]["test"]
    labels, predictions = decode(examples["labels"]), decode(examples["predictions"])
    assert examples["n"] == len(labels) == len(predictions) > 0
    accuracy = sum(a == b for a, b in zip(labels, predictions, strict=True)) / len(labels)
    assert accuracy == pytest.approx(result["test"]["accuracy"], abs=1e-6)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_trains_and_is_counted_exactly(preset, tmp_path, cache_dir):
    cfg = trial_config(*SHORT, f"strategy={preset}")
    result = run_trial(cfg, tmp_path / preset)
    assert result["status"] == "ok", result["error"]
    assert read_result(tmp_path / preset / "result.json")["identity"] == cfg.identity()
    base = build_for_counting(cfg.model, task_spec(cfg.data), cfg.cache_dir)
    formula = closed_form(base, cfg.strategy, FAMILIES[cfg.model.family])
    assert formula is not None and result["params"]["trainable"] == formula.value
    check_examples(result)
    assert result["weights"]["parameters"] == result["params"]["trainable"]


def test_a_budget_is_sized_and_recorded(tmp_path, cache_dir):
    cfg = trial_config(*SHORT, "strategy=loha", "strategy.budget=4000")
    result = run_trial(cfg, tmp_path / "loha")
    assert result["status"] == "ok", result["error"]
    budget = result["budget"]
    assert (budget["requested"], budget["parameters"], budget["option"]) == (4000, 4000, "r")
    assert budget["trainable"] == result["params"]["trainable"]
    assert result["config"]["strategy"]["budget"] == 4000  # the request, as the user wrote it
    # LoHa on the tiny model: 2 layers x (query, value) x 2r(64 + 64) + head 130.
    assert result["params"]["trainable"] == 4 * 2 * budget["value"] * 128 + 130


def test_adalora_allocates_ranks_after_every_optimizer_step(tmp_path, cache_dir, monkeypatch):
    steps, ranks = [], []
    step = rank_allocation.RankAllocation.__call__

    def recorded(self, taken):  # the real allocation, and what it did
        step(self, taken)
        steps.append(taken)
        pattern = self._tuner.peft_config["default"].rank_pattern
        ranks.append(None if pattern is None else sum(map(sum, pattern.values())))

    monkeypatch.setattr(rank_allocation.RankAllocation, "__call__", recorded)
    cfg = trial_config(*SHORT, "strategy=adalora", "strategy.tinit=1", "strategy.tfinal=2",
                       "strategy.deltaT=1", "trainer.keep_checkpoint=true")
    result = run_trial(cfg, tmp_path / "adalora")
    assert result["status"] == "ok", result["error"]
    total = result["optimizer_steps"]
    assert steps == list(range(1, total + 1))  # every step, up to the trial's own total
    # From 4 layers x init_r 12 down to the target, 4 x 8, once the budgeting phase ends.
    assert ranks[total - 2 - 1] == 4 * 8 and ranks[-1] == 4 * 8
    state = torch.load(tmp_path / "adalora" / "checkpoints" / "last.ckpt", weights_only=False)
    # A resume carries the allocator on: here, after the last step, the final ranks.
    assert state["peftsweep"]["after_step"]["rank_pattern"]


def test_prompt_tuning_on_the_packaged_minilm(tmp_path, cache_dir):
    cfg = trial_config("model=minilm", "data.demo_size=64", "epochs=1", "batch_size=16",
                       "strategy=prompt_tuning", "strategy.budget=0.02%")
    result = run_trial(cfg, tmp_path / "minilm")
    assert result["status"] == "ok", result["error"]
    # 384-wide embeddings per virtual token plus the 770 of the head, closest to 0.02%.
    tokens = result["budget"]["value"]
    assert result["params"]["trainable"] == tokens * 384 + 770
    assert abs(result["params"]["trainable"] - result["budget"]["parameters"]) <= 384 / 2
    check_examples(result)
