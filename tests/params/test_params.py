"""Exact parameter counts, offline: models are built from ``model.arch`` with no weights.

Known answers: BERT-tiny with 2 labels has 4,386,178 parameters; its biases
(BitFit without the head) are 3,074 = 128 (embedding LN) + 2 x 1,408 (per layer:
4x128 attention + 128 LN + 512 + 128 FFN + 128 LN) + 128 (pooler) + 2
(classifier); with the classifier weight (2x128) it is 3,330.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from peftsweep import params
from peftsweep.cli.params import main
from peftsweep.compose.session import compose_config
from peftsweep.params.tables import build_for_counting
from peftsweep.spec.config import ModelConfig
from peftsweep.spec.tasks import TASKS

from helpers import SMALL_ARCHS

TINY_TOTAL = 4_386_178
ALL_SWITCHES = [params.Switches(), params.Switches(biases=False),
                params.Switches(biases=False, layer_norms=False),
                params.Switches(pooler=False, head=False), params.SEEDS_HAND,
                params.Switches(positions=False, token_types=False, feed_forward=False)]


@pytest.fixture(scope="module")
def cache_override(tmp_path_factory) -> str:
    return f"cache_dir={tmp_path_factory.mktemp('cache')}"


@pytest.fixture(scope="module")
def tiny_build(cache_override):
    cfg = compose_config(["model=bert_tiny", cache_override])
    spec = TASKS[cfg.data.task]
    return lambda: build_for_counting(cfg.model, spec, cfg.cache_dir)


def small_build(family: str, labels: int = 2):
    model = ModelConfig(name=f"small_{family}", name_or_path="unused", pretrained=True,
                        family=family, arch=SMALL_ARCHS[family])
    spec = dataclasses.replace(TASKS["demo"], label_names=tuple("abcde"[:labels]))
    return lambda: build_for_counting(model, spec, "unused")


def test_bert_tiny_total_and_components(tiny_build):
    rows = params.breakdown(tiny_build())
    assert sum(row.total for row in rows) == TINY_TOTAL
    assert all(row.weights + row.biases == row.total for row in rows)
    assert sum(row.biases for row in rows) == 3_074
    by_name = {row.component: row for row in rows}
    assert by_name["embeddings.word"].total == 30_522 * 128
    assert by_name["layer.1.ffn.intermediate"] == ("layer.1.ffn.intermediate", 128 * 512, 512,
                                                   128 * 512 + 512)
    assert by_name["head"].total == 128 * 2 + 2


def test_meta_build_counts_like_random_init(tiny_build, cache_override):
    cfg = compose_config(["model=bert_tiny", "model.pretrained=false", cache_override])
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.for_model("bert", **cfg.model.arch, num_labels=2)
    real = AutoModelForSequenceClassification.from_config(config)
    assert params.breakdown(real) == params.breakdown(tiny_build())
    assert params.count_parameters(real)["total"] == TINY_TOTAL


def test_strategies_on_bert_tiny(tiny_build):
    variants = params.strategy_variants("bert", {"name": "bitfit", "train_head": False})
    counts = params.trainable_by_strategy(tiny_build, "bert", variants)
    assert counts["full"].trainable == TINY_TOTAL
    assert counts["bitfit(train_head=False)"].trainable == 3_074
    assert counts["bitfit"].trainable == 3_330
    assert counts["head"].trainable == 258
    for count in counts.values():
        assert sum(count.components.values()) == count.trainable
    # IA3 on key, value, attention output (H each) and FFN output (scaled on its input, I).
    assert counts["ia3"].components["layer.0.adapter"] == 3 * 128 + 512
    assert counts["ia3"].trainable == counts["ia3"].peft_reported


def test_lora_r2_matches_peft_and_hand_count(tiny_build):
    variants = params.strategy_variants("bert", {"name": "lora", "r": 2})
    lora = params.trainable_by_strategy(tiny_build, "bert", {"lora": variants["lora(r=2)"]})["lora"]
    # 2 layers x 2 targets (query, value) x r*(H in + H out), plus the 2-label head.
    hand = 2 * 2 * 2 * (128 + 128) + (128 * 2 + 2)
    assert lora.trainable == lora.peft_reported == hand == 2_306
    assert lora.components == {"layer.0.adapter": 1024, "layer.1.adapter": 1024, "head": 258}


@pytest.mark.parametrize("switches", ALL_SWITCHES)
def test_formula_equals_count_bert_tiny(tiny_build, switches):
    model = tiny_build()
    rows, shape = params.breakdown(model), params.shape_of(model.config)
    assert params.check_formula(rows, shape, switches) == params.formula_total(shape, switches)
    if switches == params.Switches():
        assert params.formula_total(shape) == TINY_TOTAL


@pytest.mark.parametrize("family", list(SMALL_ARCHS))
def test_formula_equals_count_other_shapes(family):
    build = small_build(family, labels=3)
    model = build()
    rows, shape = params.breakdown(model), params.shape_of(model.config)
    assert shape.family == family and shape.labels == 3
    assert params.formula_total(shape) == params.count_parameters(model)["total"]
    for switches in ALL_SWITCHES:
        params.check_formula(rows, shape, switches)
    counts = params.trainable_by_strategy(build, family, params.strategy_variants(family))
    assert counts["lora"].trainable == counts["lora"].peft_reported


@pytest.mark.parametrize(("preset", "total"), [
    ("deberta_v3_base", 184_423_682), ("electra_base", 109_483_778),
    ("electra_small", 13_549_314)])
def test_family_presets_count_exactly(cache_override, preset, total):
    # Offline from each preset's arch; totals as published (DeBERTa-v3-base: 86M backbone +
    # 98M embeddings; ELECTRA-small: 14M), plus the 2-label head.
    cfg = compose_config([f"model={preset}", cache_override])
    model = build_for_counting(cfg.model, TASKS[cfg.data.task], cfg.cache_dir)
    rows, shape = params.breakdown(model), params.shape_of(model.config)
    assert params.check_formula(rows, shape) == total


def test_seeds_hand_formula():
    shape = params.SEEDS_SHAPE
    assert params.formula_total(shape, params.SEEDS_HAND) == 20_578_304
    with_ffn = dataclasses.replace(params.SEEDS_HAND, feed_forward=True)
    assert params.formula_total(shape, with_ffn) == 28_966_912


def test_peft_names_map_to_components():
    assert params.component_of("base_model.model.bert.encoder.layer.1.attention.self.query."
                               "base_layer.weight") == "layer.1.attention.query"
    assert params.component_of("base_model.model.bert.encoder.layer.0.attention.self.value."
                               "lora_B.default.weight") == "layer.0.adapter"
    assert params.component_of("base_model.model.classifier.modules_to_save.default.bias") \
        == "head"
    assert params.component_of("distilbert.transformer.layer.3.ffn.lin2.bias") \
        == "layer.3.ffn.output"
    assert params.sum_layers("layer.3.ffn.output") == "layers.ffn.output"


def test_unclassified_parameter_raises(tiny_build):
    model = tiny_build()
    model.extra = nn.Parameter(torch.zeros(3, device="meta"))
    with pytest.raises(ValueError, match="unclassified parameter 'extra'"):
        params.breakdown(model)


def test_cli_prints_counts(capsys, cache_override):
    assert main(["model=bert_tiny", cache_override]) == 0
    out = capsys.readouterr().out
    for number in ("4,386,178", "3,074", "3,330", "20,578,304", "8,450"):
        assert number in out
    # Every formula row (five of them) agrees with the exact count.
    assert out.count(" yes |") == 5 and " NO |" not in out
    assert "weights do not change parameter counts" in out


def test_cli_bad_override_exits_2(capsys):
    assert main(["model=bert_tiy"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "bert_tiny" in lines[0]
