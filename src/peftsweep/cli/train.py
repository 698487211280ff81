"""``peftsweep train [-m] key=value ...``: exactly what ``python train.py`` takes."""

from __future__ import annotations

import argparse

from peftsweep.cli import command_main
from peftsweep.sweep.launch import run


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. -m strategy=lora,"
                        "bitfit lr=3e-4,1e-4 (peftsweep train --help shows Hydra's help)")


def run_train(argv: list[str]) -> int:
    return run(argv)


main = command_main("train")
