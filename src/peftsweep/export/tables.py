"""Read and write the text files predict and evaluate take: CSV, TSV and JSONL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from peftsweep.errors import UserError
from peftsweep.spec.results import atomic_write_text

FORMATS = (".csv", ".tsv", ".jsonl")


def read_table(path: Path, columns: list[str], key: str = "--file") -> pd.DataFrame:
    """Rows of ``path``; every name in ``columns`` must be one of its columns."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{key}: no such file: {path}")
    try:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, keep_default_na=False)
        elif path.suffix == ".tsv":
            # As data/sources.py reads GLUE TSVs: quote characters are literal.
            frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False)
        elif path.suffix == ".jsonl":
            frame = pd.read_json(path, lines=True)
        else:
            raise UserError(f"{key}: unknown format {path.suffix!r} (allowed: "
                            f"{', '.join(FORMATS)})")
    except (ValueError, pd.errors.ParserError) as err:
        raise UserError(f"{key}: cannot read {path}: {str(err).splitlines()[0]}") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UserError(f"{key}: column {missing[0]!r} not in {path} (columns: "
                        f"{', '.join(map(str, frame.columns)) or 'none'}; the model reads "
                        f"{', '.join(columns)})")
    return frame


def write_table(frame: pd.DataFrame, path: Path | None) -> str:
    """Write ``frame`` to ``path`` in the format its suffix names; None: return CSV text."""
    if path is None:
        return frame.to_csv(index=False)
    path = Path(path)
    buffer = io.StringIO()
    if path.suffix == ".tsv":
        frame.to_csv(buffer, sep="\t", index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(buffer, orient="records", lines=True, force_ascii=False)
    elif path.suffix == ".csv":
        frame.to_csv(buffer, index=False)
    else:
        raise UserError(f"--out: unknown format {path.suffix!r} (allowed: {', '.join(FORMATS)})")
    atomic_write_text(path, buffer.getvalue())
    return str(path)
