"""Which parameters each strategy trains, on BERT-tiny built offline from its arch."""

from __future__ import annotations

import dataclasses

import pytest
from omegaconf import OmegaConf

from peftsweep.config import ModelConfig
from peftsweep.data.tasks import TASKS
from peftsweep.errors import ConfigError
from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.models.families import FAMILIES
from peftsweep.params import count_parameters
from peftsweep.strategies import (
    STRATEGIES,
    apply_strategy,
    check_strategy_fits,
    strategy_label,
    validate_strategy,
)

from helpers import CONF


def bert_tiny(cache_dir) -> tuple:
    raw = OmegaConf.to_container(OmegaConf.load(CONF / "model" / "bert_tiny.yaml"))
    model_cfg = dataclasses.replace(ModelConfig(**raw), pretrained=False)
    tokenizer = load_tokenizer(model_cfg, cache_dir)
    return build_backbone(model_cfg, TASKS["imdb"], tokenizer, cache_dir), model_cfg


def trained(cache_dir, **strategy) -> tuple[dict, object]:
    model, model_cfg = bert_tiny(cache_dir)
    model = apply_strategy(model, validate_strategy(strategy), FAMILIES[model_cfg.family])
    return count_parameters(model), model


def trainable_names(model) -> set[str]:
    return {name for name, p in model.named_parameters() if p.requires_grad}


def test_full_trains_all_4386178(cache_dir):
    counts, _ = trained(cache_dir, name="full")
    assert counts["trainable"] == counts["total"] == 4_386_178


def test_bitfit_without_head_is_3074_biases(cache_dir):
    counts, model = trained(cache_dir, name="bitfit", train_head=False)
    assert counts["trainable"] == 3_074
    assert all(name.endswith("bias") for name in trainable_names(model))
    assert "classifier.bias" in trainable_names(model)
    assert "classifier.weight" not in trainable_names(model)


def test_bitfit_with_head_is_3330(cache_dir):
    counts, model = trained(cache_dir, name="bitfit")
    assert counts["trainable"] == 3_330
    assert "classifier.weight" in trainable_names(model)


def test_head_is_a_linear_probe(cache_dir):
    counts, model = trained(cache_dir, name="head")
    assert trainable_names(model) == {"classifier.weight", "classifier.bias"}
    assert counts["trainable"] == 128 * 2 + 2


@pytest.mark.parametrize("r", [2, 8])
def test_lora_counts_match_peft(cache_dir, r):
    counts, model = trained(cache_dir, name="lora", r=r, alpha=8, dropout=0.01)
    peft_trainable, peft_total = model.get_nb_trainable_parameters()
    assert counts["trainable"] == peft_trainable
    assert counts["total"] == peft_total
    # 2 layers x (query, value) x (A: r x 128 + B: 128 x r), plus the head copy.
    assert counts["trainable"] == 2 * 2 * (2 * r * 128) + 258
    names = trainable_names(model)
    assert any("lora_A" in n for n in names) and any("modules_to_save" in n for n in names)
    assert not any("attention.self.key" in n for n in names)


def test_ia3_goes_through_the_same_registry(cache_dir):
    counts, model = trained(cache_dir, name="ia3")
    peft_trainable, _ = model.get_nb_trainable_parameters()
    assert counts["trainable"] == peft_trainable
    # key + value (128 each) + output.dense of attention (128) and feed-forward (512 input).
    assert counts["trainable"] == 2 * (128 + 128 + 128 + 512) + 258


def test_every_strategy_has_a_config_file():
    names = {OmegaConf.load(p).name for p in (CONF / "strategy").glob("*.yaml")}
    assert names == set(STRATEGIES)


def test_unknown_option_names_the_key_and_allowed():
    with pytest.raises(ConfigError, match=r"strategy.rank: not an option of lora.*alpha"):
        validate_strategy({"name": "lora", "rank": 4})


def test_bad_lora_values_are_rejected():
    with pytest.raises(ConfigError, match="r must be > 0"):
        validate_strategy({"name": "lora", "r": 0})
    with pytest.raises(ConfigError, match="bias must be one of"):
        validate_strategy({"name": "lora", "bias": "some"})


def test_missing_lora_target_is_caught_before_training(cache_dir):
    model, model_cfg = bert_tiny(cache_dir)
    strategy = validate_strategy({"name": "lora", "target_modules": ["q_proj"]})
    with pytest.raises(ConfigError, match="no module 'q_proj'.*query"):
        check_strategy_fits(model, strategy, FAMILIES[model_cfg.family])


def test_labels_show_non_default_options():
    assert strategy_label(validate_strategy({"name": "full"})) == "full"
    label = strategy_label(validate_strategy({"name": "lora", "r": 2, "alpha": 8}))
    assert label == "lora(r=2, alpha=8)"
