"""strategy=peft: any PEFT method, its options read from PEFT's own config class and checked
as every other key, the task head trained and saved with the adapter."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

from peftsweep.compose.session import compose_config
from peftsweep.errors import ConfigError
from peftsweep.spec.families import FAMILIES
from peftsweep.spec.schema import type_hints
from peftsweep.strategies import (
    STRATEGIES,
    apply_strategy,
    parse,
    strategy_label,
    validate_strategy,
)
from peftsweep.strategies.peft_methods import NOT_APPLICABLE, methods
from peftsweep.sweep.preflight import check_sweep

from helpers import CONF

BERT = FAMILIES["bert"]
# Options that fit a 32-wide, 1-layer model where PEFT's defaults assume a larger one.
FITS_TINY = {"c3a": {"block_size": 16}, "fourierft": {"n_frequency": 100},
             "waveft": {"n_frequency": 100}, "miss": {"r": 16}, "shira": {"r": 4},
             "psoft": {"r": 8}, "road": {"group_size": 16}, "vblora": {"vector_length": 16}}


def wrong_value(hint, field: dataclasses.Field):
    """A value outside a PEFT option's declared type (or its set of values)."""
    members = getattr(hint, "__args__", None) or (hint,)
    if field.metadata.get("choices") and str in members:
        return "no-such-value", "unknown value"
    if str in members:
        return 12345, "must be"
    if bool in members:
        return "maybe", "must be"
    return "abc", "must be"


def test_every_option_of_every_method_rejects_a_bad_value_in_one_line():
    checked = 0
    for name in methods():
        raw = {"name": "peft", "method": name}
        cls = STRATEGIES["peft"].options_for(raw)
        hints = type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in ("budget", "method", "total_step"):
                continue
            value, problem = wrong_value(hints[f.name], f)
            with pytest.raises(ConfigError) as caught:
                parse({**raw, f.name: value})
            message = str(caught.value)
            assert message.startswith(f"strategy.{f.name}: ") and problem in message, message
            assert "(allowed: " in message and "\n" not in message
            assert f.metadata["help"], f"{name}.{f.name} has no help"
            checked += 1
    assert checked > 300  # every option of some thirty-five methods


@pytest.mark.parametrize(("raw", "pattern"), [
    ({"method": "loha", "rr": 4}, r"^strategy.rr: unknown key \(allowed: .*\br\b.*alpha"),
    ({"method": "vera", "lora_alpha": 4}, r"^strategy.lora_alpha: unknown key"),
    ({"method": "nope"}, r"^strategy.method: unknown PEFT method 'nope' \(allowed: .*loha"),
    ({"method": "poly"}, r"^strategy.method: poly does not apply .*task id"),
    ({"modules_to_save": ["x"]}, r"^strategy.modules_to_save: not an option: .*head"),
    ({"method": "adalora", "total_step": 5}, r"^strategy.total_step: not an option: set by"),
    ({"eva_config": {}}, r"^strategy.eva_config: not supported: .*calibration"),
    ({"bias": "some"}, r"^strategy.bias: unknown value 'some' \(allowed: none, all, lora_only"),
    ({"r": "abc"}, r"^strategy.r: must be an integer, got 'abc'"),
    ({"method": "ia3", "target_modules": ["query"], "feedforward_modules": ["value"]},
     r"^strategy.feedforward_modules: rejected by PEFT"),
    ({"budget": "1%", "r": 4}, r"^strategy.r: strategy.budget=1% sizes r, which is also set"),
    ({"budget": "abc"}, r"^strategy.budget: must be a number of parameters or a percentage"),
    ({"budget": "150%"}, r"^strategy.budget: .*0 < N <= 100"),
])
def test_bad_peft_options_are_one_line(raw, pattern):
    with pytest.raises(ConfigError, match=pattern) as caught:
        validate_strategy({"name": "peft", **raw}, BERT)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("overrides", "pattern"), [
    (["strategy=oft", "strategy.oft_block_size=48"],
     r"^strategy.oft_block_size: 48 does not fit model tiny \(PEFT would train 32 instead\)"),
    (["strategy=prompt_tuning", "strategy.num_virtual_tokens=40"],
     r"^strategy.num_virtual_tokens: 40 virtual tokens \+ data.max_length 32 exceed the 64 "
     r"positions of model tiny \(allowed: 1..32"),
    (["strategy=prefix", "strategy.num_virtual_tokens=33"], r"^strategy.num_virtual_tokens: 33"),
    (["strategy=adalora", "strategy.tinit=20", "strategy.tfinal=20"],
     r"^strategy.tfinal: rejected by PEFT on model tiny \(\d+ optimizer steps\): The supplied"),
])
def test_what_only_the_model_or_the_data_can_tell_fails_in_preflight(overrides, pattern):
    with pytest.raises(ConfigError, match=pattern):
        check_sweep(["data.demo_size=200", "epochs=1", *overrides], multirun=False,
                    conf_dir=CONF)


