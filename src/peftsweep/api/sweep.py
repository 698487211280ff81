"""A sweep folder (grid or search) as an object: its trials, selection, report and exports.

The commands do the same through the same functions: ``peftsweep report`` writes what
:meth:`Sweep.report` writes, ``peftsweep export`` exports what :meth:`Sweep.export`
exports, ``peftsweep status`` shows :meth:`Sweep.status`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd

from peftsweep.errors import UserError
from peftsweep.export.exports import export_sweep
from peftsweep.report.collect import SCIENCE_KEYS, Collection, collect
from peftsweep.report.search_plots import is_search
from peftsweep.report.selection import best_seed
from peftsweep.report.tables import Tables, build_tables, selected_trials
from peftsweep.report.write import Written, write_report
from peftsweep.sweep.status import sweep_status

# The columns of Sweep.trials, before the metric columns (val/<name>, test/<name>).
TRIAL_COLUMNS = ("job_dir", "status", *SCIENCE_KEYS, "metric", "params_trainable",
                 "params_total", "wall_s", "identity", "error")


class Sweep:
    """One sweep folder; everything is read from the folder, nothing is cached on disk."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"Sweep({str(self.folder)!r}, {self.kind}, {len(self.trials)} trial(s))"

    @property
    def kind(self) -> str:
        """'search' (hydra/sweeper=search) or 'grid'."""
        return "search" if is_search(self.folder) else "grid"

    @functools.cached_property
    def collection(self) -> Collection:
        return collect([self.folder])

    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial with a result: its folder, status, science keys, best
        validation metrics (``val/<name>``), test metrics (``test/<name>``) at that
        checkpoint, trainable parameters and wall time."""
        table = self.collection.table
        metrics = [c for c in table.columns if c.startswith(("val/", "test/"))]
        columns = [c for c in TRIAL_COLUMNS if c in table.columns] + metrics
        return table[columns].reset_index(drop=True)

    def tables(self) -> Tables:
        """Every table of the report, as numbers (the CSV files' content)."""
        return build_tables(self._finished())

    def selection(self) -> pd.DataFrame:
        """The report's selection: per model, data, strategy and initialisation the learning
        rate and batch size chosen on validation, and ``job_dir``, the seed export takes."""
        collection = self._finished()
        rows = []
        for chosen, trials in selected_trials(collection, build_tables(collection).selection):
            best = best_seed(trials, chosen["metric"], chosen["mode"])
            rows.append({**chosen.to_dict(), "job_dir": best["job_dir"]})
        return pd.DataFrame(rows)

    def status(self) -> dict[str, Any]:
        """Each planned trial's state and the ETA, as ``peftsweep status --json`` prints."""
        return sweep_status(self.folder)

    def report(self, out: Path | None = None, plots: bool = True) -> Written:
        """Write the report (tables, plots, index.html) into ``out`` (default
        ``<folder>/report``); returns what was written and the Markdown."""
        return write_report([self.folder], out, plots=plots, collection=self._finished())

    def export(self, trial: str | None = None, seed: int | None = None,
               out: Path | None = None, merge: bool = False, overwrite: bool = False,
               register: str | None = None, tracking_uri: str | None = None) -> list[Path]:
        """Export the selection's models (or one trial) in Hugging Face format; ``register``
        also puts the one export into MLflow's model registry under that name."""
        return export_sweep(self.folder, trial, seed, out, merge, overwrite, register,
                            tracking_uri)

    def _finished(self) -> Collection:
        if self.collection.ok.empty:
            raise UserError(f"SWEEP: {self.folder} has no finished (ok) trial")
        return self.collection


def load_sweep(folder: str | Path) -> Sweep:
    """The sweep in ``folder``; UserError if it is no folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"SWEEP: no such sweep folder: {folder}")
    return Sweep(folder)
