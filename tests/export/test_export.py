"""Kept weights, export, predict and evaluate: an exported model is the trial's model.

The trials and their exports are the package's fixtures (conftest.py)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from peftsweep.cli import evaluate, predict
from peftsweep.cli import export as cli
from peftsweep.export.loading import load_export
from peftsweep.export.predict import predict_frame
from peftsweep.report import bootstrap
from peftsweep.spec.results import read_result
from peftsweep.sweep.summary import prune_unselected, summarize
from peftsweep.trial import weights

from helpers import EXPORT_STRATEGIES as STRATEGIES
from helpers import OFFLINE, one_line_error


def evaluated(folder: Path, tmp_path: Path, *args: str) -> dict:
    out = tmp_path / f"metrics-{folder.name}.json"
    assert evaluate.main([str(folder), "--device", "cpu", "--out", str(out), *args]) == 0
    return json.loads(out.read_text())


def test_trials_keep_only_their_trainable_weights(sweep):
    sweep_dir, _, jobs = sweep
    for name, (job_dir, result) in jobs.items():
        manifest = weights.read_manifest(job_dir)
        assert manifest == result["weights"]
        assert manifest["parameters"] == result["params"]["trainable"]
        assert manifest["policy"] == ("selected" if name == "full" else "trainable")
        assert (manifest["frozen_fingerprint"] is None) == (name == "full")
    lora = jobs["lora"][1]["weights"]
    assert lora["bytes"] < jobs["full"][1]["weights"]["bytes"] / 5
    total = sum(result["weights"]["bytes"] for _, result in jobs.values())
    # The summary counts every kept file (the manifests too).
    assert total < summarize(sweep_dir)["weights_bytes"] < total + 4096 * len(jobs)


@pytest.mark.parametrize("name", [*STRATEGIES, "lora/merged", "ia3/merged"])
def test_export_reproduces_the_trial_test_metrics(sweep, exports, tmp_path, name):
    _, _, jobs = sweep
    strategy, _, sub = name.partition("/")
    folder = exports[strategy] / sub if sub else exports[strategy]
    report = evaluated(folder, tmp_path)
    assert report["metrics"] == jobs[strategy][1]["test"]
    assert report["rows"] == 64
    # Prefix tuning keeps its backbone in base_model/; every other kind is loadable in place.
    config = json.loads((folder / ("base_model" if name == "prefix" else "") / "config.json")
                        .read_text())
    assert config["id2label"] == {"0": "negative", "1": "positive"}


def test_the_easy_task_was_learned(sweep):
    # Otherwise matching metrics above could come from two models predicting one class.
    _, _, jobs = sweep
    for name in ("full", "lora"):
        assert 0.7 < jobs[name][1]["test"]["accuracy"] < 1.0


def test_evaluate_on_a_labelled_file_gives_the_same_numbers(sweep, exports, tmp_path):
    _, data, jobs = sweep
    report = evaluated(exports["lora"], tmp_path, "--file", str(data / "test.csv"))
    assert report["metrics"] == jobs["lora"][1]["test"]


FRESH = r"""
import json, os, sys
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
texts = json.loads(sys.argv[2])
out = {}
for kind, folder in json.loads(sys.argv[1]).items():
    tokenizer = AutoTokenizer.from_pretrained(folder)
    loaded = {}
    if kind == "prefix":  # the card's lines: the shim, PEFT, then a pipeline over the model
        from peft import PeftModel
        base = AutoModelForSequenceClassification.from_pretrained(folder + "/base_model")
        forward = base.forward
        base.forward = lambda *a, past_key_values=None, **kw: forward(
            *a, cache=past_key_values, **kw)
        model = PeftModel.from_pretrained(base, folder).eval()
        classify = pipeline("text-classification", model=model, tokenizer=tokenizer, top_k=None)
    else:  # one line, whatever the kind: plain, merged, or an adapter beside its backbone
        classify = pipeline("text-classification", model=folder, top_k=None)
        loaded["auto"] = AutoModelForSequenceClassification.from_pretrained(folder)
    if kind in ("lora", "ia3"):
        from peft import AutoPeftModelForSequenceClassification
        os.chdir(folder)  # the base is named by a path relative to the export: "."
        loaded["autopeft"] = AutoPeftModelForSequenceClassification.from_pretrained(".")
    out[kind] = {"pipeline": [{r["label"]: r["score"] for r in rows} for rows in classify(texts)]}
    for name, model in loaded.items():
        with torch.no_grad():
            probs = model.eval()(**tokenizer(texts, padding=True, return_tensors="pt"))
        out[kind][name] = probs.logits.softmax(-1).tolist()
        out[kind]["labels"] = model.config.id2label
