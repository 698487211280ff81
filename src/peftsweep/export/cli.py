"""``peftsweep-export SWEEP [--trial T] [--seed N] [--out DIR] [--merge]``.

Without ``--trial``: one export per (model, data, strategy, initialisation)
group of the report's selection, at its best seed (or ``--seed``). Each lands
in ``<out>/<model>-<data>-<job folder>`` (default out: ``<SWEEP>/export``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from peftsweep.errors import UserError
from peftsweep.export.command import run_command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peftsweep-export", description=__doc__.split("\n")[2])
    parser.add_argument("sweep", type=Path, help="sweep folder (multirun/<date>/<time>)")
    parser.add_argument("--trial", help="one trial: job folder, its name, or identity prefix")
    parser.add_argument("--seed", type=int, help="export this seed of each selected "
                        "configuration instead of its best seed")
    parser.add_argument("--out", type=Path, help="parent folder of the exports "
                        "(default: SWEEP/export)")
    parser.add_argument("--merge", action="store_true", help="also write merged/: an "
                        "adapter folded into a plain transformers model (LoRA, IA3)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing exports")
    return parser


def export_folder_name(chosen) -> str:
    science = chosen.result["science"]
    return f"{science['model']}-{science['data']}-{chosen.job_dir.name}"


def run(args: argparse.Namespace) -> list[Path]:
    from peftsweep.export import selection
    from peftsweep.export.writer import write_export

    if args.trial and args.seed is not None:
        raise UserError("--seed: a named trial has its own seed; give --trial or --seed")
    if args.trial:
        if not args.sweep.is_dir():
            raise UserError(f"SWEEP: no such sweep folder: {args.sweep}")
        chosen = [selection.named(args.sweep, args.trial)]
    else:
        chosen = selection.selected(args.sweep, args.seed)
    from peftsweep.export.loading import quiet

    quiet()
    out = args.out or args.sweep / "export"
    written = []
    for one in chosen:
        folder = write_export(one, out / export_folder_name(one), args.merge, args.overwrite)
        print(folder)
        written.append(folder)
    return written


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
