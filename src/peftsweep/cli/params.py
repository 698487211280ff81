"""``peftsweep params [--sum-layers] [overrides...]``: exact parameter counts of a model.

Takes the same Hydra overrides as ``train`` (``model=bert_tiny data=mnli strategy=lora
strategy.r=2``) and prints, as Markdown: the count of every component, what each strategy
trains, and the closed-form formula checked against the exact count. Nothing is
downloaded: the model is built from ``model.arch`` on the meta device.
"""

from __future__ import annotations

import argparse
import warnings

from peftsweep.cli import command_main
from peftsweep.params.tables import report


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for train")
    parser.add_argument("--sum-layers", action="store_true",
                        help="fold layer.N.* rows into one row per component")


def run(args: argparse.Namespace) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # library deprecation chatter
        text = report(args.overrides, args.sum_layers)
    print(text)


main = command_main("params")
