"""The marker file of an export: what ``peftsweep-predict`` and ``-evaluate`` rely on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from peftsweep.errors import UserError

METADATA_FILE = "peftsweep_export.json"
FORMAT = 1


def read_metadata(folder: Path) -> dict[str, Any]:
    path = Path(folder) / METADATA_FILE
    if not Path(folder).is_dir():
        raise UserError(f"DIR: no such folder: {folder}")
    if not path.is_file():
        raise UserError(f"DIR: {folder} is not a peftsweep export (no {METADATA_FILE}; "
                        "make one with peftsweep-export)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"DIR: unreadable {path}: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"DIR: {path} is not export format {FORMAT}")
    return meta
