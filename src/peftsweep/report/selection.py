"""Which trials of a sweep to export: the report's selection, or one named trial.

The selection is the report's own (:mod:`peftsweep.report.tables`): per
(model, data, strategy, initialisation) group the learning rate and batch size
with the best mean validation metric over seeds; of the seeds run there, the
one with the best validation metric (ties: the lowest seed), or a chosen seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pandas as pd

from peftsweep.errors import UserError
from peftsweep.report.collect import collect
from peftsweep.report.tables import hp_grid, selected_trials, selection_table
from peftsweep.spec.results import RESULT_FILE, CorruptResult, read_result


class Chosen(NamedTuple):
    job_dir: Path
    result: dict


def _selection(sweep_dir: Path):
    if not Path(sweep_dir).is_dir():
        raise UserError(f"SWEEP: no such sweep folder: {sweep_dir}")
    collection = collect([sweep_dir])
    if collection.ok.empty:
        raise UserError(f"SWEEP: {sweep_dir} has no finished (ok) trial to export")
    return collection, selection_table(hp_grid(collection))


def selected_job_dirs(sweep_dir: Path) -> list[Path]:
    """Every job folder at the selected hyper-parameters (all seeds); [] if none finished."""
    collection = collect([sweep_dir])
    if collection.ok.empty:
        return []
    selection = selection_table(hp_grid(collection))
    return [Path(row["sweep"]) / row["job_dir"]
            for _, trials in selected_trials(collection, selection)
            for _, row in trials.iterrows()]


def best_seed(trials: pd.DataFrame, metric: str, mode: str) -> pd.Series:
    column = f"val/{metric}"
    sign = -1.0 if mode == "max" else 1.0
    # A seed without the metric ranks last: its sign-adjusted rank is +inf.
    ranked = trials.assign(_rank=sign * trials[column].fillna(sign * float("inf")))
    return ranked.sort_values(["_rank", "seed"]).iloc[0]


def selected(sweep_dir: Path, seed: int | None = None) -> list[Chosen]:
    """The trial to export for each group of the report's selection."""
    collection, selection = _selection(sweep_dir)
    chosen = []
    for row, trials in selected_trials(collection, selection):
        if seed is not None:
            trials = trials[trials["seed"] == seed]
            if trials.empty:
                continue
        trial = best_seed(trials, row["metric"], row["mode"])
        job_dir = Path(trial["sweep"]) / trial["job_dir"]
        chosen.append(Chosen(job_dir, read_result(job_dir / RESULT_FILE)))
    if not chosen:
        raise UserError(f"--seed: no selected configuration of {sweep_dir} ran seed {seed}")
    return chosen


def named(sweep_dir: Path, trial: str) -> Chosen:
    """One trial by job folder path, job folder name or identity (a unique prefix will do)."""
    sweep_dir = Path(sweep_dir)
    direct = Path(trial)
    candidates = [direct] if (direct / RESULT_FILE).is_file() else [
        path.parent for path in sorted(sweep_dir.rglob(RESULT_FILE))
        if path.parent.name == trial or _identity(path).startswith(trial)]
    if len(candidates) != 1:
        problem = "no trial" if not candidates else f"{len(candidates)} trials"
        raise UserError(f"TRIAL: {problem} named {trial!r} in {sweep_dir} "
                        "(give a job folder, its name, or an identity prefix)")
    job_dir = candidates[0]
    try:
        result = read_result(job_dir / RESULT_FILE)
    except CorruptResult as err:
        raise UserError(f"TRIAL: {err}") from err
    if result["status"] != "ok":
        raise UserError(f"TRIAL: {job_dir.name} did not finish ({result['status']}): "
                        "nothing to export")
    return Chosen(job_dir, result)


def _identity(path: Path) -> str:
    try:
        return read_result(path)["identity"]
    except CorruptResult:
        return ""
