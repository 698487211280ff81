"""The model card (README.md) of an exported model: what it is and how it was made.

The metadata block is huggingface_hub's :class:`ModelCardData` (base model, pipeline tag,
the test results as ``model-index`` entries, and the report's selection evidence), so the
Hub and any tool that reads model cards understand it.
"""

from __future__ import annotations

import json
from typing import Any

USE_PIPELINE = """```python
from transformers import pipeline

classify = pipeline("text-classification", model="{path}")
classify({example})
```"""

LOAD_MODEL = """```python
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model = AutoModelForSequenceClassification.from_pretrained("{path}")
tokenizer = AutoTokenizer.from_pretrained("{path}")
```"""

LOAD_IN_PLACE = """This folder is the frozen backbone (`config.json`, `model.safetensors`)
with a PEFT adapter beside it (`adapter_config.json`, `adapter_model.safetensors`, the
trained task head included): `pipeline(...)` and
`AutoModelForSequenceClassification.from_pretrained` above load both and apply the adapter.
With PEFT's own classes:

```python
from peft import AutoPeftModelForSequenceClassification

model = AutoPeftModelForSequenceClassification.from_pretrained("{path}")
```

{base_note}"""

BASE_ON_HUB = ("`adapter_config.json` names the base `{name}` at commit `{revision}`; "
               "AutoPeftModel loads it from the Hub (or your cache) with its own config, so "
               "pass `num_labels=` for more than two classes and read the labels from this "
               "folder's `config.json`.")
BASE_HERE = ("`adapter_config.json` names the base by the relative path `{name}` (this "
             "folder), which PEFT resolves against the working directory: run AutoPeftModel "
             "from inside the folder, or use the lines above from anywhere.")

LOAD_PREFIX = """Prefix tuning is a prompt-learning method, which transformers cannot load in
place: load the backbone from `base_model/`, give it a forward that takes the prefix under
its old name (PEFT hands it over as `past_key_values`, which transformers 5 encoders call
`cache`), then the adapter:

```python
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

base = AutoModelForSequenceClassification.from_pretrained("{path}/base_model")
forward = base.forward
base.forward = lambda *args, past_key_values=None, **kw: forward(*args, cache=past_key_values,
                                                                  **kw)
model = PeftModel.from_pretrained(base, "{path}")  # the prefix and the trained head
tokenizer = AutoTokenizer.from_pretrained("{path}")
classify = pipeline("text-classification", model=model, tokenizer=tokenizer)
```"""

LOAD_PEFT_ONLY = """transformers cannot apply this adapter ({peft_type}) in place (it refuses the
method, or loads it without the trained values: checked at export), so the backbone sits in
`base_model/` and PEFT applies the adapter and the trained task head:

```python
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

base = AutoModelForSequenceClassification.from_pretrained("{path}/base_model")
model = PeftModel.from_pretrained(base, "{path}")
tokenizer = AutoTokenizer.from_pretrained("{path}")
classify = pipeline("text-classification", model=model, tokenizer=tokenizer)
classify({example})
```

`AutoPeftModelForSequenceClassification.from_pretrained(".")` loads it as well, run from
inside this folder (`adapter_config.json` names the base by the relative path
`base_model`)."""


def _table(rows: dict[str, Any]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows.items()]
    return "\n".join(lines)


def _metrics(values: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4f}" for name, value in sorted(values.items())) or "none"


def card_data(meta: dict[str, Any]):
    """The card's metadata: ModelCardData with the test results and the selection evidence."""
    from huggingface_hub import EvalResult, ModelCardData

    trial, task, data = meta["trial"], meta["task"], meta["data"]
    base = meta.get("base_model") or {}
    dataset = data.get("hub_path") or data["name"]
    results = [EvalResult(task_type="text-classification", dataset_type=dataset,
                          dataset_name=data["name"], dataset_split=trial["test_split"],
                          metric_type=name.split("/")[-1], metric_name=name,
                          metric_value=float(value))
               for name, value in sorted(trial["test"].items())]
    extra = {"peftsweep": {"identity": trial["identity"], "selection": meta.get("evidence")}}
    return ModelCardData(
        model_name=f"{trial['science']['model']}-{trial['science']['data']}-"
                   f"{trial['science']['strategy']}",
        base_model=base.get("name_or_path") if base.get("on_hub") else None,
        library_name="peft" if meta["kind"] == "adapter" else "transformers",
        pipeline_tag="text-classification",
        tags=["peftsweep", trial["config"]["strategy"]["name"], task["name"]],
        eval_results=results, **extra)


