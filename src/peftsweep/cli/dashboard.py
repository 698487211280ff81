"""``peftsweep dashboard SWEEP``: optuna-dashboard on a search sweep's study, live."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from peftsweep.cli import command_main
from peftsweep.study.dashboard import serve


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", type=Path, help="the folder of a hydra/sweeper=search sweep")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")


def run(args: argparse.Namespace) -> None:
    try:
        serve(args.sweep, args.host, args.port,
              announce=lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:  # Ctrl-C is how it is meant to stop
        pass


main = command_main("dashboard")
