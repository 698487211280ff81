"""Figures of a search (hydra/sweeper=search): progress, parameter importances, lr x batch size.

Read from the sweep's result.json files and ``.search/importances.json`` (Optuna's
parameter importances, which the search writes when it ends), never from the study itself.
``peftsweep report`` writes them with the rest of a search's report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from peftsweep.spec.layout import SEARCH_IMPORTANCES, SEARCH_SPEC
from peftsweep.spec.results import CorruptResult, iter_result_paths, read_result


def is_search(sweep_dir: Path) -> bool:
    return (Path(sweep_dir) / SEARCH_SPEC).is_file()


def epochs_spent(result: dict[str, Any]) -> float:
    """Training epochs a trial cost: validations run x the validation interval."""
    history = result.get("history") or []
    interval = (result.get("config") or {}).get("trainer", {}).get("val_check_interval", 1.0)
    if isinstance(interval, float) and interval <= 1.0:
        return len(history) * interval
    return float(history[-1]["epoch"] + 1) if history else 0.0


def best_value(result: dict[str, Any]) -> float | None:
    if result["status"] != "ok":
        return None
    metric = result["metric"]["name"]
    return result["best"]["validation"][metric]


def load_results(sweep_dir: Path) -> list[dict[str, Any]]:
    """Readable results in the order they finished."""
    out = []
    for path in iter_result_paths(sweep_dir):
        if "report" in path.relative_to(sweep_dir).parts:
            continue
        try:
            out.append(read_result(path))
        except CorruptResult:
            continue
    return sorted(out, key=lambda r: r.get("finished_at") or "")


def progress(results: list[dict[str, Any]]) -> list[tuple[float, float | None]]:
    """(cumulative epochs, best validation so far) after each finished trial."""
    spent, best, out = 0.0, None, []
    for result in results:
        spent += epochs_spent(result)
        value = best_value(result)
        if value is not None and (best is None or value > best):
            best = value
        out.append((spent, best))
    return out


def _figure(width: float = 5.0, height: float = 3.6):
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def progress_plot(results: list[dict], out_dir: Path) -> Path:
    fig, ax = _figure()
    points = [(x, y) for x, y in progress(results) if y is not None]
    ax.step([x for x, _ in points], [y for _, y in points], where="post", marker="o")
    ax.set_xlabel("training epochs spent (all trials)")
    ax.set_ylabel(f"best validation {results[0].get('metric', {}).get('name', 'metric')}")
    ax.set_title("search progress")
    return _save(fig, out_dir / "search_progress.png")


def lr_batch_plot(results: list[dict], out_dir: Path) -> Path:
    fig, ax = _figure()
    ok = [r for r in results if r["status"] == "ok"]
    other = [r for r in results if r["status"] != "ok"]
    if ok:
        dots = ax.scatter([r["science"]["lr"] for r in ok],
                          [r["science"]["batch_size"] for r in ok],
                          c=[best_value(r) for r in ok], cmap="viridis", s=60)
        fig.colorbar(dots, ax=ax, label="best validation")
    if other:
        ax.scatter([r["science"]["lr"] for r in other],
                   [r["science"]["batch_size"] for r in other],
                   marker="x", color="tab:gray", label="pruned / failed")
        ax.legend(loc="best", fontsize="small")
    ax.set_xscale("log")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("batch size")
    return _save(fig, out_dir / "search_lr_batch.png")


def importance_plot(sweep_dir: Path, out_dir: Path) -> Path:
    """Optuna's parameter importances, as the search wrote them when it ended."""
    importances = json.loads((sweep_dir / SEARCH_IMPORTANCES).read_text())
    if not importances:
        raise ValueError("the study had too few finished trials to rank its parameters")
    fig, ax = _figure()
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names])
    ax.set_xlabel("importance (fANOVA, Optuna)")
    return _save(fig, out_dir / "search_importances.png")


def write_search_plots(sweep_dir: Path, out_dir: Path) -> tuple[list[Path], list[str]]:
    """Every search figure the data allows; notes say why one was skipped."""
    sweep_dir, out_dir = Path(sweep_dir), Path(out_dir)
    results = load_results(sweep_dir)
    if not results:
        return [], ["no search results to plot"]
    written, notes = [progress_plot(results, out_dir), lr_batch_plot(results, out_dir)], []
    try:
        written.append(importance_plot(sweep_dir, out_dir))
    except (OSError, ValueError) as err:
        notes.append(f"parameter importances skipped: {str(err).splitlines()[0][:200]}")
    return written, notes

