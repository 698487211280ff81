"""Raw data sources: the built-in demo, a hub dataset, or local CSV/TSV/JSONL files.

Every source ends as a ``DatasetDict`` of raw splits with the task's text
columns and an integer (or float, for regression) ``labels`` column.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import datasets

from peftsweep.errors import DataError, dataset_hint
from peftsweep.spec import demo_task as demo
from peftsweep.spec.config import DataConfig, task_spec

FILE_FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json"}
SPLIT_FILE_STEMS = {"train": ("train",), "validation": ("validation", "dev"), "test": ("test",)}


def split_files(data: DataConfig) -> dict[str, Path]:
    """The local file of each split, from explicit paths or found in data.data_dir."""
    files = {}
    if data.data_dir:
        for path in sorted(Path(data.data_dir).iterdir()):
            for split, stems in SPLIT_FILE_STEMS.items():
                if path.stem in stems and path.suffix in FILE_FORMATS:
                    files.setdefault(split, path)
    for split in ("train", "validation", "test"):
        explicit = getattr(data, f"{split}_file")
        if explicit:
            files[split] = Path(explicit)
    for split, path in files.items():
        if not path.is_file():
            raise DataError(f"data.{split}_file: no such file: {path}")
        if path.suffix not in FILE_FORMATS:
            raise DataError(f"data.{split}_file: unknown format {path.suffix!r} "
                            f"(allowed: {', '.join(FILE_FORMATS)})")
    if "train" not in files:
        raise DataError(f"data.data_dir: no train file (train.csv/.tsv/.jsonl) in {data.data_dir}")
    return files


def fingerprint_files(files: dict[str, Path]) -> dict[str, str]:
    digests = {}
    for split, path in sorted(files.items()):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digests[split] = digest.hexdigest()
    return digests


def _load_file(path: Path, data: DataConfig) -> datasets.Dataset:
    builder = FILE_FORMATS[path.suffix]
    with open(path, "rb") as handle:
        start = handle.read(4096)
    if not start.strip(b" \t\r\n\xef\xbb\xbf"):  # blank, or a byte-order mark alone
        raise DataError(f"data: {path} is empty (no header, no rows): a {path.suffix} file "
                        "needs at least one row" + (" after its header" if builder == "csv"
                                                    else ""))
    kwargs = {}
    if path.suffix == ".tsv":
        # GLUE TSVs contain bare quote characters: read them literally.
        kwargs = {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
    if builder == "csv" and data.column_names:
        kwargs.update(column_names=list(data.column_names), header=None)
    try:
        loaded = datasets.load_dataset(builder, data_files={"split": str(path)}, split="split",
                                       **kwargs)
    except Exception as err:  # noqa: BLE001 - any parse failure is the file's fault
        if "corresponds to no data" in str(err):
            raise DataError(f"data: {path} is empty (no rows)") from err
        raise DataError(f"data: cannot read {path}: {str(err).splitlines()[0]}") from err
    return loaded


def load_raw(data: DataConfig) -> datasets.DatasetDict:
    """Load every available split of the configured source, labels not yet mapped."""
    if data.source == "demo":
        sizes = demo.split_sizes(data.demo_size)
        return datasets.DatasetDict({
            split: datasets.Dataset.from_dict(demo.make_split(split, size))
            for split, size in sizes.items()})
    if data.source == "files":
        return datasets.DatasetDict({
            split: _load_file(path, data) for split, path in split_files(data).items()})
    spec = task_spec(data)
    if not spec.hub_path:
        raise DataError(f"data.hub_path: task {data.task!r} has no hub dataset; set data.hub_path")
    try:
        return datasets.load_dataset(spec.hub_path, spec.hub_name)
    except Exception as err:  # noqa: BLE001 - offline, missing or renamed dataset
        raise DataError(f"data.hub_path: cannot load {spec.hub_path!r} "
                        f"({spec.hub_name}): {str(err).splitlines()[0]}"
                        f"{dataset_hint()}") from err
