"""The task's own metrics (``models/metrics.py``) of an exported model on a labelled split.

Without other data or a file, the split comes from the data config the model was trained
with, so the trial's test metrics come back. Batches are formed as a trial forms its
evaluation batches (sorted by length, the trial's evaluation batch size), so on the CPU
the numbers are the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import torch

from peftsweep.compose.session import compose_config, conf_dir
from peftsweep.data.batching import LengthGroupedBatchSampler, PaddingCollator, TokenizedSplit
from peftsweep.data.cache import prepare
from peftsweep.data.splits import map_labels
from peftsweep.errors import UserError
from peftsweep.export.format import read_metadata
from peftsweep.export.loading import Export, load_export
from peftsweep.export.tables import read_table
from peftsweep.models.metrics import build_metrics, predictions
from peftsweep.spec.config import DataConfig, default_cache_dir, task_spec
from peftsweep.spec.tasks import TaskSpec


def data_config(meta: dict, overrides: list[str] | None) -> DataConfig:
    """The data config to evaluate on: composed from overrides, or the training one.

    Composed next to the model that was trained (its position limit is checked against
    the data) and, unless the overrides say otherwise, at the max length it trained with.
    """
    if not overrides:
        return DataConfig(**meta["data"])
    model = meta["trial"]["config"]["model"]["name"]
    base = [f"model={model}"] if (conf_dir() / "model" / f"{model}.yaml").is_file() else []
    if not any(o.startswith("data.max_length=") for o in overrides):
        overrides = [*overrides, f"data.max_length={meta['max_length']}"]
    return compose_config([*base, *overrides]).data


def check_task(meta: dict, spec: TaskSpec) -> None:
    task = meta["task"]
    labels = list(spec.label_names) if spec.label_names else None
    if labels != task["label_names"]:
        raise UserError(f"--data: the data's labels {labels} are not the model's "
                        f"{task['label_names']}")
    if len(spec.text_fields) != len(task["text_fields"]):
        raise UserError(f"--data: the data has {len(spec.text_fields)} text column(s), the "
                        f"model reads {len(task['text_fields'])}")


def split_from_data(data: DataConfig, export: Export, split: str) -> datasets.Dataset:
    splits = prepare(data, export.tokenizer, default_cache_dir())
    if split not in splits:
        raise UserError(f"--split: no split {split!r} (allowed: {', '.join(splits)})")
    return splits[split]


def split_from_file(path: Path, spec: TaskSpec, export: Export) -> datasets.Dataset:
    frame = read_table(path, [*spec.text_fields, spec.label_field])
    # The label check training applies.
    raw = map_labels(path.name, datasets.Dataset.from_pandas(frame, preserve_index=False), spec)
    columns = [[str(v) for v in raw[f]] for f in spec.text_fields]
    encoded = export.tokenizer(*columns, truncation=True, max_length=export.meta["max_length"])
    return datasets.Dataset.from_dict({**encoded, "labels": raw["labels"],
                                       "length": [len(i) for i in encoded["input_ids"]]})


def evaluate_split(export: Export, split: datasets.Dataset, spec: TaskSpec,
                   batch_size: int) -> dict[str, float]:
    rows = TokenizedSplit(split, split.column_names)
    sampler = LengthGroupedBatchSampler(rows.lengths, batch_size, seed=0, shuffle=False)
    collate = PaddingCollator(export.tokenizer.pad_token_id or 0)
    metrics = build_metrics(spec)
    with torch.inference_mode():
        for indices in sampler:
            batch = collate(rows.__getitems__(indices))
            labels = batch.pop("labels")
            logits = export.model(**{k: v.to(export.device) for k, v in batch.items()}).logits
            metrics.update(predictions(logits.float().cpu(), spec), labels)
    return {name: float(value) for name, value in metrics.compute().items()}


def evaluate(folder: Path, data: list[str] | None = None, split: str = "test",
             file: Path | None = None, batch_size: int | None = None,
             device: str | None = None) -> dict[str, Any]:
    """``{"data", "rows", "metrics"}`` of the export in ``folder``; raises UserError."""
    meta = read_metadata(folder)
    if data and file:
        raise UserError("--data/--file: give one of them")
    data_cfg = data_config(meta, data)
    spec = task_spec(data_cfg)
    check_task(meta, spec)
    export = load_export(folder, device)
    if file:
        rows, source = split_from_file(file, spec, export), str(file)
    else:
        rows, source = split_from_data(data_cfg, export, split), f"{data_cfg.name} split {split}"
    metrics = evaluate_split(export, rows, spec, batch_size or meta["eval_batch_size"])
    return {"data": source, "rows": len(rows), "metrics": metrics}