def test_kv_prefix_methods_need_a_family_with_caches():
    with pytest.raises(ConfigError, match=r"^strategy.method: prefix_tuning needs .*distilbert"):
        validate_strategy({"name": "peft", "method": "prefix_tuning"}, FAMILIES["distilbert"])


def test_labels_name_the_method_and_what_changed():
    def label(**raw):
        return strategy_label(validate_strategy({"name": "peft", **raw}, BERT))

    assert label() == "peft-lora"  # PEFT's LoRA at PEFT's defaults, not the `lora` strategy
    assert label(method="lora", use_dora=True, r=4) == "dora(r=4)"
    assert label(method="lora", use_rslora=True) == "rslora"
    assert label(method="loha", budget="0.1%") == "loha(budget=0.1%)"


def test_identities_keep_the_options_chosen_and_existing_strategies_keep_theirs():
    # These identities were written by results before strategy=peft and budgets existed.
    before = {"lora": "017774687a24fe1e", "ia3": "3fe372e4b3321742",
              "prefix": "b61f34905d80a8b2", "bitfit": "37542051fbb74584",
              "full": "5fee11f14eabe0f8"}
    for name, identity in before.items():
        assert compose_config([f"strategy={name}"]).identity() == identity, name
    # The linear probe changed on purpose: its backbone now runs in eval mode (no dropout),
    # another experiment than the old head's, so its results are not taken for the old ones.
    head = compose_config(["strategy=head"])
    assert head.identity() != "85475f1415a1a938"
    assert head.strategy == {"name": "head", "backbone_dropout": False}
    loha = compose_config(["strategy=loha", "strategy.r=4"])
    assert loha.strategy == {"name": "peft", "method": "loha", "r": 4}
    assert compose_config(["strategy=loha", "strategy.r=8"]).identity() == \
        compose_config(["strategy=loha"]).identity()  # 8 is PEFT's default


def test_presets_compose_to_their_method():
    expected = {"dora": ("lora", {"use_dora": True}), "rslora": ("lora", {"use_rslora": True}),
                "adalora": ("adalora", {}), "loha": ("loha", {}), "lokr": ("lokr", {}),
                "vera": ("vera", {}), "oft": ("oft", {}), "prompt_tuning": ("prompt_tuning", {}),
                "p_tuning": ("p_tuning", {})}
    for preset, (method, options) in expected.items():
        cfg = compose_config([f"strategy={preset}"])
        assert cfg.strategy == {"name": "peft", "method": method, **options}, preset


def test_a_bad_option_in_one_trial_of_a_grid_stops_the_grid():
    with pytest.raises(ConfigError, match=r"^strategy.oft_block_size: must be an integer, "
                                          r"got 'sixteen'"):
        check_sweep(["strategy=oft", "strategy.oft_block_size=16,sixteen"], multirun=True,
                    conf_dir=CONF)


def tiny_bert() -> torch.nn.Module:
    config = AutoConfig.for_model("bert", vocab_size=100, hidden_size=32, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=64,
                                  max_position_embeddings=64, num_labels=2)
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(config)


@pytest.mark.parametrize("method", sorted(methods()))
def test_every_method_trains_with_the_head_on_tiny_bert(method):
    strategy = validate_strategy({"name": "peft", "method": method, **FITS_TINY.get(method, {})},
                                 BERT)
    model = apply_strategy(tiny_bert(), strategy, BERT, total_steps=10)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    head = {name for name in trainable if "classifier" in name}
    assert head and all("modules_to_save" in name for name in head), head
    assert trainable - head, "the method itself trains nothing"
    ids = torch.randint(5, 100, (2, 8))
    loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=torch.tensor([0, 1]))
    loss.loss.backward()
    assert torch.isfinite(loss.loss)
    grads = [p.grad for name, p in model.named_parameters() if name in trainable - head]
    assert any(g is not None and g.abs().sum() > 0 for g in grads), "no gradient reaches it"


def test_methods_that_do_not_apply_are_listed_with_a_reason():
    assert not set(NOT_APPLICABLE) & set(methods())
    assert {"lora", "adalora", "loha", "lokr", "vera", "oft", "prompt_tuning", "p_tuning",
            "prefix_tuning", "ia3"} <= set(methods())
