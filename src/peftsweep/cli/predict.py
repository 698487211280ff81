"""``peftsweep predict DIR --text T [--pair P]`` or ``--file in.csv [--out out.csv]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from peftsweep.cli import command_main
from peftsweep.export.predict import predict


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="an export folder (peftsweep export)")
    parser.add_argument("--text", help="one text to classify")
    parser.add_argument("--pair", help="its second text, for sentence-pair models")
    parser.add_argument("--file", type=Path, help="CSV/TSV/JSONL with the model's text "
                        "columns (named as in the data config)")
    parser.add_argument("--out", type=Path, help="write predictions here (.csv/.tsv/.jsonl); "
                        "default: CSV on stdout")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: the GPU if there is one)")


def run(args: argparse.Namespace) -> None:
    print(predict(args.dir, args.text, args.pair, args.file, args.out, args.batch_size,
                  args.device))


main = command_main("predict")
