"""Export the trials a user asks for: the report's selection (one per setup), or one trial."""

from __future__ import annotations

import sys
from pathlib import Path

from peftsweep.errors import UserError
from peftsweep.export.loading import quiet
from peftsweep.export.register import check_registry_available, register_export
from peftsweep.export.writer import write_export
from peftsweep.report import selection


def export_folder_name(chosen: selection.Chosen) -> str:
    science = chosen.result["science"]
    return f"{science['model']}-{science['data']}-{chosen.job_dir.name}"


def export_sweep(sweep: Path, trial: str | None = None, seed: int | None = None,
                 out: Path | None = None, merge: bool = False, overwrite: bool = False,
                 register: str | None = None, tracking_uri: str | None = None) -> list[Path]:
    """Write one export per selected setup (its best seed, or ``seed``), or of ``trial``;
    each lands in ``<out>/<model>-<data>-<job folder>`` (default out: ``<sweep>/export``).
    ``register``: also log the one export to MLflow and register it under that name."""
    sweep = Path(sweep)
    if trial and seed is not None:
        raise UserError("--seed: a named trial has its own seed; give --trial or --seed")
    if not sweep.is_dir():
        raise UserError(f"SWEEP: no such sweep folder: {sweep}")
    if register:
        check_registry_available()
    chosen = [selection.named(sweep, trial)] if trial else selection.selected(sweep, seed)
    if register and len(chosen) > 1:
        raise UserError(f"--register: the selection has {len(chosen)} setups and a "
                        "registered model is one of them (allowed: --trial T)")
    quiet()
    out = Path(out) if out else sweep / "export"
    folders = [write_export(one, out / export_folder_name(one), merge, overwrite, sweep)
               for one in chosen]
    if register:
        registered = register_export(folders[0], register, sweep, tracking_uri)
        print(f"peftsweep: registered {registered['model_uri']} in "
              f"{registered['tracking_uri']} (run {registered['run_id']})", file=sys.stderr)
    return folders
