"""``peftsweep export SWEEP [--trial T] [--seed N] [--out DIR] [--merge] [--register NAME]``.

Without ``--trial``: one export per (model, data, strategy, initialisation) group of the
report's selection, at its best seed (or ``--seed``), each in
``<out>/<model>-<data>-<job folder>`` (default out: ``<SWEEP>/export``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from peftsweep.api import load_sweep
from peftsweep.cli import command_main


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", type=Path, help="sweep folder (multirun/<date>/<time>)")
    parser.add_argument("--trial", help="one trial: job folder, its name, or identity prefix")
    parser.add_argument("--seed", type=int, help="export this seed of each selected "
                        "configuration instead of its best seed")
    parser.add_argument("--out", type=Path, help="parent folder of the exports "
                        "(default: SWEEP/export)")
    parser.add_argument("--merge", action="store_true", help="also write merged/: an "
                        "adapter folded into a plain transformers model (LoRA, IA3)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing exports")
    parser.add_argument("--register", metavar="NAME", help="also log the export to MLflow "
                        "and register it as a new version of NAME, the selection's evidence "
                        "as tags (one export: a single selected setup, or --trial)")
    parser.add_argument("--tracking-uri", help="MLflow tracking/registry server for "
                        "--register (default: the trial's logger.mlflow.tracking_uri, else "
                        "the sweep's own SWEEP/mlflow.db)")


def run(args: argparse.Namespace) -> None:
    sweep = load_sweep(args.sweep)
    for folder in sweep.export(args.trial, args.seed, args.out, args.merge, args.overwrite,
                               args.register, args.tracking_uri):
        print(folder)


main = command_main("export")
