"""The report's Pareto front of a cost-aware search (``search.cost=...``).

The study had two objectives: the validation metric (maximised) and the cost (trainable
parameters, training seconds or peak memory; minimised). The front is every trial of the
search that no other beats on both, as Optuna's ``study.best_trials`` holds it, but read
from the result files (:func:`peftsweep.report.pareto.front`). Confirmation trials are
left out: the study scored each configuration at its first seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from peftsweep.report.confirmation import Section, search_settings
from peftsweep.report.format import fmt_count, fmt_lr, fmt_metric
from peftsweep.report.pareto import on_front
from peftsweep.report.render import to_markdown
from peftsweep.report.search_plots import best_value
from peftsweep.spec.results import CorruptResult, iter_result_paths, read_result
from peftsweep.spec.search import COSTS, cost_value

HEADING = "Pareto front: validation metric against cost"


def trade_off_table(sweep_dir: Path, cost: str) -> pd.DataFrame:
    """Every finished trial of the search with its metric and cost, and whether it is on
    the front."""
    rows = []
    for path in iter_result_paths(sweep_dir):
        try:
            result = read_result(path)
        except CorruptResult:
            continue
        search = result.get("search") or {}
        if result["status"] != "ok" or not search or search.get("confirms") is not None:
            continue
        science = result["science"]
        rows.append({"job_dir": path.parent.name, "trial": search.get("trial"),
                     "strategy": science["strategy"], "lr": science["lr"],
                     "batch_size": science["batch_size"], "metric": result["metric"]["name"],
                     "value": best_value(result), "cost": cost_value(result, cost)})
    frame = pd.DataFrame(rows, columns=["job_dir", "trial", "strategy", "lr", "batch_size",
                                        "metric", "value", "cost"])
    frame["on_front"] = on_front(frame, "value", "cost") if not frame.empty else []
    return frame.sort_values(["cost", "value"], ascending=[True, False])


def _cost_text(value: float, cost: str) -> str:
    if cost == "trainable_params":
        return fmt_count(value)
    if cost == "peak_memory":
        return f"{value / 2**20:,.0f} MiB"
    return f"{value:.1f} s"


def display_front(frame: pd.DataFrame, cost: str) -> pd.DataFrame:
    front = frame[frame["on_front"]]
    return pd.DataFrame({
        "trial": front["trial"].map(fmt_count),
        "strategy": front["strategy"].astype(str),
        "learning rate": front["lr"].map(fmt_lr),
        "batch size": front["batch_size"].map(fmt_count),
        "metric": front["metric"].astype(str),
        "validation": front["value"].map(fmt_metric),
        COSTS[cost]: [_cost_text(v, cost) for v in front["cost"]],
    })


def front_plot(frame: pd.DataFrame, cost: str, out_dir: Path) -> Path:
    fig = Figure(figsize=(5.0, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    rest, front = frame[~frame["on_front"]], frame[frame["on_front"]]
    ax.scatter(rest["cost"], rest["value"], color="tab:gray", s=25, label="trials")
    ax.step(front["cost"], front["value"], where="post", color="tab:blue", marker="o",
            label="Pareto front")
    if cost == "trainable_params" and frame["cost"].min() > 0 and \
            np.ptp(np.log10(frame["cost"].astype(float))) > 1:
        ax.set_xscale("log")
    ax.set_xlabel(f"{COSTS[cost]} (minimised)")
    ax.set_ylabel(f"best validation {frame['metric'].iloc[0]}")
    ax.legend(loc="best", fontsize="small")
    path = Path(out_dir) / "search_pareto.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def write_front(sweep_dir: Path, out_dir: Path, plots: bool = True) -> Section | None:
    """The section, its CSV and its figure for a cost-aware search; None otherwise."""
    settings = search_settings(sweep_dir)
    cost = (settings or {}).get("cost")
    if not cost:
        return None
    frame = trade_off_table(sweep_dir, cost)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "pareto.csv"]
    written[0].write_text(frame.to_csv(index=False), encoding="utf-8")
    if frame.empty:
        return Section("pareto", HEADING, f"## {HEADING}\n\n_(no finished trial yet)_\n",
                       pd.DataFrame(), written)
    if plots:
        written.append(front_plot(frame, cost, out_dir))
    intro = (f"{int(frame['on_front'].sum())} of {len(frame)} finished trials are on the "
             f"front: no other trial has a higher validation {frame['metric'].iloc[0]} at no "
             f"more {COSTS[cost]}.")
    view = display_front(frame, cost)
    return Section("pareto", HEADING, f"## {HEADING}\n\n{intro}\n\n{to_markdown(view)}\n",
                   view, written)
