"""Every PEFT preset exports as its trial's model: through our loader, AutoPeftModel,
pipeline() and, where PEFT can merge, the merged form.

The trials are short and on a tiny random model, so most predict one class: the checks
compare logits with the trial's own model (rebuilt from its kept weights), which a wrong
load cannot match by chance."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from peftsweep.cli import evaluate
from peftsweep.export.loading import load_export, logits, tokenize
from peftsweep.export.rebuild import rebuild

from helpers import PEFT_PRESETS

PROMPT_LEARNING = ("prompt_tuning", "p_tuning")
TEXTS = ["the plot was dull", "the acting was wonderful and the ending was great",
         "the music was fine"]


def trial_logits(job_dir: Path, result: dict, batch: dict) -> torch.Tensor:
    with torch.inference_mode():
        return rebuild(job_dir, result).model(**batch).logits.float()


def flat(values) -> list[float]:
    return torch.as_tensor(values).flatten().tolist()


def in_folder(folder: Path, load):
    # The base is named by a path relative to the export: PEFT resolves it from the cwd.
    here = os.getcwd()
    os.chdir(folder)
    try:
        return load()
    finally:
        os.chdir(here)


@pytest.mark.integration  # nine trials and their exports: ~40 s on 2 cores
@pytest.mark.parametrize("name", list(PEFT_PRESETS))
def test_every_method_exports_its_trial_model(method_exports, tmp_path, name):
    from peft import AutoPeftModelForSequenceClassification, PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    job_dir, result, folder = method_exports[name]
    ours = load_export(folder, "cpu")
    batch = tokenize(ours, [TEXTS])
    expected = trial_logits(job_dir, result, batch)
    assert flat(logits(ours, batch)) == pytest.approx(flat(expected), abs=1e-5)
    out = tmp_path / "metrics.json"
    assert evaluate.main([str(folder), "--device", "cpu", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["metrics"] == result["test"]

    auto_peft = in_folder(folder, lambda: AutoPeftModelForSequenceClassification
                          .from_pretrained(".").eval())
    with torch.inference_mode():
        assert flat(auto_peft(**batch).logits) == pytest.approx(flat(expected), abs=1e-5)
    meta = json.loads((folder / "peftsweep_export.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if meta["base_model"]["folder"] == ".":  # in place: transformers alone loads it
        classify = pipeline("text-classification", model=str(folder), top_k=None)
    else:  # only PEFT applies it: the card's lines
        base = AutoModelForSequenceClassification.from_pretrained(str(folder / "base_model"))
        model = PeftModel.from_pretrained(base, str(folder)).eval()
        classify = pipeline("text-classification", model=model, tokenizer=tokenizer,
                            top_k=None)
        assert "PeftModel.from_pretrained(base" in (folder / "README.md").read_text()
    probs = [[row["negative"], row["positive"]]
             for row in [{r["label"]: r["score"] for r in rows} for rows in classify(TEXTS)]]
    assert flat(probs) == pytest.approx(flat(expected.softmax(-1)), abs=1e-5)
    if name not in PROMPT_LEARNING:
        merged = load_export(folder / "merged", "cpu")
        assert flat(logits(merged, batch)) == pytest.approx(flat(expected), abs=1e-4)


@pytest.mark.integration
def test_in_place_exactly_when_transformers_loads_the_adapter_right(method_exports):
    """The layout follows from a check, not a list: in place iff transformers' own loading
    of the folder gives the trial's logits."""
    from transformers import AutoModelForSequenceClassification

    layouts = {}
    for name, (job_dir, result, folder) in method_exports.items():
        meta = json.loads((folder / "peftsweep_export.json").read_text())
        layouts[name] = meta["base_model"]["folder"]
        assert (folder / "base_model").is_dir() == (layouts[name] == "base_model")
        if layouts[name] == ".":
            ours = load_export(folder, "cpu")
            batch = tokenize(ours, [TEXTS])
            loaded = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
            with torch.inference_mode():
                assert flat(loaded(**batch).logits) == pytest.approx(
                    flat(trial_logits(job_dir, result, batch)), abs=1e-5)
    assert all(layouts[name] == "base_model" for name in PROMPT_LEARNING)
    assert "." in layouts.values()  # LoRA's relatives load in place
