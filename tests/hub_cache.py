"""Lay out a local Hugging Face cache as the libraries leave it after a first online load.

Hub cache (HF_HUB_CACHE), one folder per repo as huggingface_hub writes it:
``<type>s--<org>--<name>/blobs/<sha256>``, ``refs/main`` (the commit) and
``snapshots/<commit>/<path>`` symlinks into blobs. Offline, transformers'
``from_pretrained(<repo id>)`` reads the snapshot of refs/main.

Datasets cache (HF_DATASETS_CACHE): offline, ``load_dataset(<repo id>, <config>)``
never looks at the hub cache; it takes the Arrow files that the first online
load prepared under ``<org>___<name>/<config>/0.0.0/<commit>/``. They are
prepared here from the repo's parquet snapshot with datasets' own parquet
builder and the repo's README configs, as the online load does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def commit_of(repo_id: str) -> str:
    return hashlib.sha1(repo_id.encode()).hexdigest()  # 40 hex digits, like a git commit


def add_repo(hub_cache: Path, repo_id: str, repo_type: str, files: dict[str, bytes]) -> Path:
    """Write one repo into the hub cache; return its snapshot folder."""
    repo = hub_cache / f"{repo_type}s--{repo_id.replace('/', '--')}"
    commit = commit_of(repo_id)
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    for relative, content in files.items():
        blob = repo / "blobs" / hashlib.sha256(content).hexdigest()
        blob.write_bytes(content)
        link = snapshot / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return snapshot


def _folder_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def add_model(hub_cache: Path, repo_id: str, model, tokenizer) -> Path:
    """A model repo as save_pretrained writes it (config, safetensors, tokenizer files)."""
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return add_repo(hub_cache, repo_id, "model", _folder_files(Path(folder)))


def _parquet(rows: dict[str, list]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(rows), sink)
    return sink.getvalue().to_pybytes()


def _readme(config: str | None, splits: list[str]) -> bytes:
    prefix = f"{config}/" if config else "data/"
    lines = ["---", "configs:", f"- config_name: {config or 'default'}", "  data_files:"]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: {prefix}{split}-*"]
    return "\n".join([*lines, "---", ""]).encode()


def add_dataset(hub_cache: Path, datasets_cache: Path, repo_id: str, config: str | None,
                splits: dict[str, dict[str, list]]) -> Path:
    """A parquet dataset repo in the hub cache, and its prepared copy in the datasets cache."""
    from datasets.load import LocalDatasetModuleFactory, get_dataset_builder_class

    prefix = f"{config}/" if config else "data/"
    files = {f"{prefix}{split}-00000-of-00001.parquet": _parquet(rows)
             for split, rows in splits.items()}
    files["README.md"] = _readme(config, list(splits))
    snapshot = add_repo(hub_cache, repo_id, "dataset", files)
    module = LocalDatasetModuleFactory(str(snapshot)).get_module()
    name = repo_id.split("/")[-1]
    module = dataclasses.replace(module, hash=commit_of(repo_id))
    kwargs = {k: v for k, v in module.builder_kwargs.items() if k != "dataset_name"}
    builder = get_dataset_builder_class(module, dataset_name=name)(
        cache_dir=str(datasets_cache / ".building"), dataset_name=name,
        config_name=config or "default", hash=module.hash, **kwargs)
    namespace = repo_id.split("/")[0]
    target = (datasets_cache / f"{namespace}___{name}" / (config or "default") / "0.0.0"
              / module.hash)
    builder.download_and_prepare(output_dir=str(target))
    return target