def _use(meta: dict[str, Any], path: str) -> str:
    if meta.get("peft_type") == "PREFIX_TUNING":
        return LOAD_PREFIX.format(path=path)
    pair = len(meta["task"]["text_fields"]) == 2
    example = ('{"text": "A man plays a guitar.", "text_pair": "A man makes music."}' if pair
               else '"the plot was not dull"')
    if meta["kind"] == "adapter" and meta["base_model"]["folder"] != ".":
        return LOAD_PEFT_ONLY.format(path=path, example=example, peft_type=meta["peft_type"])
    parts = [USE_PIPELINE.format(path=path, example=example), LOAD_MODEL.format(path=path)]
    if meta["kind"] == "adapter":
        base = meta["base_model"]
        note = (BASE_ON_HUB if base["on_hub"] else BASE_HERE).format(
            name=base["name_or_path"], revision=base["revision"])
        parts.append(LOAD_IN_PLACE.format(path=path, base_note=note))
    return "\n\n".join(parts)


def _evidence_rows(evidence: dict[str, Any] | None) -> dict[str, Any]:
    if not evidence:
        return {"report's selection": "this trial is not at its setup's selected "
                                      "hyper-parameters"}
    metric = evidence["metric"]
    low, high = evidence["test_ci_low"], evidence["test_ci_high"]
    interval = f", {evidence['confidence']:.0%} CI [{low:.4f}, {high:.4f}] " \
               f"({evidence.get('interval') or 'over seeds'})" \
        if low is not None and high is not None \
        else " (no interval: it needs 3 seeds or per-example test results)"
    rows = {f"test {metric} over seeds": f"mean {evidence['test_mean']:.4f}{interval}, "
                                          f"{evidence['seeds']} seed(s)"}
    if evidence.get("runner_up"):
        p = evidence["p_value"]
        rows["vs the runner-up"] = (
            f"{evidence['runner_up']}: difference {evidence['diff']:+.4f} over "
            f"{evidence['matched_seeds']} matched seed(s), {evidence['test']} "
            + (f"p = {p:.3g}" if p is not None else "not possible")
            + (f" ({evidence['warning']})" if evidence.get("warning") else ""))
    return rows


def model_card(meta: dict[str, Any], command: str) -> str:
    trial, task, data = meta["trial"], meta["task"], meta["data"]
    science, params = trial["science"], trial["params"]
    labels = task["label_names"] or ["(regression: one score)"]
    config = trial["config"]
    hyper = {key: config[key] for key in ("lr", "batch_size", "epochs", "seed")}
    hyper.update({f"trainer.{k}": v for k, v in sorted(config["trainer"].items())
                  if k in ("weight_decay", "warmup_ratio", "warmup_steps", "gradient_clip_val",
                           "accumulate_grad_batches", "precision", "group_by_length")})
    model_line = config["model"]["name_or_path"] + (
        "" if config["model"]["pretrained"] else " (architecture only: trained from random "
        "initialisation)")
    sections = [
        f"---\n{card_data(meta).to_yaml()}\n---",
        f"# {science['model']} / {science['data']} / {science['strategy']}",
        f"A `{task['name']}` classifier ({', '.join(labels)}) fine-tuned with "
        f"{science['strategy']} from `{model_line}`.",
        "## Use",
        _use(meta, "path/to/this/folder"),
        f"Inputs: {', '.join(task['text_fields'])} (truncated to {meta['max_length']} tokens). "
        "`peftsweep predict this/folder --text ...` prints labels and probabilities.",
        "## Data",
        _table({"task": task["name"], "source": data["source"],
                "hub dataset": data.get("hub_path") or "-",
                "files": data.get("data_dir") or data.get("train_file") or "-",
                "selection split": data["selection"], "test split": trial["test_split"],
                "max_length": meta["max_length"]}),
        "## Training",
        _table({"strategy": science["strategy"],
                "strategy options": json.dumps(config["strategy"], sort_keys=True),
                **hyper,
                "trainable parameters": f"{params['trainable']:,} of {params['total']:,} "
                                        f"({params['trainable_percent']}% of the model's "
                                        "parameters)"}),
        "## Results",
        _table({"selection metric": f"validation {trial['metric']['name']} "
                                    f"({trial['metric']['mode']})",
                "best checkpoint": f"step {trial['best']['step']}, epoch "
                                   f"{trial['best']['epoch']}",
                "validation at best": _metrics(trial["best"]["validation"]),
                "test": _metrics(trial["test"]),
                "test split": trial["test_split"],
                **_evidence_rows(meta.get("evidence"))}),
        "## Reproduce",
        f"```\n{command}\n```\nTrial identity `{trial['identity']}`.",
    ]
    return "\n\n".join(sections) + "\n"
