"""PNG figures of a sweep: learning curves, the lr x batch-size grid, test vs parameters.

Figures are drawn on Agg canvases directly (no pyplot), so the report works on a
headless node and leaves no global figure state behind. A plot whose data is
absent is skipped with a note, never an exception: a partial sweep still gets
the figures it can support.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullFormatter

from peftsweep.report.collect import Collection
from peftsweep.report.format import fmt_count, fmt_init, fmt_lr
from peftsweep.report.tables import Tables, selected_trials

INIT_COLOURS = {"pretrained": "tab:blue", "random": "tab:orange", "–": "tab:gray"}
# Perceptually uniform and readable in grey; numbers big enough to read at page width.
HEATMAP_CMAP = "cividis"
HEATMAP_FONT = 12
SEED_STYLES = ("-", "--", ":", "-.")


def write_plots(
    collection: Collection, tables: Tables, out_dir: Path
) -> tuple[list[Path], list[str]]:
    """Draw every figure the data allows; return the PNG paths and notes on skipped ones."""
    written: list[Path] = []
    notes: list[str] = []
    for draw in (curve_plots, heatmap_plots, params_plots):
        paths, skipped = draw(collection, tables, Path(out_dir))
        written += paths
        notes += skipped
    return written, notes


def _figure(panels: int, width: float = 4.8, height: float = 3.6):
    fig = Figure(figsize=(width * panels, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, panels, squeeze=False)[0]


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def _slug(*parts) -> str:
    """A file-name-safe join of the parts; a part with nothing usable (e.g. '–') becomes 'na'."""
    cleaned = (re.sub(r"[^A-Za-z0-9.-]+", "-", str(part)).strip("-") for part in parts)
    return "_".join(part or "na" for part in cleaned)


def _has_point(entry: dict, key: str) -> bool:
    return entry.get("step") is not None and entry.get(key) is not None


def _curve_lines(collection: Collection, tables: Tables) -> list[dict]:
    """The validation curve of each seed at the selected hyper-parameters."""
    lines = []
    for chosen, trials in selected_trials(collection, tables.selection):
        key = f"validation/{chosen['metric']}"
        for _, trial in trials.sort_values("seed").iterrows():
            history = collection.histories.get(trial["identity"], [])
            points = [(h["step"], h[key]) for h in history if _has_point(h, key)]
            if points:
                steps, values = zip(*sorted(points), strict=True)
                lines.append({**chosen.to_dict(), "seed": trial["seed"], "steps": steps,
                              "values": values, "best_step": trial["best_step"]})
    return lines


def curve_plots(collection: Collection, tables: Tables, out_dir: Path):
    """One figure per data set, one panel per (model, strategy); pretrained vs random by colour."""
    lines = _curve_lines(collection, tables)
    if not lines:
        return [], ["curves: no validation history at the selected hyper-parameters; skipped"]
    written = []
    for data in dict.fromkeys(line["data"] for line in lines):
        subset = [line for line in lines if line["data"] == data]
        panels = list(dict.fromkeys((line["model"], line["strategy"]) for line in subset))
        several_models = len({model for model, _ in panels}) > 1
        fig, axes = _figure(len(panels))
        for ax, (model, strategy) in zip(axes, panels, strict=True):
            seeds: dict = {}
            for line in subset:
                if (line["model"], line["strategy"]) != (model, strategy):
                    continue
                init = fmt_init(line["pretrained"])
                style = SEED_STYLES[seeds.setdefault(line["seed"], len(seeds)) % len(SEED_STYLES)]
                ax.plot(line["steps"], line["values"], style, color=INIT_COLOURS[init],
                        marker=".", label=f"{init}, seed {fmt_count(line['seed'])}")
            ax.set_title(f"{model} · {strategy}" if several_models else str(strategy))
            ax.set_xlabel("step")
            ax.set_ylabel(f"validation {subset[0]['metric']}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
        fig.suptitle(f"{data}: validation curves at the selected hyper-parameters")
        written.append(_save(fig, out_dir / f"curves_{_slug(data)}.png"))
    return written, []


def heatmap_plots(collection: Collection, tables: Tables, out_dir: Path):
    """Mean validation metric over lr x batch size; one figure per (model, data, init)."""
    grid = tables.grid.dropna(subset=["val_mean"])
    if grid.empty:
        return [], ["heatmap: no finished trials with a validation metric; skipped"]
    written = []
    for (model, data, init), cells in grid.groupby(
        ["model", "data", grid["pretrained"].map(fmt_init)], dropna=False, sort=False
    ):
        strategies = list(dict.fromkeys(cells["strategy"]))
        fig, axes = _figure(len(strategies), width=4.2)
        vmin, vmax = cells["val_mean"].min(), cells["val_mean"].max()
        image = None
        for ax, strategy in zip(axes, strategies, strict=True):
            image = _heatmap_panel(ax, cells[cells["strategy"] == strategy], tables, vmin, vmax)
            ax.set_title(str(strategy), fontsize=HEATMAP_FONT + 1)
        bar = fig.colorbar(image, ax=list(axes))
        bar.set_label(f"mean validation {cells['metric'].iloc[0]}", fontsize=HEATMAP_FONT)
        bar.ax.tick_params(labelsize=HEATMAP_FONT - 2)
        fig.suptitle(f"{data} · {model} · {init}: mean over seeds (box = selected)",
                     fontsize=HEATMAP_FONT + 1)
        written.append(_save(fig, out_dir / f"heatmap_{_slug(data, model, init)}.png"))
    return written, []


def _heatmap_panel(ax, cells: pd.DataFrame, tables: Tables, vmin: float, vmax: float):
    pivot = cells.pivot_table(index="lr", columns="batch_size", values="val_mean", aggfunc="mean")
    pivot = pivot.sort_index().sort_index(axis=1)
    image = ax.imshow(pivot.to_numpy(dtype=float), aspect="auto", cmap=HEATMAP_CMAP,
                      vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1e-9)
    ax.set_xticks(range(len(pivot.columns)), [fmt_count(bs) for bs in pivot.columns])
    ax.set_yticks(range(len(pivot.index)), [fmt_lr(lr) for lr in pivot.index])
    ax.tick_params(labelsize=HEATMAP_FONT - 1)
    ax.set_xlabel("batch size", fontsize=HEATMAP_FONT)
    ax.set_ylabel("learning rate", fontsize=HEATMAP_FONT)
    for (i, j), value in np.ndenumerate(pivot.to_numpy(dtype=float)):
        if not np.isnan(value):
            ink = cell_ink(image.cmap(image.norm(value)))
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=HEATMAP_FONT,
                    fontweight="bold", color=ink, path_effects=[patheffects.withStroke(
                        linewidth=2.5, foreground="white" if ink == "black" else "black",
                        alpha=0.35)])
    chosen = _chosen_cell(cells, tables.selection)
    if chosen is not None and chosen[0] in pivot.index and chosen[1] in pivot.columns:
        i, j = pivot.index.get_loc(chosen[0]), pivot.columns.get_loc(chosen[1])
        # Black under white: the box stands out on the dark and the bright end alike.
        for colour, width in (("black", 5), ("white", 2.5)):
            ax.add_patch(Rectangle((j - 0.46, i - 0.46), 0.92, 0.92, fill=False,
                                   edgecolor=colour, linewidth=width))
    return image


def cell_ink(rgba) -> str:
    """Black or white, whichever contrasts more with a cell of colour ``rgba`` (WCAG)."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in rgba[:3])
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    # Contrast with black is (L + .05) / .05, with white 1.05 / (L + .05): equal at L ~ .179.
    return "black" if luminance > 0.179 else "white"


