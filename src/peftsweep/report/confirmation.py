"""The report's confirmation section: a search's best configurations, re-run over seeds.

A search trial runs one seed. With ``search.confirm.top_k=K search.confirm.seeds=S`` the
search re-runs its K best configurations to S seeds; the selection (:mod:`.tables`) then
chooses among the confirmed configurations of each group on their seed mean. This section
shows, per confirmed configuration, the value the search saw at its one seed, the seed
mean with its 95% interval, the test mean, and which one the selection took.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from peftsweep.report.collect import GROUP, HPARAMS, Collection
from peftsweep.report.format import DASH, fmt_count, fmt_init, fmt_interval, fmt_lr, fmt_metric
from peftsweep.report.render import to_markdown
from peftsweep.report.stats import mean_interval
from peftsweep.report.tables import Tables
from peftsweep.spec.layout import SEARCH_SPEC

HEADING = "Confirmation: the search's best configurations over seeds"


class Section(NamedTuple):
    """A report section only a search has: its Markdown, its files, its table for the page."""

    id: str
    heading: str
    markdown: str
    view: pd.DataFrame
    files: list[Path]


def search_settings(sweep_dir: Path) -> dict | None:
    """The settings of the search in ``sweep_dir`` (its latest launch); None for a grid."""
    try:
        return json.loads((Path(sweep_dir) / SEARCH_SPEC).read_text(encoding="utf-8"))["settings"]
    except (OSError, ValueError, KeyError):
        return None


def _cell(ok: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    mask = pd.Series(True, index=ok.index)
    for key in [*GROUP, *HPARAMS]:
        mask &= ok[key].isna() if pd.isna(row[key]) else ok[key] == row[key]
    return ok[mask]


def confirmation_table(collection: Collection, tables: Tables) -> pd.DataFrame:
    """One row per confirmed configuration: the search's value, the seed mean and interval."""
    grid, ok, rows = tables.grid, collection.ok, []
    selected = {tuple(r[k] for k in [*GROUP, *HPARAMS]) for _, r in tables.selection.iterrows()}
    for _, row in grid[grid["confirmed"]].iterrows() if not grid.empty else []:
        trials = _cell(ok, row)
        column = f"val/{row['metric']}"
        first = trials[trials["confirms"].isna()]
        interval = mean_interval(trials[column])
        test = trials.get(f"test/{row['metric']}", pd.Series(dtype=float))
        rows.append({
            **{key: row[key] for key in [*GROUP, *HPARAMS]}, "metric": row["metric"],
            "search_value": first[column].iloc[0] if not first.empty else float("nan"),
            "seeds": interval.n, "val_mean": interval.mean, "val_ci_low": interval.low,
            "val_ci_high": interval.high, "test_mean": test.mean(),
            "selected": tuple(row[k] for k in [*GROUP, *HPARAMS]) in selected})
    columns = [*GROUP, *HPARAMS, "metric", "search_value", "seeds", "val_mean", "val_ci_low",
               "val_ci_high", "test_mean", "selected"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("val_mean", ascending=False) if not frame.empty else frame


def display_confirmation(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "strategy": frame["strategy"].astype(str),
        "init": frame["pretrained"].map(fmt_init),
        "learning rate": frame["lr"].map(fmt_lr),
        "batch size": frame["batch_size"].map(fmt_count),
        "metric": frame["metric"].astype(str),
        "search (1 seed)": frame["search_value"].map(fmt_metric),
        "seeds": frame["seeds"].map(fmt_count),
        "validation mean": frame["val_mean"].map(fmt_metric),
        "95% CI": [fmt_interval(lo, hi) for lo, hi in
                   zip(frame["val_ci_low"], frame["val_ci_high"], strict=True)],
        "test mean": frame["test_mean"].map(fmt_metric),
        "selected": frame["selected"].map(lambda s: "yes" if s else DASH),
    })


def confirmation_note(frame: pd.DataFrame, tables: Tables, settings: dict) -> str:
    """The sentence the section opens with: over how many seeds, and what stays unconfirmed."""
    seeds = settings["confirm"]["seeds"]
    unconfirmed = tables.selection[~tables.selection["confirmed"].astype(bool)]
    text = (f"Selection confirmed over {seeds} seeds: the search re-ran its "
            f"{settings['confirm']['top_k']} best configuration(s) at {seeds} seeds, and in "
            "every group holding a confirmed configuration only confirmed ones compete, on "
            "their seed mean (a point run at one seed cannot win by luck).")
    if not unconfirmed.empty:
        names = ", ".join(sorted(map(str, unconfirmed["strategy"])))
        text += (f" Not confirmed (their selection rests on one seed): {names}.")
    return text


def write_confirmation(sweep_dir: Path, collection: Collection, tables: Tables,
                       out_dir: Path) -> Section | None:
    """The section and its CSV for a confirmed search; None otherwise."""
    settings = search_settings(sweep_dir)
    if not settings or not (settings.get("confirm") or {}).get("top_k"):
        return None
    frame = confirmation_table(collection, tables)
    path = Path(out_dir) / "confirmation.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(frame.to_csv(index=False), encoding="utf-8")
    view = display_confirmation(frame) if not frame.empty else pd.DataFrame()
    body = confirmation_note(frame, tables, settings) if not frame.empty else \
        "_(no configuration confirmed yet: the search has not spent its budget)_"
    return Section("confirmation", HEADING, f"## {HEADING}\n\n{body}\n\n{to_markdown(view)}\n",
                   view, [path])
