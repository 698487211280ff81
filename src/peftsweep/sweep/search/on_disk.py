"""A search's trials as its sweep folder shows them, for peftsweep-status (no database opened).

A search plans nothing up front. Its spec (``.search/spec.json``, rewritten by every launch)
gives the budget (plus the confirmation trials at most), the space and the launch time; a
trial's job folder, with its ``.hydra/overrides.yaml``, appears as soon as the study hands
the trial out; and each worker appends every trial it tells the study to
``.search/told.jsonl`` (two trials at one point share a folder but use two of the budget).
So the folder alone tells which trials ran, which run now, and how many the budget still
holds (``.search/done.json`` says when nothing more will be asked).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from peftsweep.spec.layout import SEARCH_DONE, SEARCH_SPEC, SEARCH_TOLD
from peftsweep.spec.results import RESULT_FILE, atomic_write_text
from peftsweep.sweep.plan import PlannedTrial
from peftsweep.sweep.progress import append_line
from peftsweep.sweep.search.trial_lines import planned_trials, point_label


def record_told(sweep_dir: Path, number: int, job: str | None, status: str) -> None:
    """One line per trial told to the study, appended in one write."""
    append_line(Path(sweep_dir) / SEARCH_TOLD,
                json.dumps({"trial": number, "job": job, "status": status}) + "\n")


def mark_done(sweep_dir: Path) -> None:
    """The study has nothing left to ask (fewer configurations to confirm than top_k, say):
    the told trials are the whole plan. A launch removes the mark (a resume may add more)."""
    atomic_write_text(Path(sweep_dir) / SEARCH_DONE,
                      json.dumps({"told": told_count(sweep_dir)}) + "\n")


def told_count(sweep_dir: Path) -> int:
    try:
        text = (Path(sweep_dir) / SEARCH_TOLD).read_text(encoding="utf-8")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if line.endswith("}"))


def _value(text: str):
    """An override's value back as the number the space drew, where it is one."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _label(overrides: list[str], keys: set[str]) -> str:
    """The point's overrides (the searched keys), as its progress line names them."""
    values = {k: _value(v) for k, _, v in (o.partition("=") for o in overrides) if k in keys}
    return point_label(values) or "(no searched key)"


def _identity(job_dir: Path) -> str:
    try:
        return json.loads((job_dir / RESULT_FILE).read_text(encoding="utf-8"))["identity"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""  # no result yet: status reads the trial's progress instead


def search_plan(sweep_dir: Path) -> dict[str, Any] | None:
    """plan.json's shape for a search (plus ``budget`` and ``told``), or None if this is
    no search."""
    try:
        spec = json.loads((Path(sweep_dir) / SEARCH_SPEC).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = set(spec["settings"]["space"]) | {"seed"}  # confirmation trials set a seed
    folders = sorted((p.parent.parent for p in Path(sweep_dir).glob("*/.hydra/overrides.yaml")),
                     key=lambda p: p.stat().st_mtime)
    trials = []
    for index, job_dir in enumerate(folders):
        overrides = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text()) or []
        trials.append(PlannedTrial(index, _identity(job_dir), job_dir.name, list(overrides),
                                   _label(overrides, keys), finished=False))
    told = told_count(sweep_dir)
    budget = told if (Path(sweep_dir) / SEARCH_DONE).is_file() else planned_trials(
        spec["settings"])
    return {"created_at": spec.get("launched_at", 0.0), "trials": trials, "budget": budget,
            "told": told}