def _chosen_cell(cells: pd.DataFrame, selection: pd.DataFrame):
    first = cells.iloc[0]
    mask = pd.Series(True, index=selection.index)
    for key in ("model", "data", "strategy", "pretrained"):
        value = first[key]
        mask &= selection[key].isna() if pd.isna(value) else selection[key] == value
    rows = selection[mask]
    return None if rows.empty else (rows["lr"].iloc[0], rows["batch_size"].iloc[0])


def params_plots(collection: Collection, tables: Tables, out_dir: Path):
    """Test metric (mean and 95% interval over seeds, or ± std where there is no interval)
    against trainable parameters, log x, the Pareto front drawn as a line; one per data."""
    points = tables.pareto.dropna(subset=["mean", "params_trainable"])
    points = points[points["params_trainable"] > 0]
    if points.empty:
        return [], ["test vs parameters: no test metric with a parameter count; skipped"]
    written = []
    for data, subset in points.groupby("data", dropna=False, sort=False):
        several_models = subset["model"].nunique(dropna=False) > 1
        several_inits = subset["pretrained"].nunique(dropna=False) > 1
        fig, (ax,) = _figure(1, width=6.4, height=4.4)
        for index, (_, point) in enumerate(subset.iterrows()):
            label = str(point["strategy"])
            if several_models:
                label = f"{point['model']} · {label}"
            if several_inits:
                label = f"{label} ({fmt_init(point['pretrained'])})"
            ax.errorbar(point["params_trainable"], point["mean"], yerr=_bar(point, tables),
                        fmt="D" if point["on_front"] else "o", capsize=4,
                        color=f"C{index % 10}", label=label)
        scopes = subset.groupby(["model", "pretrained"], dropna=False, sort=False)
        for number, (_, scope) in enumerate(scopes):
            front = scope[scope["on_front"]].sort_values("params_trainable")
            # A step line: each front point holds until a costlier one does better.
            ax.step(front["params_trainable"], front["mean"], where="post", color="black",
                    linewidth=1, alpha=0.6, label="Pareto front" if number == 0 else None)
        ax.set_xscale("log")
        # Labelled minor ticks collide on a log axis spanning a decade or two.
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("trainable parameters")
        ax.set_ylabel(f"test {subset['metric'].iloc[0]} (mean, 95% interval)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")
        ax.set_title(f"{data}: test metric vs trainable parameters (◆ on the front)")
        written.append(_save(fig, out_dir / f"test_vs_params_{_slug(data)}.png"))
    return written, []


