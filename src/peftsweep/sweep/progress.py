"""One progress line per finished trial, the same under every launcher.

A trial calls :func:`report_trial_end` once its result is written. From the
sweep plan and a small counter kept under a lock in the sweep folder it writes
``[i/N] overrides: status, metric, duration | left, ETA, failures`` as one write
to stderr and appends it to ``<sweep>/progress.log`` (the place to ``tail -f``
on a cluster, where each job's stderr goes to its own log file).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from peftsweep.spec.results import atomic_write_json
from peftsweep.sweep.plan import PlannedTrial, planned_trial, read_plan

PROGRESS_LOG = "progress.log"
COUNTER_FILE = ".progress-counter.json"
COUNTER_LOCK = ".progress.lock"


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def eta(started_at: float, done_this_run: int, left: int, now: float) -> str:
    """Time left at the pace of this launch so far (parallel launchers included)."""
    if left <= 0:
        return "done"
    if done_this_run <= 0:
        return "unknown"
    return duration((now - started_at) / done_this_run * left)


def format_line(index: int, total: int, label: str, result: dict[str, Any], eta_text: str,
                failures: int) -> str:
    """``peftsweep: [i/N] label: outcome, duration | left, ETA, failures`` (grids and
    searches alike)."""
    wall = result.get("timing", {}).get("wall_s", 0.0)
    return (f"peftsweep: [{index}/{total}] {label}: {outcome(result)}, {duration(wall)} | "
            f"{max(total - index, 0)} left, ETA {eta_text}, {failures} failed\n")


def outcome(result: dict[str, Any]) -> str:
    if result["status"] == "pruned" and result.get("pruned_at"):
        at = result["pruned_at"]
        return f"pruned at validation {at['validation']} (val {at['value']:.4f})"
    if result["status"] != "ok":
        error = (result.get("error") or "").splitlines()[0][:80] if result.get("error") else ""
        return f"{result['status']} ({error})" if error else result["status"]
    name = result["metric"]["name"]
    return f"ok, val {name} {result['best']['validation'].get(name, float('nan')):.4f}"


def is_failure(result: dict[str, Any]) -> bool:
    return result["status"] not in ("ok", "pruned")  # pruning is not a failure


def report_trial_end(job_dir: Path, result: dict[str, Any] | None) -> str | None:
    """Count this trial as done and emit its progress line; None outside a planned sweep."""
    sweep_dir = Path(job_dir).parent
    plan = read_plan(sweep_dir)
    if plan is None or result is None:
        return None
    try:
        with FileLock(str(sweep_dir / COUNTER_LOCK), timeout=120):
            counter = _bump(sweep_dir, plan, failed=is_failure(result))
            line = _line(plan, planned_trial(plan, result["identity"]), job_dir, result, counter)
            emit(sweep_dir, line)  # under the lock: progress.log keeps the counter's order
    except (OSError, Timeout) as err:  # the result is written: a progress line must not fail it
        logging.getLogger(__name__).warning("no progress line for %s: %s", job_dir, err)
        return None
    return line


def emit(sweep_dir: Path, line: str) -> None:
    """Append the line to ``<sweep>/progress.log`` and write it to stderr, each in one write
    (lines from parallel trials never interleave)."""
    try:
        append_line(Path(sweep_dir) / PROGRESS_LOG, line)
    except OSError as err:
        logging.getLogger(__name__).warning("progress.log not written: %s", err)
    os.write(2, line.encode())


def _bump(sweep_dir: Path, plan: dict[str, Any], failed: bool) -> dict[str, Any]:
    path = sweep_dir / COUNTER_FILE
    try:
        counter = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        counter = {}
    if counter.get("run_id") != plan["run_id"]:  # a new launch (resume) counts afresh
        counter = {"run_id": plan["run_id"], "done": 0, "failures": 0}
    counter["done"] += 1
    counter["failures"] += int(failed)
    atomic_write_json(path, counter)
    return counter


def _line(plan: dict[str, Any], planned: PlannedTrial | None, job_dir: Path,
          result: dict[str, Any], counter: dict[str, Any]) -> str:
    total = len(plan["trials"])
    index = sum(t.finished for t in plan["trials"]) + counter["done"]
    label = planned.label if planned else Path(job_dir).name
    left = max(total - index, 0)
    return format_line(index, total, label, result,
                       eta(plan["created_at"], counter["done"], left, time.time()),
                       counter["failures"])


def append_line(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
