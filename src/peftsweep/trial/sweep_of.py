"""Which sweep a job folder belongs to, for the trackers that group a sweep's trials.

A job folder sits directly in its sweep folder, which every sweeper (grid or search)
marks with its ``multirun.yaml``; a single run (no ``-m``) belongs to no sweep.
"""

from __future__ import annotations

from pathlib import Path

SWEEP_MARKER = "multirun.yaml"


def sweep_of(job_dir: Path) -> Path | None:
    parent = Path(job_dir).resolve().parent
    return parent if (parent / SWEEP_MARKER).is_file() else None


def sweep_name(sweep_dir: Path) -> str:
    """``<date>/<time>-<suffix>``: the sweep folder as the launch named it."""
    sweep_dir = Path(sweep_dir)
    return f"{sweep_dir.parent.name}/{sweep_dir.name}"
