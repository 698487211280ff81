"""Every PEFT method is counted exactly: its closed form against PEFT's own count, on a tiny
model of every family, and the budget sizing that rests on those counts."""

from __future__ import annotations

import dataclasses

import pytest

from peftsweep.errors import ConfigError
from peftsweep.params.budget import exact_count, size
from peftsweep.params.meta_model import build_for_counting, on_cpu
from peftsweep.params.methods import closed_form
from peftsweep.spec.config import ModelConfig
from peftsweep.spec.families import FAMILIES
from peftsweep.spec.tasks import TASKS
from peftsweep.strategies import apply_strategy, validate_strategy, with_capacity

from helpers import SMALL_ARCHS

# Each method with options that change its formula (DoRA's magnitudes, LoKr's factors, ...).
METHODS = {
    "lora": {"name": "lora", "r": 3},
    "dora": {"name": "peft", "method": "lora", "use_dora": True, "r": 3},
    "rslora": {"name": "peft", "method": "lora", "use_rslora": True, "r": 5},
    "adalora": {"name": "peft", "method": "adalora", "init_r": 5},
    "loha": {"name": "peft", "method": "loha", "r": 3},
    "lokr": {"name": "peft", "method": "lokr", "r": 2},
    "lokr-both": {"name": "peft", "method": "lokr", "r": 6, "decompose_both": True,
                  "decompose_factor": 4},
    "vera": {"name": "peft", "method": "vera", "r": 7},
    "oft": {"name": "peft", "method": "oft", "oft_block_size": 4},
    "oft-shared": {"name": "peft", "method": "oft", "oft_block_size": 8, "block_share": True},
    "ia3": {"name": "peft", "method": "ia3"},
    "prompt_tuning": {"name": "peft", "method": "prompt_tuning", "num_virtual_tokens": 3},
    "p_tuning": {"name": "peft", "method": "p_tuning", "num_virtual_tokens": 3,
                 "encoder_hidden_size": 5},
    "prefix_tuning": {"name": "peft", "method": "prefix_tuning", "num_virtual_tokens": 2},
    "prefix-mlp": {"name": "prefix", "num_virtual_tokens": 3, "prefix_projection": True,
                   "encoder_hidden_size": 8},
}
SPEC = dataclasses.replace(TASKS["demo"], label_names=("a", "b", "c"))


def small(family: str):
    model = ModelConfig(name=f"small_{family}", name_or_path="unused", pretrained=True,
                        family=family, arch=SMALL_ARCHS[family])
    return lambda: build_for_counting(model, SPEC, "unused")


@pytest.mark.parametrize("family", sorted(SMALL_ARCHS))
def test_closed_forms_equal_peft_counts_on_every_family(family):
    build, checked = small(family), 0
    for name, raw in METHODS.items():
        try:
            strategy = validate_strategy(raw, FAMILIES[family])
        except ConfigError as err:
            # Only where PEFT itself cannot: key/value prefixes on families without caches.
            assert "key/value cache" in str(err) and not FAMILIES[family].prefix_tuning, err
            continue
        formula = closed_form(build(), strategy, FAMILIES[family])
        model = apply_strategy(on_cpu(build()), strategy, FAMILIES[family])
        assert formula is not None, name
        assert formula.value == model.get_nb_trainable_parameters()[0], (name, formula)
        checked += 1
    assert checked >= 12


def test_counts_are_taken_on_real_tensors():
    # On the meta device PEFT makes AdaLoRA's rank counters trainable: counts would be off.
    build, family = small("bert"), FAMILIES["bert"]
    strategy = validate_strategy(METHODS["adalora"], family)
    on_meta = apply_strategy(build(), strategy, family).get_nb_trainable_parameters()[0]
    assert exact_count(build, strategy, family) == on_meta - 4  # four adapted layers
    assert exact_count(build, strategy, family) == closed_form(build(), strategy, family).value


def sizing(raw: dict, family: str = "bert"):
    strategy = validate_strategy(raw, FAMILIES[family])
    return size(small(family), strategy, FAMILIES[family], max_length=8, model_name="small")


@pytest.mark.parametrize("raw", [
    {"name": "lora", "budget": 700}, {"name": "peft", "method": "loha", "budget": "20%"},
    {"name": "peft", "method": "lora", "use_dora": True, "budget": 900},
    {"name": "peft", "method": "adalora", "budget": 1000},
    {"name": "peft", "method": "oft", "budget": 500},
    {"name": "peft", "method": "prompt_tuning", "budget": 300},
    {"name": "prefix", "budget": 400},
])
def test_a_budget_picks_the_closest_count_of_all_values(raw):
    found = sizing(raw)
    family, build = FAMILIES["bert"], small("bert")
    strategy = validate_strategy(raw, family)
    total = sum(p.numel() for p in build().parameters())
    target = raw["budget"] if isinstance(raw["budget"], int) else round(total * 0.2)
    assert found.target == target
    # Every value, counted by PEFT on the built model: none is closer.
    values = {"oft_block_size": [2, 4, 8, 16], "num_virtual_tokens": range(1, 17)}.get(
        found.option, range(1, 17))
    counts = {v: exact_count(build, with_capacity(strategy, v), family) for v in values}
    best = min(counts, key=lambda v: (abs(counts[v] - target), v))
    assert (found.value, found.trainable) == (best, counts[best])
    assert found.strategy == with_capacity(strategy, best)
    assert found.record()["deviation"] == pytest.approx((counts[best] - target) / target,
                                                        abs=1e-6)


def test_adalora_keeps_peft_s_ratio_of_final_to_initial_rank():
    found = sizing({"name": "peft", "method": "adalora", "budget": 1200})
    assert found.option == "init_r"
    assert found.strategy["target_r"] == max(1, round(found.value * 8 / 12))


@pytest.mark.parametrize(("raw", "pattern"), [
    ({"name": "ia3", "budget": 500}, r"^strategy.budget: ia3\(budget=500\) has a fixed size: "
                                     r"it trains \d+ parameters on model small, not 500 "
                                     r"\(allowed: \d+, or a method with a rank"),
    ({"name": "bitfit", "budget": "1%"}, r"has a fixed size"),
    ({"name": "lora", "budget": 10}, r"^strategy.budget: 10 parameters is below the smallest "
                                     r"lora\(budget=10\) on model small: r=1 trains \d+ "
                                     r"\(allowed: >= \d+\)"),
    ({"name": "lora", "budget": "100%"}, r"is above the largest .*r=16 trains"),
    # 24 positions - 8 tokens of data leave 16 virtual tokens at most.
    ({"name": "peft", "method": "prompt_tuning", "budget": 10_000},
     r"above the largest .*num_virtual_tokens=16 trains"),
])
def test_an_unreachable_budget_names_the_closest_count(raw, pattern):
    with pytest.raises(ConfigError, match=pattern) as caught:
        sizing(raw)
    assert "\n" not in str(caught.value)


def test_a_fixed_size_strategy_at_its_exact_count_is_fine():
    build, family = small("bert"), FAMILIES["bert"]
    count = exact_count(build, validate_strategy({"name": "ia3"}, family), family)
    found = sizing({"name": "ia3", "budget": count})
    assert (found.option, found.trainable) == (None, count)
