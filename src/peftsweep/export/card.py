"""The model card (README.md) of an exported model: what it is and how it was made."""

from __future__ import annotations

import json
from typing import Any

LOAD_MODEL = """```python
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model = AutoModelForSequenceClassification.from_pretrained("{path}")
tokenizer = AutoTokenizer.from_pretrained("{path}")
```"""

LOAD_ADAPTER = """```python
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer

base = AutoModelForSequenceClassification.from_pretrained("{path}/base_model")
model = PeftModel.from_pretrained(base, "{path}")  # the adapter and the trained head
tokenizer = AutoTokenizer.from_pretrained("{path}")
```

In place, `AutoPeftModelForSequenceClassification.from_pretrained("{path}")` also
works: `adapter_config.json` names the absolute path of `base_model/` at export
time, so after moving the folder use the two-step form above."""


PREFIX_NOTE = """Prefix tuning: PEFT hands the prefix to the backbone as `past_key_values`,
which transformers 5 encoders call `cache`. Before `PeftModel.from_pretrained`, give
the base model a forward that takes the old name:

```python
forward = base.forward
base.forward = lambda *args, past_key_values=None, **kw: forward(*args, cache=past_key_values,
                                                                  **kw)
```"""


def _table(rows: dict[str, Any]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows.items()]
    return "\n".join(lines)


def _metrics(values: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4f}" for name, value in sorted(values.items())) or "none"


def model_card(meta: dict[str, Any], command: str) -> str:
    trial, task, data = meta["trial"], meta["task"], meta["data"]
    science, params = trial["science"], trial["params"]
    adapter = meta["kind"] == "adapter"
    labels = task["label_names"] or ["(regression: one score)"]
    config = trial["config"]
    hyper = {key: config[key] for key in ("lr", "batch_size", "epochs", "seed")}
    hyper.update({f"trainer.{k}": v for k, v in sorted(config["trainer"].items())
                  if k in ("weight_decay", "warmup_ratio", "warmup_steps", "gradient_clip_val",
                           "accumulate_grad_batches", "precision", "group_by_length")})
    front = ["---", f"library_name: {'peft' if adapter else 'transformers'}",
             "pipeline_tag: text-classification", "tags: [peftsweep, "
             f"{config['strategy']['name']}]", "---"]
    model_line = config["model"]["name_or_path"] + (
        "" if config["model"]["pretrained"] else " (architecture only: trained from random "
        "initialisation)")
    sections = [
        "\n".join(front),
        f"# {science['model']} / {science['data']} / {science['strategy']}",
        f"A `{task['name']}` classifier ({', '.join(labels)}) fine-tuned with "
        f"{science['strategy']} from `{model_line}`."
        + (" This folder is a PEFT adapter with the trained task head in it"
           " (`modules_to_save`); `base_model/` holds the frozen backbone." if adapter else ""),
        "## Use",
        (LOAD_ADAPTER if adapter else LOAD_MODEL).format(path="path/to/this/folder")
        + ("\n\n" + PREFIX_NOTE if meta.get("peft_type") == "PREFIX_TUNING" else ""),
        f"Inputs: {', '.join(task['text_fields'])} (truncated to {meta['max_length']} tokens). "
        "`peftsweep-predict this/folder --text ...` prints labels and probabilities.",
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
                                        f"({params['trainable_percent']}%)"}),
        "## Results",
        _table({"selection metric": f"validation {trial['metric']['name']} "
                                    f"({trial['metric']['mode']})",
                "best checkpoint": f"step {trial['best']['step']}, epoch "
                                   f"{trial['best']['epoch']}",
                "validation at best": _metrics(trial["best"]["validation"]),
                "test": _metrics(trial["test"]),
                "test split": trial["test_split"]}),
        "## Reproduce",
        f"```\n{command}\n```\nTrial identity `{trial['identity']}`.",
    ]
    return "\n\n".join(sections) + "\n"
