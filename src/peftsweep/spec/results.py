"""The result file: the contract between a trial and every report.

One ``result.json`` per trial, written atomically. Readers must go through
:func:`read_result`, which rejects truncated, corrupt or foreign files instead
of treating them as results.

Schema (version 1)::

    schema_version  int, 1
    identity        str, 16 hex chars: hash of the science part of the config
    status          "ok" | "failed" | "diverged" | "pruned" (a search stopped it)
    error           str | null          (why a trial failed or diverged)
    failed_step     int | null          (global step at failure / divergence / pruning)
    pruned_at       {"step", "epoch", "validation", "value"}  (status pruned only)
    stopped_early_at {"step", "epoch"}  (ok, ended by trainer.early_stopping_patience)
    search          {"study", "trial", "confirms"}  (trials run by a search only;
                    confirms: the trial number whose configuration a confirmation
                    trial re-runs at another seed)
    science         flat dict: model, data, strategy, lr, batch_size, seed,
                    epochs, pretrained (the keys a table groups and sorts by)
    config          the full resolved trial config (nested dict)
    metric          {"name": "accuracy", "mode": "max"}: the selection metric
    best            {"step", "epoch", "validation": {metric: value, ...}}
    test            {metric: value, ...} evaluated at best.step
    test_split      str: which split the test metrics come from, and why
    history         [{"step", "epoch", "validation/<metric>": v, ...}, ...]
    params          {"trainable", "total", "trainable_percent"}
    budget          {"requested", "parameters", "option", "value", "trainable",
                     "deviation"}  (optional: strategy.budget set; the option it sized,
                    its value and the count there)
    optimizer_steps int  (optional: the optimizer steps the trial planned, epochs x steps
                    per epoch; AdaLoRA's schedule)
    test_examples   {split: {"n", "labels", "predictions"}}  (optional: each test
                    example's class and prediction, see spec/examples.py; absent for
                    regression, DDP trials and results written before it existed)
    weights         {"file", "policy", "tensors", "parameters", "bytes",
                     "frozen_fingerprint"} | null: what the trial kept in
                    weights/ for export (see weights.py)
    timing          {"wall_s", "setup_s", "train_s", "eval_s",
                     "train_samples_per_s"}
    peak_memory     {"bytes", "measure", "since"}  (optional: the trial's peak memory,
                    GPU allocator or process RSS; see trial/memory.py)
    runtime         {"device", "precision", "gpu_slot", "hostname", ...}
    versions        {"python", "torch", "transformers", ...}
    finished_at     ISO-8601 UTC time
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
RESULT_FILE = "result.json"
STATUSES = ("ok", "failed", "diverged", "pruned")
REQUIRED_KEYS = ("schema_version", "identity", "status", "science", "config")


class CorruptResult(ValueError):
    """A result file that exists but cannot be trusted."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder + rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_result(job_dir: Path, result: dict[str, Any]) -> Path:
    if result.get("status") not in STATUSES:
        raise ValueError(f"result status must be one of {STATUSES}, got {result.get('status')!r}")
    result = {"schema_version": SCHEMA_VERSION, **result}
    path = Path(job_dir) / RESULT_FILE
    atomic_write_json(path, result)
    return path


def read_result(path: Path) -> dict[str, Any]:
    """Load and sanity-check one result file; raise CorruptResult if it is not a result."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptResult(f"{path}: unreadable result file ({err})") from err
    if not isinstance(payload, dict):
        raise CorruptResult(f"{path}: result file is not a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CorruptResult(f"{path}: result file lacks {', '.join(missing)}")
    if payload["schema_version"] != SCHEMA_VERSION:
        raise CorruptResult(f"{path}: schema_version {payload['schema_version']} is not "
                            f"{SCHEMA_VERSION}")
    if payload["status"] not in STATUSES:
        raise CorruptResult(f"{path}: unknown status {payload['status']!r}")
    if payload["status"] == "ok" and not {"best", "test", "params"} <= payload.keys():
        raise CorruptResult(f"{path}: status ok but metrics are missing")
    return payload


def iter_result_paths(root: Path) -> Iterator[Path]:
    yield from sorted(Path(root).rglob(RESULT_FILE))


def set_aside_corrupt_result(job_dir: Path) -> Path | None:
    """Rename an unreadable result.json (kept, never deleted) so the trial re-runs."""
    path = Path(job_dir) / RESULT_FILE
    if not path.exists():
        return None
    try:
        read_result(path)
        return None
    except CorruptResult as err:
        aside = path.with_name(f"{RESULT_FILE}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        logging.getLogger(__name__).warning("%s; kept as %s and re-running", err, aside.name)
        return aside


def find_ok_result(job_dir: Path, identity: str) -> dict[str, Any] | None:
    """The finished result of this identity in job_dir, or None (missing, failed or corrupt)."""
    path = Path(job_dir) / RESULT_FILE
    if not path.exists():
        return None
    try:
        result = read_result(path)
    except CorruptResult:
        return None
    if result["identity"] != identity or result["status"] != "ok":
        return None
    return result
