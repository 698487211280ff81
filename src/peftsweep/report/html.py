"""The HTML report: one self-contained ``index.html`` beside the Markdown, CSV and LaTeX.

Everything the page shows is inside the file: the tables, every plot as a
base64 PNG, the stylesheet and the small script that sorts a table when its
header is clicked. It loads nothing from anywhere, so it can be mailed, archived
or opened on a cluster's login node. Every value goes through Jinja2's
autoescaping: a model name or an error message cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jinja2
import pandas as pd

from peftsweep.report.collect import Collection
from peftsweep.report.render import SECTIONS, TEXT_COLUMNS, display
from peftsweep.report.tables import Tables
from peftsweep.report.trial_pages import anchor, overview, png_data_uri, trial_pages
from peftsweep.spec.results import atomic_write_text

INDEX = "index.html"
TEMPLATE = "index.html.j2"
# What each family of figure file shows, by its name's prefix.
FIGURE_CAPTIONS = {
    "curves_": "Validation curves of each seed at the selected hyper-parameters",
    "heatmap_": "Mean validation metric over learning rate × batch size (box: selected)",
    "test_vs_params_": "Test metric (mean and 95% interval) against trainable parameters; "
                       "line: the Pareto front",
    "search_pareto": "Pareto front of the search: validation metric against its cost",
}


class Cell(NamedTuple):
    text: str
    href: str | None = None


class HtmlTable(NamedTuple):
    id: str
    heading: str
    columns: list[str]
    numeric: list[bool]
    rows: list[list[Cell]]


class Figure(NamedTuple):
    name: str
    caption: str
    src: str


def _table(table_id: str, heading: str, view: pd.DataFrame,
           links: list[str] | None = None) -> HtmlTable:
    """A display frame as HTML cells; `links` puts an anchor on each row's first cell."""
    columns = list(view.columns)
    rows = []
    for index, values in enumerate(view.itertuples(index=False, name=None)):
        cells = [Cell(str(value)) for value in values]
        if links:
            cells[0] = Cell(cells[0].text, f"#{links[index]}")
        rows.append(cells)
    numeric = [column not in TEXT_COLUMNS for column in columns]
    return HtmlTable(table_id, heading, columns, numeric, rows)


def _per_seed(tables: Tables, collection: Collection) -> HtmlTable:
    """The per-seed table, led by a column that links each row to its trial's section."""
    frame = tables.per_seed
    view = display("per_seed", frame)
    if frame.empty:
        return _table("per_seed", SECTIONS["per_seed"], view)
    folders = dict(zip(collection.table["identity"], collection.table["job_dir"], strict=True))
    view.insert(0, "trial", [folders.get(identity, identity) for identity in frame["identity"]])
    links = [anchor(identity) for identity in frame["identity"]]
    return _table("per_seed", SECTIONS["per_seed"], view, links)


def report_tables(tables: Tables, collection: Collection,
                  extra: Sequence[tuple[str, str, pd.DataFrame]] = ()) -> list[HtmlTable]:
    """The report's tables; ``extra``: (id, heading, display frame) of a search's sections."""
    out = []
    for name, heading in SECTIONS.items():
        if name == "per_seed":
            out.append(_per_seed(tables, collection))
        else:
            out.append(_table(name, heading, display(name, getattr(tables, name))))
    out += [_table(table_id, heading, view) for table_id, heading, view in extra]
    trials, links = overview(collection)
    out.append(_table("trials", "Trials: every result file, linked to its config and curve",
                      trials, links))
    return out


def figures(pngs: list[Path]) -> list[Figure]:
    out = []
    for path in sorted(pngs, key=lambda p: p.name):
        caption = next((text for prefix, text in FIGURE_CAPTIONS.items()
                        if path.name.startswith(prefix)), path.stem)
        out.append(Figure(path.name, caption, png_data_uri(Path(path).read_bytes())))
    return out


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("peftsweep.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )


def render_html(collection: Collection, tables: Tables, pngs: list[Path], *,
                sweeps: list[Path], curves: bool = True,
                extra: Sequence[tuple[str, str, pd.DataFrame]] = ()) -> str:
    counts = collection.table["status"].value_counts().to_dict()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return _environment().get_template(TEMPLATE).render(
        title="peftsweep report: " + ", ".join(map(str, sweeps)),
        sweeps=[str(s) for s in sweeps],
        summary=f"{summary}; {len(collection.problems)} unusable file(s)",
        tables=report_tables(tables, collection, extra),
        figures=figures(pngs),
        trials=trial_pages(collection, curves=curves),
    )


def write_html(collection: Collection, tables: Tables, out_dir: Path, pngs: list[Path], *,
               sweeps: list[Path], curves: bool = True,
               extra: Sequence[tuple[str, str, pd.DataFrame]] = ()) -> Path:
    """Write ``out_dir/index.html`` and return its path."""
    path = Path(out_dir) / INDEX
    atomic_write_text(path, render_html(collection, tables, pngs, sweeps=sweeps, curves=curves,
                                        extra=extra))
    return path
