"""``peftsweep evaluate DIR [--data data=NAME key=value ...] [--split test] [--file F]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from peftsweep.cli import command_main
from peftsweep.export.evaluate import evaluate
from peftsweep.spec.results import atomic_write_json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="an export folder (peftsweep export)")
    parser.add_argument("--data", nargs="+", metavar="OVERRIDE",
                        help="data config as train overrides: data=rte data.source=files "
                        "data.data_dir=... (default: the model's training data)")
    parser.add_argument("--split", default="test", help="test (default), validation, train, "
                        "or test_<name> (e.g. test_validation_mismatched)")
    parser.add_argument("--file", type=Path, help="a labelled CSV/TSV/JSONL file instead")
    parser.add_argument("--batch-size", type=int, help="default: the trial's evaluation batch")
    parser.add_argument("--device", help="cpu, cuda, ... (default: the GPU if there is one)")
    parser.add_argument("--out", type=Path, help="also write the metrics here as JSON")


def run(args: argparse.Namespace) -> None:
    report = evaluate(args.dir, args.data, args.split, args.file, args.batch_size, args.device)
    for name, value in sorted(report["metrics"].items()):
        print(f"{name}\t{value:.6f}")
    print(f"({report['rows']} rows of {report['data']})", file=sys.stderr)
    if args.out:
        atomic_write_json(args.out, report)


main = command_main("evaluate")
