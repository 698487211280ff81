"""Sweep-level plumbing: unique sweep folders, per-trial job folders, the end summary.

The resolvers are registered on import and cached, so every job of one sweep
(in this process or, through the pickled config cache, on a Slurm node) sees
the same sweep folder.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from peftsweep import weights
from peftsweep.plan import read_plan, trial_folder_name
from peftsweep.results import CorruptResult, atomic_write_json, iter_result_paths, read_result

log = logging.getLogger(__name__)
LAST_SUMMARY: dict[str, Any] = {}


def _sweep_dir(resume: str | None, base: str = "multirun") -> str:
    if resume:
        return str(resume)
    # Date/time for humans, a random suffix so two sweeps started in one second never collide.
    now = dt.datetime.now()
    return f"{base}/{now:%Y-%m-%d}/{now:%H-%M-%S}-{secrets.token_hex(3)}"


def _trial_name(*, _root_: DictConfig) -> str:
    """Job folder name: readable hyper-parameters + the trial identity."""
    from peftsweep.validate import validate

    science = {k: _root_[k] for k in _root_ if k != "hydra"}
    cfg = validate(OmegaConf.to_container(OmegaConf.create(science), resolve=True))
    return trial_folder_name(cfg)


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("peftsweep_sweep_dir", _sweep_dir, use_cache=True,
                                    replace=True)
    OmegaConf.register_new_resolver("peftsweep_trial", _trial_name, replace=True)


def summarize(sweep_dir: Path) -> dict[str, Any]:
    """Count results; with a plan, count the planned trials, those without a result as missing."""
    counts = {"ok": 0, "failed": 0, "diverged": 0, "corrupt": 0, "missing": 0}
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
        if result["status"] != "ok":
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


class SweepSummary(Callback):
    """Write summary.json at the end of a multirun and remember it for the exit code."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        weights.prune_unselected(sweep_dir)
        summary = summarize(sweep_dir)
        atomic_write_json(sweep_dir / "summary.json", summary)
        LAST_SUMMARY.clear()
        LAST_SUMMARY.update(summary)


register_resolvers()
