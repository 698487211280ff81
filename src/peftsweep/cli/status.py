"""``peftsweep status SWEEP``: where every trial of a sweep stands, and the ETA.

It reads the sweep folder through :mod:`peftsweep.sweep.status` directly rather than the
library face, which loads torch: status is what people run on a login node, every minute.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from peftsweep.cli import command_main
from peftsweep.sweep.status import render, sweep_status


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", type=Path, help="the sweep folder (holds plan.json)")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def run(args: argparse.Namespace) -> None:
    status = sweep_status(args.sweep)
    print(json.dumps(status, indent=2) if args.json else render(status))


main = command_main("status")
