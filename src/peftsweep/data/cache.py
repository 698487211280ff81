"""Tokenize once per (source, tokenizer, max length, split policy); share across trials.

The tokenized splits live in ``<cache_dir>/tokenized/<key>/``. The key hashes
the data config, the content of local files and the tokenizer's full
definition, so a changed file or tokenizer gets a new entry. A file lock plus
write-to-temp-and-rename keeps concurrent trials from corrupting an entry;
``tokenize.log`` gets one line per tokenization actually performed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import datasets
from filelock import FileLock

from peftsweep.data.sources import fingerprint_files, load_raw, split_files
from peftsweep.data.splits import select_splits
from peftsweep.spec.config import DataConfig, task_spec

CACHE_FORMAT = 1


def tokenizer_fingerprint(tokenizer) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        definition = json.loads(backend.to_str())
        # Truncation and padding are call-time state that each encode call changes.
        definition.pop("truncation", None)
        definition.pop("padding", None)
    else:
        definition = tokenizer.get_vocab()
    text = json.dumps(definition, sort_keys=True)
    extra = f"{type(tokenizer).__name__}|{tokenizer.padding_side}|{tokenizer.truncation_side}"
    return hashlib.sha256((text + extra).encode()).hexdigest()


def cache_key(data: DataConfig, tokenizer) -> str:
    spec = dataclasses.asdict(data)
    spec.pop("name")
    files = fingerprint_files(split_files(data)) if data.source == "files" else {}
    payload = {"format": CACHE_FORMAT, "data": spec, "files": files,
               "tokenizer": tokenizer_fingerprint(tokenizer)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def _tokenize(splits: datasets.DatasetDict, data: DataConfig, tokenizer) -> datasets.DatasetDict:
    fields = task_spec(data).text_fields

    def encode(batch):
        texts = [[value or "" for value in batch[f]] for f in fields]
        encoded = tokenizer(*texts, truncation=True, max_length=data.max_length)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    return splits.map(encode, batched=True, batch_size=1000, remove_columns=list(fields),
                      keep_in_memory=True, desc=None)


datasets.disable_progress_bars()


def prepare(data: DataConfig, tokenizer, cache_dir: str | Path) -> datasets.DatasetDict:
    """Tokenized train/validation/test splits, built on first use and read from disk after."""
    root = Path(cache_dir) / "tokenized"
    root.mkdir(parents=True, exist_ok=True)
    key = cache_key(data, tokenizer)
    final = root / key
    with FileLock(str(root / f"{key}.lock")):
        if not (final / "dataset_dict.json").exists():
            _build(data, tokenizer, root, key)
    return datasets.load_from_disk(str(final))


def _build(data: DataConfig, tokenizer, root: Path, key: str) -> None:
    splits = select_splits(load_raw(data), data, task_spec(data))
    tokenized = _tokenize(splits, data, tokenizer)
    staging = root / f".{key}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    tokenized.save_to_disk(str(staging))
    os.replace(staging, root / key)
    with open(root / "tokenize.log", "a", encoding="utf-8") as log:
        log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {key} {data.name} "
                  f"max_length={data.max_length} rows={ {s: len(d) for s, d in splits.items()} }\n")


def tokenization_count(cache_dir: str | Path) -> int:
    log = Path(cache_dir) / "tokenized" / "tokenize.log"
    return len(log.read_text().splitlines()) if log.exists() else 0
