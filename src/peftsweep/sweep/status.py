"""Where every planned trial of a sweep stands, and the ETA (``peftsweep status SWEEP``).

Reads only the sweep folder (plan.json, or a search's spec and job folders; result
files, each job's progress file and lock), so it works while the sweep runs, locally
or on a cluster, from any machine that sees the folder. States: done, running (with its
epoch), failed, diverged, pruned, interrupted (started, no longer running, no result),
pending.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from peftsweep.errors import UserError
from peftsweep.spec.results import RESULT_FILE
from peftsweep.sweep.plan import PlannedTrial, read_plan
from peftsweep.sweep.progress import duration
from peftsweep.sweep.search.on_disk import search_plan
from peftsweep.trial.progress_file import is_running, read_progress

STATES = ("done", "running", "failed", "diverged", "pruned", "interrupted", "pending")


def _result(job_dir: Path, identity: str) -> dict[str, Any] | None:
    # Read leniently: a sweeper may record statuses (pruned) the trial schema does not.
    try:
        result = json.loads((job_dir / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return result if isinstance(result, dict) and result.get("identity") == identity else None


def trial_state(sweep_dir: Path, trial: PlannedTrial, now: float) -> dict[str, Any]:
    job_dir = sweep_dir / trial.folder
    row: dict[str, Any] = {"label": trial.label, "folder": trial.folder, "detail": ""}
    progress = read_progress(job_dir)
    result = _result(job_dir, trial.identity)
    if is_running(job_dir, now):
        epoch = (progress or {}).get("epoch")
        total = (progress or {}).get("max_epochs")
        row.update(state="running", progress=progress or {},
                   detail=f"epoch {epoch + 1}/{total}" if epoch is not None else "starting")
    elif result is not None:
        status = result.get("status", "failed")
        row.update(state="done" if status == "ok" else status, detail=_detail(result),
                   finished=(job_dir / RESULT_FILE).stat().st_mtime)
    else:
        row["state"] = "interrupted" if progress else "pending"
    return row


def _detail(result: dict[str, Any]) -> str:
    if result.get("status") == "ok":
        name = result["metric"]["name"]
        return f"val {name} {result['best']['validation'].get(name, float('nan')):.4f}"
    return (result.get("error") or "").splitlines()[0][:80] if result.get("error") else ""


def sweep_status(sweep_dir: Path, now: float | None = None) -> dict[str, Any]:
    """Every planned trial's state, the counts and the ETA. Raises UserError without a plan."""
    sweep_dir, now = Path(sweep_dir), now or time.time()
    if not sweep_dir.is_dir():
        raise UserError(f"SWEEP: no such sweep folder: {sweep_dir}")
    plan = read_plan(sweep_dir) or search_plan(sweep_dir)
    if plan is None:
        raise UserError(f"{sweep_dir}: no plan.json: not a sweep folder, or a sweep from before "
                        "plans (peftsweep report reads its results)")
    rows = [trial_state(sweep_dir, trial, now) for trial in plan["trials"]]
    counts = Counter(row["state"] for row in rows)
    if "budget" in plan:  # a search: the trials not asked for yet are pending, without a row
        asked = plan["told"] + counts["running"] + counts["interrupted"] + counts["pending"]
        counts["pending"] += max(plan["budget"] - asked, 0)
    # Pace of this launch: trials that finished since the plan was written.
    done_now = sum(1 for row in rows if row.get("finished", 0) >= plan["created_at"])
    left = counts["running"] + counts["pending"]
    if not left:
        eta = "done"
    elif done_now:
        eta = duration((now - plan["created_at"]) / done_now * left)
    else:
        eta = _eta_from_epochs(rows, counts["pending"], now)
    for row in rows:
        row.pop("progress", None)
    search = {"search": {"budget": plan["budget"], "told": plan["told"]}} if "budget" in plan \
        else {}
    return {"sweep_dir": str(sweep_dir), "trials": rows,
            "counts": {state: counts[state] for state in STATES}, "eta": eta, **search}


def _eta_from_epochs(rows: list[dict[str, Any]], pending: int, now: float) -> str:
    """Before any trial of this launch has finished: a rough ETA from the running trials'
    seconds per epoch (marked ~), or unknown until one of them has finished an epoch."""
    running = [row["progress"] for row in rows if row["state"] == "running"]
    paced = [p for p in running if p.get("epochs_done", 0) > p.get("first_epoch", 0)]
    if not paced:
        return "unknown"
    per_epoch = sum((now - p["fit_started_at"]) / (p["epochs_done"] - p["first_epoch"])
                    for p in paced) / len(paced)
    epochs_left = sum(p.get("max_epochs", 0) - p.get("epochs_done", 0) for p in running)
    epochs_left += pending * paced[0]["max_epochs"]
    return "~" + duration(per_epoch * epochs_left / len(running))


def render(status: dict[str, Any]) -> str:
    width = max((len(row["label"]) for row in status["trials"]), default=0)
    lines = [f"{row['state']:12} {row['label']:{width}}  {row['detail']}"
             for row in status["trials"]]
    counts = ", ".join(f"{n} {state}" for state, n in status["counts"].items() if n)
    total = sum(status["counts"].values())
    search = status.get("search")
    told = f"; search: {search['told']} of {search['budget']} trial(s) told" if search else ""
    lines.append(f"{status['sweep_dir']}: {total} trial(s): {counts}{told}; "
                 f"ETA {status['eta']}")
    return "\n".join(lines)