assert "peftsweep" not in sys.modules, "the export needed peftsweep"
print(json.dumps(out))
"""


@pytest.mark.integration  # a fresh interpreter importing transformers and peft: ~30 s
def test_every_export_kind_loads_in_one_line_after_a_move(sweep, exports, tmp_path):
    """pipeline(), AutoModel and AutoPeftModel on copies, the sweep and exports moved away."""
    sweep_dir, data, jobs = sweep
    texts = [row["text"] for row in csv.DictReader(open(data / "test.csv"))]
    kinds = {"full": exports["full"], "bitfit": exports["bitfit"], "lora": exports["lora"],
             "lora/merged": exports["lora"] / "merged", "ia3": exports["ia3"],
             "prefix": exports["prefix"]}
    ours = {kind: predict_frame(_load(folder), _frame(texts)) for kind, folder in kinds.items()}
    copies = {kind: tmp_path / "copies" / kind.replace("/", "-") for kind in kinds}
    for kind, folder in kinds.items():
        shutil.copytree(folder, copies[kind])
    moved = [(sweep_dir, tmp_path / "sweep-away"), (exports["full"].parent, tmp_path / "x-away")]
    for source, target in moved:
        source.rename(target)
    try:
        env = {**os.environ, **OFFLINE, "PYTHONPATH": ""}
        run = subprocess.run([sys.executable, "-c", FRESH, json.dumps(
            {kind: str(path) for kind, path in copies.items()}), json.dumps(texts)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    finally:
        for source, target in moved:
            target.rename(source)
    assert run.returncode == 0, run.stderr[-2000:]
    fresh = json.loads(run.stdout.strip().splitlines()[-1])
    for kind, theirs in fresh.items():
        mine = ours[kind][["prob_negative", "prob_positive"]].values.ravel().tolist()
        assert flat([[row["negative"], row["positive"]] for row in theirs["pipeline"]]) == \
            pytest.approx(mine, abs=1e-5), kind
        for name in ("auto", "autopeft"):
            if name in theirs:
                assert flat(theirs[name]) == pytest.approx(mine, abs=1e-5), (kind, name)
                assert theirs["labels"] == {"0": "negative", "1": "positive"}
        # The same predictions as the trial: its test accuracy from the pipeline's labels.
        predicted = [max(row, key=row.get) for row in theirs["pipeline"]]
        gold = [row["label"] for row in csv.DictReader(open(data / "test.csv"))]
        accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)
        assert accuracy == jobs[kind.split("/")[0]][1]["test"]["accuracy"], kind


def test_adapter_config_names_no_absolute_path_and_each_head_once(exports):
    for name in ("lora", "ia3", "prefix"):
        config = json.loads((exports[name] / "adapter_config.json").read_text())
        assert config["base_model_name_or_path"] == ("base_model" if name == "prefix" else ".")
        assert config["revision"] is None
        assert len(config["modules_to_save"]) == len(set(config["modules_to_save"]))
    assert (exports["prefix"] / "base_model" / "tokenizer.json").is_file()
    assert not (exports["lora"] / "base_model").exists()


def flat(rows: list[list[float]]) -> list[float]:
    return [value for row in rows for value in row]


def _load(folder):
    return load_export(Path(folder), "cpu")


def _frame(texts):
    return pd.DataFrame({"text": texts})


def test_predict_on_a_file_round_trips(sweep, exports, tmp_path, capsys):
    _, data, jobs = sweep
    rows = [json.loads(json.dumps(r)) for r in csv.DictReader(open(data / "test.csv"))]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": i, **row}) + "\n" for i, row in enumerate(rows)))
    out = tmp_path / "out.csv"
    assert predict.main([str(exports["lora"]), "--file", str(source), "--out", str(out),
                         "--batch-size", "7"]) == 0
    written = list(csv.DictReader(open(out)))
    assert [int(r["id"]) for r in written] == list(range(len(rows)))
    assert [r["text"] for r in written] == [r["text"] for r in rows]
    correct = sum(r["label"] == w["predicted_label"] for r, w in zip(rows, written, strict=True))
    assert correct / len(rows) == jobs["lora"][1]["test"]["accuracy"]
    for row in written:
        probs = float(row["prob_negative"]), float(row["prob_positive"])
        assert sum(probs) == pytest.approx(1.0)
        assert row["predicted_label"] == ("positive" if probs[1] > probs[0] else "negative")
    capsys.readouterr()
    assert predict.main([str(exports["lora"]), "--text", "the ending was great"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("positive  prob_negative=0.")


def test_predict_shows_progress_on_long_files_only(exports, tmp_path, capsys):
    rows = "".join(f"the film was {'good' if i % 2 else 'bad'}\n" for i in range(1200))
    for size, shown in ((1200, True), (20, False)):
        source = tmp_path / f"in{size}.csv"
        source.write_text("text\n" + "".join(rows.splitlines(keepends=True)[:size]))
        out = tmp_path / f"out{size}.tsv"
        assert predict.main([str(exports["bitfit"]), "--file", str(source), "--out", str(out),
                             "--batch-size", "256"]) == 0
        assert ("1200/1200" in capsys.readouterr().err) == shown
        assert len(out.read_text().splitlines()) == size + 1


def test_model_card_says_how_the_model_was_made(sweep, exports):
    _, _, jobs = sweep
    card = (exports["lora"] / "README.md").read_text()
    result = jobs["lora"][1]
    assert f"accuracy {result['test']['accuracy']:.4f}" in card
    assert result["test_split"] in card and result["identity"] in card
    assert f"{result['params']['trainable']:,} of {result['params']['total']:,}" in card
    command = next(line for line in card.splitlines() if line.startswith("python train.py"))
    assert "strategy=lora" in command and "another identity" not in command
    meta = json.loads((exports["lora"] / "peftsweep_export.json").read_text())
    assert meta["max_length"] == 32 and meta["kind"] == "adapter"
    # The metadata block, as huggingface_hub reads it back.
    from huggingface_hub import ModelCard

    data = ModelCard.load(exports["lora"] / "README.md").data
    assert data.pipeline_tag == "text-classification" and data.library_name == "peft"
    assert data.base_model is None  # a random-init backbone: it exists only in the export
    (accuracy,) = [r for r in data.eval_results if r.metric_type == "accuracy"]
    assert accuracy.metric_value == result["test"]["accuracy"]
    assert accuracy.dataset_split == result["test_split"]
    evidence = data.to_dict()["peftsweep"]["selection"]
    assert evidence["test_mean"] == result["test"]["accuracy"] and evidence["seeds"] == 1
    # One seed, but every test example kept: the report's interval over the test examples.
    assert 0 <= evidence["test_ci_low"] <= evidence["test_mean"] <= evidence["test_ci_high"] <= 1
    assert evidence["interval"] == bootstrap.METHOD and f"({bootstrap.METHOD})" in card
    # The runner-up is the other strategy validation ranks next on the same data.
    others = {n: r["best"]["validation"]["accuracy"] for n, (_, r) in jobs.items() if n != "lora"}
    assert evidence["runner_up"].startswith(f"tiny/files/{max(others, key=others.get)} ")


def test_sweep_export_takes_the_report_selection(sweep, tmp_path):
    sweep_dir, _, jobs = sweep
    assert cli.main([str(sweep_dir), "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"tiny-files-{name}" for name in STRATEGIES)
    assert cli.main([str(sweep_dir), "--out", str(tmp_path), "--seed", "7"]) == 2


def test_selected_full_weights_are_pruned_to_the_selection(sweep, tmp_path, capsys):
    sweep_dir, data, jobs = sweep
    copy = tmp_path / "sweep"
    job_dir, result = jobs["full"]
    worse = copy / "full_worse"
    worse.mkdir(parents=True)
    shutil.copytree(job_dir, copy / "full")
    # A second full trial at another learning rate, worse on validation.
    other = {**result, "identity": "f" * 16, "science": {**result["science"], "lr": 1e-9},
             "best": {**result["best"], "validation": {"accuracy": 0.1}}}
    (worse / "result.json").write_text(json.dumps({"schema_version": 1, **other}))
    (worse / "weights").mkdir()
    for name in (weights.TRAINABLE_FILE, weights.MANIFEST_FILE):
        (worse / "weights" / name).write_bytes((job_dir / "weights" / name).read_bytes())
    assert prune_unselected(copy) == [worse]
    assert weights.read_manifest(copy / "full") is not None
    assert cli.main([str(copy), "--trial", "full_worse", "--out", str(tmp_path / "x")]) == 2
    assert "kept no weights" in capsys.readouterr().err


def test_bad_input_is_one_line_and_exit_2(sweep, exports, tmp_path, capsys):
    sweep_dir, _, _ = sweep
    empty = tmp_path / "empty_sweep"
    failed = empty / "job"
    failed.mkdir(parents=True)
    broken = {**read_result(sweep_dir / "bitfit" / "result.json"), "status": "failed"}
    (failed / "result.json").write_text(json.dumps(broken))
    capsys.readouterr()
    one_line_error(capsys, cli.main([str(empty)]), "no finished (ok) trial")
    one_line_error(capsys, cli.main([str(sweep_dir), "--trial", "nope"]), "no trial named")
    one_line_error(capsys, cli.main([str(empty), "--trial", "job"]), "did not finish")
    not_export = tmp_path / "plain"
    not_export.mkdir()
    one_line_error(capsys, predict.main([str(not_export), "--text", "x"]), "not a peftsweep")
    one_line_error(capsys, evaluate.main([str(not_export)]), "not a peftsweep")
    nope = str(tmp_path / "nope")
    for command in (lambda: predict.main([nope, "--text", "x"]),
                    lambda: evaluate.main([nope]), lambda: cli.main([nope])):
        one_line_error(capsys, command(), "no such")
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nthe plot was dull,negative\n")
    one_line_error(capsys, predict.main([str(exports["full"]), "--file", str(bad)]),
                   "column 'text' not in")
    one_line_error(capsys, evaluate.main([str(exports["full"]), "--file", str(bad)]),
                   "column 'text' not in")
    one_line_error(capsys, predict.main([str(exports["full"]), "--text", "a", "--pair", "b"]),
                   "reads one text")
    one_line_error(capsys, evaluate.main([str(exports["full"]), "--data", "data=rte"]),
                   "labels")
    merged_prefix = tmp_path / "merged_prefix"
    one_line_error(capsys, cli.main([str(sweep_dir), "--trial", "prefix", "--out",
                                     str(merged_prefix), "--merge"]), "no merged form")
    assert not merged_prefix.exists() or not any(merged_prefix.iterdir())
    existing = exports["full"].parent
    one_line_error(capsys, cli.main([str(sweep_dir), "--trial", "full", "--out",
                                     str(existing)]), "exists")
