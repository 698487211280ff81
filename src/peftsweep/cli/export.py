"""``peftsweep export SWEEP [--trial T] [--seed N] [--out DIR] [--merge]``.

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


def run(args: argparse.Namespace) -> None:
    sweep = load_sweep(args.sweep)
    for folder in sweep.export(args.trial, args.seed, args.out, args.merge, args.overwrite):
        print(folder)


main = command_main("export")
