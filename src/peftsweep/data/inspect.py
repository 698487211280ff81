"""What the model receives: tokens, ``input_ids``, ``token_type_ids`` and ``attention_mask``.

For one text, for a padded batch of two texts (padded by the same ``PaddingCollator``
training uses, so the padding is the real one) and for a sentence pair.
"""

from __future__ import annotations

import pandas as pd

from peftsweep.data.batching import PaddingCollator

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
