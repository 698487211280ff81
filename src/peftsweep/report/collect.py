"""Gather result.json files from sweep folders into one flat table.

Every reader goes through :func:`peftsweep.spec.results.read_result`, so a truncated
or foreign file becomes a *problem* (listed in the gaps table) and is never
mistaken for a result. Failed and diverged trials stay in the table, marked by
their status: a report that silently drops them would overstate a sweep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from peftsweep.spec.examples import FIELD as EXAMPLES
from peftsweep.spec.results import CorruptResult, iter_result_paths, read_result

SCIENCE_KEYS = ("model", "data", "strategy", "lr", "batch_size", "seed", "epochs", "pretrained")
TIMING_KEYS = ("wall_s", "setup_s", "train_s", "eval_s", "train_samples_per_s")
# Rows sort by these so every table and plot comes out in the same order on every run.
SORT_KEYS = ("model", "data", "strategy", "pretrained", "lr", "batch_size", "seed", "job_dir")
DUPLICATE = "duplicate identity"
# A setup is one GROUP; its hyper-parameters are chosen among the HPARAMS on validation.
GROUP = ["model", "data", "strategy", "pretrained"]
HPARAMS = ["lr", "batch_size"]


class Problem(NamedTuple):
    """A result file that was not used, and why."""

    path: Path
    reason: str

    @property
    def kind(self) -> str:
        return "duplicate" if self.reason.startswith(DUPLICATE) else "corrupt"


@dataclass
class Collection:
    """What the report knows: one row per trial, the unusable files, the curves and configs."""

    table: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # The resolved config of each trial as its result holds it, by identity.
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Each test example's label and prediction per split (spec/examples.py), by identity.
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> pd.DataFrame:
        """The finished trials: the only ones any number in a table is computed from."""
        if self.table.empty:
            return self.table
        return self.table[self.table["status"] == "ok"]


def collect(paths: Iterable[Path]) -> Collection:
    """Read every result.json under each sweep folder; raise FileNotFoundError for a missing one."""
    found: list[tuple[Path, Path, dict[str, Any]]] = []
    problems: list[Problem] = []
    for sweep in map(Path, paths):
        if not sweep.is_dir():
            raise FileNotFoundError(f"no such sweep folder: {sweep}")
        for path in iter_result_paths(sweep):
            if _is_report_output(sweep, path):
                continue
            try:
                found.append((sweep, path, read_result(path)))
            except CorruptResult as err:
                problems.append(Problem(path, str(err)))
    kept, duplicates = _deduplicate(found)
    problems.extend(duplicates)
    rows = sorted((_row(sweep, path, result) for sweep, path, result in kept), key=_sort_key)
    histories = {result["identity"]: list(result.get("history") or []) for _, _, result in kept}
    configs = {result["identity"]: dict(result.get("config") or {}) for _, _, result in kept}
    examples = {result["identity"]: result[EXAMPLES] for _, _, result in kept
                if isinstance(result.get(EXAMPLES), dict)}
    return Collection(table=_frame(rows), problems=problems, histories=histories,
                      configs=configs, examples=examples)


def _is_report_output(sweep: Path, path: Path) -> bool:
    """Skip anything inside a report/ folder, should one ever hold a copied result."""
    return "report" in path.relative_to(sweep).parts[:-1]


def _deduplicate(found):
    """One row per identity: prefer a finished trial, then the newest; report the others."""
    by_identity: dict[str, list[tuple[Path, Path, dict[str, Any]]]] = {}
    for item in found:
        by_identity.setdefault(item[2]["identity"], []).append(item)
    kept, problems = [], []
    for identity, items in by_identity.items():
        items.sort(key=_preference, reverse=True)
        kept.append(items[0])
        for _, path, _ in items[1:]:
            reason = f"{DUPLICATE} {identity}; kept {items[0][1]}"
            problems.append(Problem(path, reason))
    return kept, problems


def _preference(item) -> tuple[bool, str, str]:
    _, path, result = item
    # The path is the last tie-break so that the choice never depends on listing order.
    return (result["status"] == "ok", str(result.get("finished_at") or ""), str(path))


def _row(sweep: Path, path: Path, result: dict[str, Any]) -> dict[str, Any]:
    science = result.get("science") or {}
    metric = result.get("metric") or {}
    best = result.get("best") or {}
    params = result.get("params") or {}
    timing = result.get("timing") or {}
    row: dict[str, Any] = {
        "sweep": str(sweep),
        "job_dir": str(path.parent.relative_to(sweep)),
        "identity": result["identity"],
        "status": result["status"],
        "error": result.get("error"),
        "failed_step": result.get("failed_step"),
        **{key: science.get(key) for key in SCIENCE_KEYS},
        "metric": metric.get("name"),
        "metric_mode": metric.get("mode", "max"),
        "best_step": best.get("step"),
        "best_epoch": best.get("epoch"),
        "test_split": result.get("test_split"),
        "budget": (result.get("budget") or {}).get("requested"),
        "capacity": _capacity(result.get("budget") or {}),
        "params_trainable": params.get("trainable"),
        "params_total": params.get("total"),
        "trainable_percent": params.get("trainable_percent"),
        **{key: timing.get(key) for key in TIMING_KEYS},
        "finished_at": result.get("finished_at"),
        # A search's confirmation trial: the number of the trial whose configuration it re-ran.
        "confirms": (result.get("search") or {}).get("confirms"),
    }
    row.update({f"val/{k}": v for k, v in (best.get("validation") or {}).items()})
    row.update({f"test/{k}": v for k, v in (result.get("test") or {}).items()})
    row.update(_flat_config(result.get("config") or {}))
    return row


def _capacity(budget: dict[str, Any]) -> str | None:
    """What a budget sized, as 'r=4'; None without a budget (or a fixed-size strategy)."""
    return f"{budget['option']}={budget['value']}" if budget.get("option") else None


def _flat_config(config: dict[str, Any]) -> dict[str, Any]:
    if not config:
        return {}
    flat = pd.json_normalize(config, sep=".").iloc[0].to_dict()
    return {f"config.{key}": value for key, value in flat.items()}


def _sort_key(row: dict[str, Any]) -> tuple:
    # Missing values last; the type name keeps mixed-type columns comparable.
    return tuple(
        (row[key] is None, type(row[key]).__name__, row[key] if row[key] is not None else 0)
        for key in SORT_KEYS
    )


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=["sweep", "job_dir", "identity", "status", *SCIENCE_KEYS])
    return pd.DataFrame(rows).reset_index(drop=True)
