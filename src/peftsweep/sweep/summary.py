"""The end of a sweep: what was planned against what was found, and summary.json.

Counts every planned trial's result (ok, pruned, failed, diverged, corrupt, missing),
drops the full weights of trials outside the report's selection
(``trainer.full_weights=selected``), ends the sweep's MLflow parent run and remembers the
summary for the exit code.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from peftsweep.report.selection import selected_job_dirs
from peftsweep.spec.results import CorruptResult, atomic_write_json, iter_result_paths, read_result
from peftsweep.sweep.plan import read_plan
from peftsweep.trial import weights
from peftsweep.trial.mlflow_runs import finish_sweep_run

log = logging.getLogger(__name__)
LAST_SUMMARY: dict[str, Any] = {}


def summarize(sweep_dir: Path) -> dict[str, Any]:
    """Count results; with a plan, count the planned trials, those without a result as missing."""
    counts = {"ok": 0, "pruned": 0, "failed": 0, "diverged": 0, "corrupt": 0, "missing": 0}
    problems: list[str] = []
    for planned, path in _expected_results(Path(sweep_dir)):
        if planned is not None and not path.exists():
            counts["missing"] += 1
            problems.append(f"{planned.folder}: missing: no result ({planned.label})")
            continue
        try:
            result = read_result(path)
        except CorruptResult as err:
            counts["corrupt"] += 1
            problems.append(str(err))
            continue
        if planned is not None and result["identity"] != planned.identity:
            counts["missing"] += 1
            problems.append(f"{planned.folder}: missing: its result is another trial's")
            continue
        counts[result["status"]] = counts.get(result["status"], 0) + 1
        if result["status"] == "pruned":  # expected in a search, listed with its step
            problems.append(f"{path.parent.name}: pruned at step {result.get('failed_step')}")
        elif result["status"] != "ok":
            problems.append(f"{path.parent.name}: {result['status']}: {result.get('error')}")
    return {"sweep_dir": str(sweep_dir), "counts": counts, "problems": problems,
            "weights_bytes": weights.disk_bytes(sweep_dir)}


def _expected_results(sweep_dir: Path) -> list[tuple[Any, Path]]:
    """(planned trial, its result path) per planned trial; without a plan, the files found."""
    plan = read_plan(sweep_dir)
    if plan is None:
        return [(None, path) for path in iter_result_paths(sweep_dir)]
    return [(t, sweep_dir / t.folder / "result.json") for t in plan["trials"]]


def results_under_old_identities(sweep_dir: Path, configs: list) -> list[Path]:
    """Finished trials of a resumed sweep whose settings are planned under another identity.

    That happens when a new peftsweep hashes a trial differently: the old results are
    kept untouched, the trials run again under their new identity, and the user is told.
    """
    planned = {cfg.identity() for cfg in configs}
    settings = [cfg.summary() for cfg in configs]
    found = []
    for path in iter_result_paths(sweep_dir):
        try:
            result = read_result(path)
        except CorruptResult:
            continue
        if (result["status"] == "ok" and result["identity"] not in planned
                and result["science"] in settings):
            found.append(path.parent)
    return found


def prune_unselected(sweep_dir: Path) -> list[Path]:
    """Drop the weights kept under 'selected' by trials outside the report's selection.

    Returns the job folders whose weights were removed. Any seed at the selected
    hyper-parameters keeps its weights, so export can pick the best seed or another.
    """
    keep_dirs = {path.resolve() for path in selected_job_dirs(Path(sweep_dir))}
    removed = []
    for manifest in sorted(Path(sweep_dir).rglob(f"{weights.WEIGHTS_DIR}/{weights.MANIFEST_FILE}")):
        job_dir = manifest.parent.parent
        info = weights.read_manifest(job_dir)
        if info and info.get("policy") == "selected" and job_dir.resolve() not in keep_dirs:
            shutil.rmtree(job_dir / weights.WEIGHTS_DIR, ignore_errors=True)
            removed.append(job_dir)
    if removed:
        log.info("removed the full weights of %d trial(s) outside the selection", len(removed))
    return removed


class SweepSummary(Callback):
    """Write summary.json at the end of a multirun and remember it for the exit code."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        prune_unselected(sweep_dir)
        summary = summarize(sweep_dir)
        atomic_write_json(sweep_dir / "summary.json", summary)
        finish_sweep_run(sweep_dir, summary["counts"])  # the MLflow parent run, if any
        LAST_SUMMARY.clear()
        LAST_SUMMARY.update(summary)

