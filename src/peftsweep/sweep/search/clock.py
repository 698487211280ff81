"""``search.timeout``: the seconds a search may ask for new trials, over all its launches.

Each launch writes how long it has been running into ``.search/clock.json`` (keyed by its
launch time) whenever a worker asks for a trial, so a resumed search counts the time its
earlier launches spent, including one that was killed (up to its last ask). Time between
launches does not count. Trials already running finish; confirmation follows the timeout.
"""

from __future__ import annotations

import json
from pathlib import Path

from peftsweep.spec.layout import SEARCH_CLOCK
from peftsweep.spec.results import atomic_write_text


def _read(sweep_dir: Path) -> dict[str, float]:
    try:
        raw = json.loads((Path(sweep_dir) / SEARCH_CLOCK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def spent(sweep_dir: Path, launched_at: float, now: float) -> float:
    """Seconds spent by the earlier launches plus this one so far."""
    earlier = sum(v for k, v in _read(sweep_dir).items() if k != repr(float(launched_at)))
    return earlier + max(0.0, now - launched_at)


def record(sweep_dir: Path, launched_at: float, now: float) -> None:
    """This launch's seconds so far (workers call it under the ask lock)."""
    clock = _read(sweep_dir)
    clock[repr(float(launched_at))] = round(max(0.0, now - launched_at), 3)
    atomic_write_text(Path(sweep_dir) / SEARCH_CLOCK, json.dumps(clock, indent=2) + "\n")


def out_of_time(timeout: float | None, sweep_dir: Path, launched_at: float, now: float) -> bool:
    return timeout is not None and spent(sweep_dir, launched_at, now) >= timeout
