"""Export the trials a user asks for: the report's selection (one per setup), or one trial."""

from __future__ import annotations

from pathlib import Path

from peftsweep.errors import UserError
from peftsweep.export.loading import quiet
from peftsweep.export.writer import write_export
from peftsweep.report import selection


def export_folder_name(chosen: selection.Chosen) -> str:
    science = chosen.result["science"]
    return f"{science['model']}-{science['data']}-{chosen.job_dir.name}"


def export_sweep(sweep: Path, trial: str | None = None, seed: int | None = None,
                 out: Path | None = None, merge: bool = False,
                 overwrite: bool = False) -> list[Path]:
    """Write one export per selected setup (its best seed, or ``seed``), or of ``trial``;
    each lands in ``<out>/<model>-<data>-<job folder>`` (default out: ``<sweep>/export``)."""
    sweep = Path(sweep)
    if trial and seed is not None:
        raise UserError("--seed: a named trial has its own seed; give --trial or --seed")
    if not sweep.is_dir():
        raise UserError(f"SWEEP: no such sweep folder: {sweep}")
    chosen = [selection.named(sweep, trial)] if trial else selection.selected(sweep, seed)
    quiet()
    out = Path(out) if out else sweep / "export"
    return [write_export(one, out / export_folder_name(one), merge, overwrite, sweep)
            for one in chosen]
