"""A search's progress line per finished trial, in the grid's format.

``peftsweep: [i/N] lr=0.00031 strategy=full: ok, val accuracy 0.8712, 3m10s | 9 left,
ETA 27m, 0 failed``: N is the study's budget plus its confirmation trials, and i counts its
finished trials, earlier runs and other workers included (the study is the one counter every
worker shares; warm-started trials are not counted). A confirmation trial's line reads
``confirm lr=... seed=2: ...``. The ETA is the pace of this launch. Lines go to stderr and
``<sweep>/progress.log`` (progress.py).
"""

from __future__ import annotations

import time
from typing import Any

from peftsweep.sweep.progress import emit, eta, format_line
from peftsweep.sweep.search.confirm import SEED, is_warm_start

FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def point_label(values: dict[str, Any]) -> str:
    """The point's keys, floats to 3 significant digits (the folder name has the rest)."""
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in values.items())


def counts(trials, launched_at: float, number: int) -> dict[str, int]:
    """Finished, failed and finished-in-this-launch trials up to and including trial
    ``number`` (so two workers telling at once never print the same i); each retried
    trial counts once."""
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    mine = next(t.datetime_complete for t in trials if t.number == number)
    done = [t for t in trials if t.number not in retried and t.state.name in FINISHED
            and not is_warm_start(t)
            and t.datetime_complete is not None and t.datetime_complete <= mine]
    return {"done": len(done),
            "failed": sum(t.state.name == "FAIL" for t in done),
            "this_launch": sum(t.datetime_complete.timestamp() >= launched_at for t in done)}


def planned_trials(settings: dict[str, Any]) -> int:
    """The budget plus the confirmation trials at most (settings as the spec holds them)."""
    confirm = settings.get("confirm") or {}
    return settings["n_trials"] + confirm.get("top_k", 0) * (confirm.get("seeds", 1) - 1)


def trial_line(n_trials: int, done: dict[str, int], launched_at: float, label: str,
               result: dict[str, Any], now: float) -> str:
    left = max(n_trials - done["done"], 0)
    return format_line(done["done"], n_trials, label, result,
                       eta(launched_at, done["this_launch"], left, now), done["failed"])


def report(study, trial, spec: dict[str, Any], values: dict[str, Any],
           result: dict[str, Any] | None) -> str | None:
    """Emit the line for a trial just told to the study; None for a trial another held."""
    if result is None:
        return None
    launched_at = spec.get("launched_at", 0.0)
    done = counts(study.get_trials(deepcopy=False), launched_at, trial.number)
    label = point_label(values)
    if SEED in trial.user_attrs:
        label = f"confirm {label} seed={trial.user_attrs[SEED]}"
    line = trial_line(planned_trials(spec["settings"]), done, launched_at, label, result,
                      time.time())
    emit(spec["sweep_dir"], line)
    return line
