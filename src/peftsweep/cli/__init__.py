"""``peftsweep <command>``: argument parsing only; every command calls the library.

Each command is a module here with ``configure(parser)``, ``run(args)`` and
``main = command_main("<command>")``, the entry of the ``peftsweep-<command>`` script (an
alias of ``peftsweep <command>``). Only the module of the command being run is imported, so
``peftsweep status`` starts without torch. ``train`` hands its arguments to Hydra unparsed:
it takes exactly what ``python train.py`` takes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from peftsweep.cli.common import run_command

# One line each for `peftsweep --help`, in the order it lists them.
COMMANDS = {
    "train": "run a trial, a grid (-m key=a,b) or a search (-m hydra/sweeper=search)",
    "report": "tables, statistics, plots and index.html of one or more sweep folders",
    "status": "each trial of a running or finished sweep (done, running, ...) and the ETA",
    "dashboard": "optuna-dashboard on a search sweep's study, in the browser, live",
    "export": "the selected models of a sweep (or one trial) as Hugging Face folders",
    "predict": "labels and probabilities from an export, for a text or a file",
    "evaluate": "the task's metrics of an export on labelled data (default: its test split)",
    "params": "exact parameter counts of a model: by component, per strategy, closed form",
    "inspect": "what the model receives: tokens, input_ids, token_type_ids, attention_mask",
}


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s own arguments are declared (its module imported)."""
    top = argparse.ArgumentParser(prog="peftsweep", description="Sweeps for fine-tuning "
                                  "BERT-family classifiers, their reports and their models.")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_line in COMMANDS.items():
        sub = commands.add_parser(name, help=help_line, description=help_line)
        if name == command:
            _module(name).configure(sub)
    return top


def _module(name: str):
    return importlib.import_module(f"peftsweep.cli.{name}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:  # Hydra parses these itself
        return _module("train").run_train(argv[1:])
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = parser(command).parse_args(argv)
    return run_command(lambda: _module(args.command).run(args))


def command_main(name: str) -> Callable[[list[str] | None], int]:
    """``peftsweep <name> ARGV``, as one function (the ``peftsweep-<name>`` scripts)."""

    def command(argv: list[str] | None = None) -> int:
        return main([name, *(sys.argv[1:] if argv is None else argv)])

    return command
