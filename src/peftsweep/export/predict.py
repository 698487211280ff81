"""Labels and class probabilities (or a regression score) from an exported model.

Texts go through the model in batches, on the GPU when there is one; a long file shows a
progress bar.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from peftsweep.errors import UserError
from peftsweep.export.format import read_metadata
from peftsweep.export.loading import Export, load_export, logits, tokenize
from peftsweep.export.tables import read_table, write_table

PROGRESS_ROWS = 1000  # files at least this long show a progress bar


def check_inputs(fields: list[str], pair: str | None) -> None:
    if pair is not None and len(fields) == 1:
        raise UserError(f"--pair: this model reads one text ({fields[0]}); drop --pair")
    if pair is None and len(fields) == 2:
        raise UserError(f"--pair: this model reads a pair ({', '.join(fields)}); give --pair")


def predict_frame(export: Export, texts: pd.DataFrame, batch_size: int = 32) -> pd.DataFrame:
    """Predictions for every row of ``texts`` (one column per text field), in order."""
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


def predict(folder: Path, text: str | None = None, pair: str | None = None,
            file: Path | None = None, out: Path | None = None, batch_size: int = 32,
            device: str | None = None) -> str:
    """One text's line, or a file's predictions (CSV text, or the path written to ``out``)."""
    meta = read_metadata(folder)  # a wrong folder fails before any model loads
    fields = meta["task"]["text_fields"]
    if (text is None) == (file is None):
        raise UserError("--text/--file: give exactly one of them")
    if text is not None:
        check_inputs(fields, pair)
        texts = pd.DataFrame({fields[0]: [text],
                              **({fields[1]: [pair]} if pair is not None else {})})
        predictions = predict_frame(load_export(folder, device), texts, batch_size)
        return _one_line(predictions.iloc[0])
    if pair is not None:
        raise UserError("--pair: with --file, pairs come from the file's columns")
    rows = read_table(file, fields)
    predictions = predict_frame(load_export(folder, device), rows[fields], batch_size)
    clash = [c for c in predictions.columns if c in rows.columns]
    if clash:
        raise UserError(f"--file: {file} already has a column {clash[0]!r}, which "
                        "predict writes; rename it")
    frame = pd.concat([rows.reset_index(drop=True), predictions], axis=1)
    return write_table(frame, out)
