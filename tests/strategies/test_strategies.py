"""Which parameters each strategy trains, on BERT-tiny built offline from its arch."""

from __future__ import annotations

import dataclasses

import pytest
from omegaconf import OmegaConf

from peftsweep.errors import ConfigError
from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.params.count import count_parameters
from peftsweep.spec.config import ModelConfig
from peftsweep.spec.families import FAMILIES
from peftsweep.spec.tasks import TASKS
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
    raw = {k: v for k, v in raw.items() if k != "defaults"}
    model_cfg = dataclasses.replace(ModelConfig(**raw), pretrained=False)
    tokenizer = load_tokenizer(model_cfg, cache_dir)
    return build_backbone(model_cfg, TASKS["imdb"], tokenizer, cache_dir), model_cfg


def trained(cache_dir, **strategy) -> tuple[dict, object]:
    model, model_cfg = bert_tiny(cache_dir)
    family = FAMILIES[model_cfg.family]
    model = apply_strategy(model, validate_strategy(strategy, family), family)
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


def test_prefix_trains_the_prefix_and_the_head(cache_dir):
    counts, model = trained(cache_dir, name="prefix", num_virtual_tokens=4)
    peft_trainable, _ = model.get_nb_trainable_parameters()
    assert counts["trainable"] == peft_trainable
    # 4 virtual tokens x 2 layers x (key, value) x H, plus the head copy.
    assert counts["trainable"] == 4 * 2 * 2 * 128 + 258
    assert not any("encoder.layer" in name for name in trainable_names(model))


def test_prefix_keeps_padding_out_of_the_result(cache_dir):
    """The prefix joins the attention mask, so padded and unpadded inputs agree."""
    import torch

    _, model = trained(cache_dir, name="prefix", num_virtual_tokens=3)
    model.eval()
    ids = torch.tensor([[101, 7592, 999, 102, 0, 0], [101, 7592, 2088, 999, 2129, 102]])
    mask = (ids != 0).long()
    with torch.no_grad():
        padded = model(input_ids=ids, attention_mask=mask).logits[0]
        alone = model(input_ids=ids[:1, :4], attention_mask=mask[:1, :4]).logits[0]
    assert torch.allclose(padded, alone, atol=1e-5)


def test_every_strategy_has_a_config_file():
    names = {p.stem for p in (CONF / "strategy").glob("*.yaml")}
    assert set(STRATEGIES) <= names


def test_unknown_option_names_the_key_and_allowed():
    with pytest.raises(ConfigError, match=r"strategy.rank: unknown key.*alpha"):
        validate_strategy({"name": "lora", "rank": 4}, FAMILIES["bert"])


def test_bad_lora_values_are_rejected():
    with pytest.raises(ConfigError, match=r"strategy.r: must be > 0"):
        validate_strategy({"name": "lora", "r": 0}, FAMILIES["bert"])
    with pytest.raises(ConfigError, match=r"strategy.bias: unknown value 'some' .*lora_only"):
        validate_strategy({"name": "lora", "bias": "some"}, FAMILIES["bert"])


def test_missing_lora_target_is_caught_before_training(cache_dir):
    model, model_cfg = bert_tiny(cache_dir)
    strategy = validate_strategy({"name": "lora", "target_modules": ["q_proj"]},
                                 FAMILIES["bert"])
    with pytest.raises(ConfigError, match="no module 'q_proj'.*query"):
        check_strategy_fits(model, strategy, FAMILIES[model_cfg.family])


def test_labels_show_non_default_options():
    bert = FAMILIES["bert"]
    assert strategy_label(validate_strategy({"name": "full"}, bert)) == "full"
    label = strategy_label(validate_strategy({"name": "lora", "r": 2, "alpha": 8}, bert))
    assert label == "lora(r=2, alpha=8)"
