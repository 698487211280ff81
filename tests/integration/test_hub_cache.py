"""Hub model ids and hub datasets (GLUE RTE, IMDb) loaded for real from a local cache, offline.

train.py runs with HF_HUB_OFFLINE/HF_DATASETS_OFFLINE and caches laid out as a first online
load leaves them (hub_cache.py), so from_pretrained and load_dataset take their real paths.
Ids missing from the caches: test_bad_input.py ("offline hub model" / "offline hub data").
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from peftsweep.spec import demo_task as demo

import hub_cache

MODEL_ID = "peftsweep-test/tiny-bert"
pytestmark = pytest.mark.integration


def sentences(rng: random.Random, count: int, words: int) -> list[str]:
    vocabulary = demo.vocabulary()
    return [" ".join(rng.choices(vocabulary, k=words)) for _ in range(count)]


def labels(rng: random.Random, count: int, hidden: bool = False) -> list[int]:
    return [-1] * count if hidden else [rng.randrange(2) for _ in range(count)]


@pytest.fixture(scope="module")
def caches(tmp_path_factory) -> dict[str, Path]:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from peftsweep.models.backbone import build_demo_tokenizer

    root = tmp_path_factory.mktemp("hf")
    hub, data = root / "hub", root / "datasets"
    tokenizer = BertTokenizerFast.from_pretrained(str(build_demo_tokenizer(root / "build")))
    model = BertForSequenceClassification(BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, num_labels=2))
    hub_cache.add_model(hub, MODEL_ID, model, tokenizer)
    rng = random.Random(0)

    def pairs(count: int, hidden: bool = False) -> dict[str, list]:
        return {"sentence1": sentences(rng, count, 12), "sentence2": sentences(rng, count, 6),
                "label": labels(rng, count, hidden), "idx": list(range(count))}

    # GLUE's test labels are hidden (-1), IMDb's unsupervised split too: as on the hub.
    hub_cache.add_dataset(hub, data, "nyu-mll/glue", "rte", {
        "train": pairs(160), "validation": pairs(40), "test": pairs(40, hidden=True)})

    def reviews(count: int, hidden: bool = False) -> dict[str, list]:
        return {"text": sentences(rng, count, 20), "label": labels(rng, count, hidden)}

    hub_cache.add_dataset(hub, data, "stanfordnlp/imdb", None, {
        "train": reviews(160), "test": reviews(40), "unsupervised": reviews(20, hidden=True)})
    return {"HF_HUB_CACHE": hub, "HF_DATASETS_CACHE": data,
            "params": sum(p.numel() for p in model.parameters())}


@pytest.fixture
def offline_hub(caches, monkeypatch):
    for key in ("HF_HUB_CACHE", "HF_DATASETS_CACHE"):
        monkeypatch.setenv(key, str(caches[key]))
    return caches


HUB_MODEL = [f"model.name_or_path={MODEL_ID}", "model.pretrained=true", "model.tokenizer=null",
             "epochs=1", "batch_size=32", "logger=none", "data.max_length=32"]


def test_hub_model_trains_on_the_hub_glue_and_imdb_datasets(offline_hub, run_train,
                                                             tmp_path):
    proc = run_train("-m", *HUB_MODEL, "data=rte,imdb", f"resume={tmp_path}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {json.loads(p.read_text())["science"]["data"]: json.loads(p.read_text())
               for p in tmp_path.rglob("result.json")}
    assert set(results) == {"rte", "imdb"}
    for name, result in results.items():
        assert result["status"] == "ok", (name, result["error"])
        assert result["config"]["model"]["name_or_path"] == MODEL_ID
        assert result["params"]["total"] == offline_hub["params"]  # the cached checkpoint's
    # RTE: selection on 10% of train, the official validation split as test (40 pairs).
    assert "validation" in results["rte"]["test_split"]
    assert results["imdb"]["history"][0]["step"] == 5  # 144 training reviews / 32
