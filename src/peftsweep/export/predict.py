"""``peftsweep-predict DIR --text T [--pair P]`` or ``--file in.csv [--out out.csv]``.

Prints (or writes) the predicted label and each class probability, or the
score of a regression model. Texts go through the model in batches, on the GPU
when there is one; a long file shows a progress bar.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from peftsweep.errors import UserError
from peftsweep.export.command import run_command

PROGRESS_ROWS = 1000  # files at least this long show a progress bar


def check_inputs(fields: list[str], pair: str | None) -> None:
    if pair is not None and len(fields) == 1:
        raise UserError(f"--pair: this model reads one text ({fields[0]}); drop --pair")
    if pair is None and len(fields) == 2:
        raise UserError(f"--pair: this model reads a pair ({', '.join(fields)}); give --pair")


def predict_frame(export, texts: pd.DataFrame, batch_size: int = 32) -> pd.DataFrame:
    """Predictions for every row of ``texts`` (one column per text field), in order."""
    import torch
    from tqdm.auto import tqdm

    from peftsweep.export.loading import logits, tokenize

    fields = export.text_fields
    outputs = []
    bar = tqdm(total=len(texts), unit="row", file=sys.stderr, disable=len(texts) < PROGRESS_ROWS)
    for start in range(0, len(texts), batch_size):
        chunk = texts.iloc[start:start + batch_size]
        columns = [[str(v) for v in chunk[field]] for field in fields]
        outputs.append(logits(export, tokenize(export, columns)))
        bar.update(len(chunk))
    bar.close()
    values = torch.cat(outputs) if outputs else torch.empty(0, max(len(export.label_names or
                                                                       [0]), 1))
    if export.label_names is None:
        return pd.DataFrame({"predicted_score": values.squeeze(-1).tolist()})
    probs = values.softmax(dim=-1)
    frame = pd.DataFrame(probs.numpy(), columns=[f"prob_{n}" for n in export.label_names])
    # Not "label": an input file often has its gold labels in that column.
    best = probs.argmax(dim=-1).tolist()
    frame.insert(0, "predicted_label", [export.label_names[i] for i in best])
    return frame


def _one_line(row: pd.Series) -> str:
    """'positive  prob_negative=0.1203  prob_positive=0.8797' (or 'predicted_score=0.73')."""
    return "  ".join(str(value) if key == "predicted_label" else f"{key}={float(value):.4f}"
                     for key, value in row.items())


def run(args: argparse.Namespace) -> str:
    from peftsweep.export.format import read_metadata
    from peftsweep.export.loading import load_export
    from peftsweep.export.tables import read_table, write_table

    meta = read_metadata(args.dir)  # a wrong folder fails before any model loads
    fields = meta["task"]["text_fields"]
    if (args.text is None) == (args.file is None):
        raise UserError("--text/--file: give exactly one of them")
    if args.text is not None:
        check_inputs(fields, args.pair)
        texts = pd.DataFrame({fields[0]: [args.text],
                              **({fields[1]: [args.pair]} if args.pair is not None else {})})
        predictions = predict_frame(load_export(args.dir, args.device), texts, args.batch_size)
        return _one_line(predictions.iloc[0])
    if args.pair is not None:
        raise UserError("--pair: with --file, pairs come from the file's columns")
    rows = read_table(args.file, fields)
    predictions = predict_frame(load_export(args.dir, args.device), rows[fields],
                                args.batch_size)
    clash = [c for c in predictions.columns if c in rows.columns]
    if clash:
        raise UserError(f"--file: {args.file} already has a column {clash[0]!r}, which "
                        "predict writes; rename it")
    out = pd.concat([rows.reset_index(drop=True), predictions], axis=1)
    return write_table(out, args.out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peftsweep-predict",
                                     description="Labels and probabilities from an export.")
    parser.add_argument("dir", type=Path, help="an export folder (peftsweep-export)")
    parser.add_argument("--text", help="one text to classify")
    parser.add_argument("--pair", help="its second text, for sentence-pair models")
    parser.add_argument("--file", type=Path, help="CSV/TSV/JSONL with the model's text "
                        "columns (named as in the data config)")
    parser.add_argument("--out", type=Path, help="write predictions here (.csv/.tsv/.jsonl); "
                        "default: CSV on stdout")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: the GPU if there is one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return run_command(lambda: print(run(args)))


if __name__ == "__main__":
    sys.exit(main())
