"""A packed trial's ``csv/metrics.csv``: the rows the trial writes alone (its training loss
every ``log_every_n_steps``, each validation, the final ``hp/`` row), kept across a resume
up to its checkpoint's step, as trial/log_rows.py keeps them for a trial alone."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from peftsweep.trial.log_rows import NAME, rows_up_to


class CsvRows:
    def __init__(self, job_dir: Path):
        self.path = Path(job_dir) / NAME / "metrics.csv"
        self.rows: list[dict[str, Any]] = []

    def resume(self, step: int) -> None:
        """Keep the rows up to ``step`` (the checkpoint's); later steps are trained again."""
        self.rows = rows_up_to(self.path, step)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def flush(self) -> None:
        """Write every row so far (atomically: a kill leaves the last complete file)."""
        columns = sorted({key for row in self.rows for key in row})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(staging, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(staging, self.path)
