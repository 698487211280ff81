"""A sweep's whole report at once: tables, plots and index.html into one folder.

What ``peftsweep report`` and :meth:`peftsweep.api.Sweep.report` both do; the command
only prints what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from peftsweep.errors import UserError
from peftsweep.report.collect import Collection, collect
from peftsweep.report.confirmation import Section, write_confirmation
from peftsweep.report.html import write_html
from peftsweep.report.plots import write_plots
from peftsweep.report.render import markdown_report, write_tables
from peftsweep.report.search_front import write_front
from peftsweep.report.search_plots import is_search, write_search_plots
from peftsweep.report.tables import build_tables
from peftsweep.spec.results import atomic_write_text


class Written(NamedTuple):
    out_dir: Path
    files: list[Path]
    markdown: str  # every table, as printed and saved as report.md
    notes: list[str]  # why a figure was left out
    summary: str  # "12 ok, 1 failed; 0 unusable file(s)"


def collect_sweeps(sweeps: Sequence[Path]) -> Collection:
    """Every result of the sweeps; UserError when a folder is missing or holds none."""
    sweeps = [Path(s) for s in sweeps]
    missing = [str(path) for path in sweeps if not path.is_dir()]
    if missing:
        raise UserError(f"SWEEP: no such sweep folder: {', '.join(missing)}")
    collection = collect(sweeps)
    if collection.table.empty:
        unusable = f" ({len(collection.problems)} unusable)" if collection.problems else ""
        raise UserError(f"SWEEP: no readable result.json under "
                        f"{', '.join(map(str, sweeps))}{unusable}")
    return collection


def write_report(sweeps: Sequence[Path], out_dir: Path | None = None, plots: bool = True,
                 collection: Collection | None = None) -> Written:
    """Write the report of ``sweeps`` into ``out_dir`` (default ``<first sweep>/report``)."""
    sweeps = [Path(s) for s in sweeps]
    collection = collection if collection is not None else collect_sweeps(sweeps)
    tables = build_tables(collection)
    out_dir = Path(out_dir) if out_dir else sweeps[0] / "report"
    written = write_tables(tables, out_dir, trials=collection.table)
    notes: list[str] = []
    pngs: list[Path] = []
    if plots:
        pngs, notes = write_plots(collection, tables, out_dir)
        if is_search(sweeps[0]):  # a search also gets its progress and importances
            search_pngs, search_notes = write_search_plots(sweeps[0], out_dir)
            pngs, notes = pngs + search_pngs, notes + search_notes
    markdown = markdown_report(tables)
    sections = _search_sections(sweeps[0], collection, tables, out_dir, plots) \
        if is_search(sweeps[0]) else []  # confirmation over seeds, the Pareto front of a cost
    if sections:
        markdown += "".join(f"\n{section.markdown}" for section in sections)
        atomic_write_text(out_dir / "report.md", markdown)
        files = [path for section in sections for path in section.files]
        written += [path for path in files if path.suffix != ".png"]
        pngs += [path for path in files if path.suffix == ".png"]
    written += pngs
    extra = [(section.id, section.heading, section.view) for section in sections]
    written.append(write_html(collection, tables, out_dir, pngs, sweeps=sweeps, curves=plots,
                              extra=extra))
    counts = collection.table["status"].value_counts().to_dict()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return Written(out_dir, written, markdown, notes,
                   f"{summary}; {len(collection.problems)} unusable file(s)")


def _search_sections(sweep: Path, collection: Collection, tables, out_dir: Path,
                     plots: bool) -> list[Section]:
    found = (write_confirmation(sweep, collection, tables, out_dir),
             write_front(sweep, out_dir, plots))
    return [section for section in found if section is not None]
