"""``peftsweep report SWEEP [SWEEP ...]``: print a sweep's tables and write its files.

Exit status 2 means there was nothing to report (a missing folder, or no result files).
Failed or diverged trials are not an error of the report: they are listed in the gaps
table and the exit status stays 0.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from peftsweep.cli import command_main
from peftsweep.report.write import write_report


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweeps", nargs="+", type=Path, metavar="SWEEP",
                        help="a sweep folder holding <job dir>/result.json files")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write files (default: <first SWEEP>/report)")
    parser.add_argument("--no-plots", action="store_true",
                        help="write tables only (index.html then has no figures)")


def run(args: argparse.Namespace) -> None:
    written = write_report(args.sweeps, args.out, plots=not args.no_plots)
    print(written.markdown)
    for note in written.notes:
        print(f"note: {note}")
    print(written.summary)
    print(f"wrote {len(written.files)} files to {written.out_dir}")


main = command_main("report")
