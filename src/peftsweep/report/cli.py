"""``peftsweep-report SWEEP [SWEEP ...]``: print a sweep's tables and write its files.

Exit status 2 means there was nothing to report (a missing folder, or no result
files). Failed or diverged trials are not an error of the report: they are
listed in the gaps table and the exit status stays 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from peftsweep.report.collect import collect
from peftsweep.report.html import write_html
from peftsweep.report.plots import write_plots
from peftsweep.report.render import markdown_report, write_tables
from peftsweep.report.tables import build_tables

PROG = "peftsweep-report"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tables and plots from the result.json files of one or more sweep folders.",
    )
    parser.add_argument("sweeps", nargs="+", type=Path, metavar="SWEEP",
                        help="a sweep folder holding <job dir>/result.json files")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write files (default: <first SWEEP>/report)")
    parser.add_argument("--no-plots", action="store_true",
                        help="write tables only (index.html then has no figures)")
    return parser.parse_args(argv)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [str(path) for path in args.sweeps if not path.is_dir()]
    if missing:
        return _fail(f"no such sweep folder: {', '.join(missing)}")
    collection = collect(args.sweeps)
    if collection.table.empty:
        where = ", ".join(map(str, args.sweeps))
        unusable = f" ({len(collection.problems)} unusable)" if collection.problems else ""
        return _fail(f"no readable result.json under {where}{unusable}")

    tables = build_tables(collection)
    # Files first: a reader piping the tables into `head` must not cost the files.
    out_dir = args.out or args.sweeps[0] / "report"
    written = write_tables(tables, out_dir, trials=collection.table)
    notes: list[str] = []
    pngs: list[Path] = []
    if not args.no_plots:
        pngs, notes = write_plots(collection, tables, out_dir)
        written += pngs
    written.append(write_html(collection, tables, out_dir, pngs, sweeps=args.sweeps,
                              curves=not args.no_plots))
    print(markdown_report(tables))
    for note in notes:
        print(f"note: {note}")
    counts = collection.table["status"].value_counts().to_dict()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{summary}; {len(collection.problems)} unusable file(s)")
    print(f"wrote {len(written)} files to {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