def _bar(point: pd.Series, tables: Tables):
    """Asymmetric error bar from the interval; the seeds' std where there is no interval."""
    if not pd.isna(point["ci_low"]):
        return [[point["mean"] - point["ci_low"]], [point["ci_high"] - point["mean"]]]
    test = tables.test
    row = test[(test["strategy"] == point["strategy"]) & (test["model"] == point["model"]) &
               (test["data"] == point["data"])]
    std = row[f"test/{point['metric']} std"].iloc[0] if not row.empty else np.nan
    return 0.0 if pd.isna(std) else float(std)


def trial_curve_png(history: list[dict], metric: str, best_step=None) -> bytes | None:
    """One trial's validation curve as PNG bytes (for the HTML report); None without points.

    A fixed layout rather than a constrained one: a sweep has hundreds of trials, and
    the layout solver would double the time per figure.
    """
    key = f"validation/{metric}"
    points = sorted((h["step"], h[key]) for h in history if _has_point(h, key))
    if not points:
        return None
    steps, values = zip(*points, strict=True)
    fig = Figure(figsize=(5.0, 2.8))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.17, top=0.9)
    ax = fig.add_subplot()
    ax.plot(steps, values, "-", marker=".", color="tab:blue")
    title = f"validation {metric}"
    if best_step is not None and not pd.isna(best_step):
        ax.axvline(best_step, color="tab:red", linestyle="--", linewidth=1)
        title += f" (dashed: best step {fmt_count(best_step)})"
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()
