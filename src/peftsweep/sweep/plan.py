"""The sweep plan: every trial a launch expects, written before the first one starts.

``<sweep>/plan.json`` lists each planned trial's identity, job folder, overrides
and whether it was already finished when the sweep was launched (a resume skips
it). Progress lines, ``peftsweep-status`` and the end-of-sweep summary all read
it, so they work the same for every launcher and on any machine that sees the
sweep folder.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from peftsweep.spec.config import TrialConfig
from peftsweep.spec.results import atomic_write_json, find_ok_result
from peftsweep.sweep.naming import trial_folder_name

PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class PlannedTrial:
    index: int
    identity: str
    folder: str
    overrides: list[str]
    label: str  # the overrides that differ between trials: what a reader tells them apart by
    finished: bool  # an ok result of this identity was there at launch


def _labels(jobs: list[list[str]]) -> list[str]:
    varying = {o.split("=", 1)[0] for job in jobs for o in job
               if sum(o in other for other in jobs) < len(jobs)}
    return [" ".join(o for o in job if o.split("=", 1)[0] in varying) or "(single trial)"
            for job in jobs]


def build_plan(jobs: list[list[str]], configs: list[TrialConfig],
               sweep_dir: Path | None) -> list[PlannedTrial]:
    """One entry per job; ``finished`` where sweep_dir already holds its ok result."""
    plan = []
    for index, (job, cfg, label) in enumerate(zip(jobs, configs, _labels(jobs), strict=True)):
        folder = trial_folder_name(cfg)
        identity = cfg.identity()
        finished = bool(sweep_dir) and find_ok_result(Path(sweep_dir) / folder,
                                                      identity) is not None
        plan.append(PlannedTrial(index, identity, folder, list(job), label, finished))
    return plan


def write_plan(sweep_dir: Path, trials: list[PlannedTrial], **extra: Any) -> dict[str, Any]:
    """Write plan.json atomically; ``extra`` records how the sweep was launched."""
    payload = {"created_at": time.time(), "run_id": secrets.token_hex(4),
               "trials": [asdict(t) for t in trials], **extra}
    atomic_write_json(Path(sweep_dir) / PLAN_FILE, payload)
    return payload


def read_plan(sweep_dir: Path) -> dict[str, Any] | None:
    """The sweep's plan, or None where there is none (a sweep from before plans existed)."""
    path = Path(sweep_dir) / PLAN_FILE
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    payload["trials"] = [PlannedTrial(**t) for t in payload.get("trials", [])]
    return payload


def planned_trial(plan: dict[str, Any], identity: str) -> PlannedTrial | None:
    return next((t for t in plan["trials"] if t.identity == identity), None)
