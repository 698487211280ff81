"""``peftsweep-evaluate DIR [--data data=NAME key=value ...] [--split test] [--file F]``.

The task's own metrics (``models/metrics.py``) of an exported model on a
labelled split. Without ``--data`` or ``--file``, the split comes from the data
config the model was trained with, so the trial's test metrics come back.
Batches are formed as a trial forms its evaluation batches (sorted by length,
the trial's evaluation batch size), so on the CPU the numbers are the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from peftsweep.errors import UserError
from peftsweep.export.command import run_command


def data_config(meta: dict, overrides: list[str] | None):
    """The data config to evaluate on: composed from overrides, or the training one.

    Composed next to the model that was trained (its position limit is checked against
    the data) and, unless the overrides say otherwise, at the max length it trained with.
    """
    from peftsweep.config import DataConfig

    if not overrides:
        return DataConfig(**meta["data"])
    from peftsweep.compose import compose_config, conf_dir

    model = meta["trial"]["config"]["model"]["name"]
    base = [f"model={model}"] if (conf_dir() / "model" / f"{model}.yaml").is_file() else []
    if not any(o.startswith("data.max_length=") for o in overrides):
        overrides = [*overrides, f"data.max_length={meta['max_length']}"]
    return compose_config([*base, *overrides]).data


def check_task(meta: dict, spec) -> None:
    task = meta["task"]
    labels = list(spec.label_names) if spec.label_names else None
    if labels != task["label_names"]:
        raise UserError(f"--data: the data's labels {labels} are not the model's "
                        f"{task['label_names']}")
    if len(spec.text_fields) != len(task["text_fields"]):
        raise UserError(f"--data: the data has {len(spec.text_fields)} text column(s), the "
                        f"model reads {len(task['text_fields'])}")


def split_from_data(data, export, split: str):
    from peftsweep.config import default_cache_dir
    from peftsweep.data.cache import prepare

    splits = prepare(data, export.tokenizer, default_cache_dir())
    if split not in splits:
        raise UserError(f"--split: no split {split!r} (allowed: {', '.join(splits)})")
    return splits[split]


def split_from_file(path: Path, spec, export):
    import datasets

    from peftsweep.data.splits import _map_labels  # the label check training applies
    from peftsweep.export.tables import read_table

    frame = read_table(path, [*spec.text_fields, spec.label_field])
    raw = _map_labels(path.name, datasets.Dataset.from_pandas(frame, preserve_index=False), spec)
    columns = [[str(v) for v in raw[f]] for f in spec.text_fields]
    encoded = export.tokenizer(*columns, truncation=True, max_length=export.meta["max_length"])
    return datasets.Dataset.from_dict({**encoded, "labels": raw["labels"],
                                       "length": [len(i) for i in encoded["input_ids"]]})


def evaluate_split(export, split, spec, batch_size: int) -> dict[str, float]:
    from peftsweep.data.batching import LengthGroupedBatchSampler, PaddingCollator, TokenizedSplit
    from peftsweep.models.metrics import build_metrics, predictions

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


def run(args: argparse.Namespace) -> dict:
    from peftsweep.data.sources import task_spec
    from peftsweep.export.format import read_metadata
    from peftsweep.export.loading import load_export

    meta = read_metadata(args.dir)
    if args.data and args.file:
        raise UserError("--data/--file: give one of them")
    data = data_config(meta, args.data)
    spec = task_spec(data)
    check_task(meta, spec)
    export = load_export(args.dir, args.device)
    if args.file:
        split = split_from_file(args.file, spec, export)
        source = str(args.file)
    else:
        split = split_from_data(data, export, args.split)
        source = f"{data.name} split {args.split}"
    metrics = evaluate_split(export, split, spec, args.batch_size or meta["eval_batch_size"])
    return {"data": source, "rows": len(split), "metrics": metrics}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peftsweep-evaluate",
                                     description="The task's metrics of an export on labelled "
                                     "data.")
    parser.add_argument("dir", type=Path, help="an export folder (peftsweep-export)")
    parser.add_argument("--data", nargs="+", metavar="OVERRIDE",
                        help="data config as train.py overrides: data=rte data.source=files "
                        "data.data_dir=... (default: the model's training data)")
    parser.add_argument("--split", default="test", help="test (default), validation, train, "
                        "or test_<name> (e.g. test_validation_mismatched)")
    parser.add_argument("--file", type=Path, help="a labelled CSV/TSV/JSONL file instead")
    parser.add_argument("--batch-size", type=int, help="default: the trial's evaluation batch")
    parser.add_argument("--device", help="cpu, cuda, ... (default: the GPU if there is one)")
    parser.add_argument("--out", type=Path, help="also write the metrics here as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return run_command(lambda: _show(run(args), args.out))


def _show(report: dict, out: Path | None) -> None:
    for name, value in sorted(report["metrics"].items()):
        print(f"{name}\t{value:.6f}")
    print(f"({report['rows']} rows of {report['data']})", file=sys.stderr)
    if out:
        from peftsweep.results import atomic_write_json

        atomic_write_json(out, report)


if __name__ == "__main__":
    sys.exit(main())
