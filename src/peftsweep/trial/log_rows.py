"""metrics.csv across a resume: the rows an uninterrupted run holds, each once.

Lightning's CSV writer deletes an existing metrics.csv when it starts, and keeps up to
100 steps of rows in memory: a trial killed and resumed would lose every row before the
kill. Here the rows up to the checkpoint's step are read back and written first, and the
file is flushed whenever a checkpoint is saved, so what a checkpoint covers is on disk.
Rows after the checkpoint's step are dropped: the resumed run logs those steps again.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import CSVLogger

NAME = "csv"


def rows_up_to(path: Path, step: int) -> list[dict[str, Any]]:
    """The rows of ``path`` logged at or before ``step``, as written (empty cells left out:
    the writer fills them for the columns a row lacks)."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [{key: value for key, value in row.items() if value not in ("", None)}
                for row in csv.DictReader(handle)]
    return [row for row in rows if row.get("step") and float(row["step"]) <= step]


class ResumableCSVLogger(CSVLogger):
    """``<job>/csv/metrics.csv``, continued from ``resumed_step`` when given."""

    def __init__(self, job_dir: Path, resumed_step: int | None = None):
        super().__init__(str(job_dir), name=NAME, version="")
        path = Path(job_dir) / NAME / "metrics.csv"
        self._kept = rows_up_to(path, resumed_step) if resumed_step is not None else []

    @property
    def experiment(self):
        writer = super().experiment
        # The writer deleted the old file when it started: the kept rows go first. (Ranks
        # other than 0 get a stand-in writer without rows.)
        if self._kept and isinstance(getattr(writer, "metrics", None), list):
            writer.metrics[:0], self._kept = self._kept, []
        return writer

    def after_save_checkpoint(self, checkpoint_callback) -> None:
        self.save()
