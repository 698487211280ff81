"""What a running trial tells the outside: its progress file and its lock, read cheaply.

While a trial runs it rewrites ``<job>/progress.json`` (see :mod:`peftsweep.trial.heartbeat`)
after every validation and every ``BEAT_S`` seconds. A trial counts as running if
its lock is held or its progress file is fresh and not marked ended; the file
also works where file locks do not cross machines. No Lightning import here, so
``peftsweep-status`` starts fast.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

PROGRESS_FILE = "progress.json"
LOCK_FILE = ".trial.lock"
BEAT_S = 30.0
# Three missed beats: the process is gone (killed, preempted, node lost).
FRESH_S = 3 * BEAT_S


def read_progress(job_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(job_dir) / PROGRESS_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def lock_held(job_dir: Path) -> bool:
    """Whether some process holds the trial's lock (probed without waiting)."""
    path = Path(job_dir) / LOCK_FILE
    if not path.exists():
        return False
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def is_running(job_dir: Path, now: float | None = None) -> bool:
    progress = read_progress(job_dir) or {}
    fresh = (now or time.time()) - progress.get("updated_at", 0) < FRESH_S
    return (fresh and not progress.get("ended")) or lock_held(job_dir)
