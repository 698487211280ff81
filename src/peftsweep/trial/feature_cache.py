"""A linear probe trains on its frozen backbone's features, computed once per sweep.

The features of every split live in ``<cache_dir>/features/<key>/`` beside the tokenized
splits. The key hashes the tokenized data's own key (data config, file contents,
tokenizer), the backbone's config and the bytes of its weights, and the precision they
were computed in: whatever changes a feature changes the key. A file lock plus
write-to-temp-and-rename keeps concurrent trials from corrupting an entry, as for the
tokenized data; ``features.log`` gets one line per entry actually computed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock
from safetensors.torch import load_file, save_file
from torch import nn

from peftsweep.data.cache import cache_key
from peftsweep.data.datamodule import ClassificationDataModule
from peftsweep.models.features import base_model, compute_features, replay_features
from peftsweep.spec.config import TrialConfig
from peftsweep.strategies import frozen_backbone
from peftsweep.trial import runtime

FEATURES_FORMAT = 1
LOG_FILE = "features.log"

log = logging.getLogger(__name__)


def uses_features(cfg: TrialConfig, strategy: dict[str, Any]) -> bool:
    return cfg.trainer.feature_cache and frozen_backbone(strategy)


def attach(cfg: TrialConfig, model: nn.Module, datamodule: ClassificationDataModule,
           on_gpu: bool) -> dict[str, Any]:
    """Serve ``datamodule``'s splits as ``model``'s features, computing them if no trial did
    before; ``model`` then replays them. Returns what result.json records of it."""
    started = time.time()
    key = feature_key(cfg, model, datamodule)
    root = Path(cfg.cache_dir) / "features"
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"{key}.lock")):
        computed = not (root / key / "splits.json").exists()
        if computed:
            _build(cfg, model, datamodule, root, key, on_gpu)
    features = {name: load_file(str(root / key / f"{name}.safetensors"))["features"]
                for name in datamodule.splits}
    datamodule.use_features(features)
    replay_features(model)
    seconds = round(time.time() - started, 3)
    log.info("head trains on cached features %s (%s in %.1f s)", key,
             "computed" if computed else "read", seconds)
    return {"key": key, "computed": computed, "seconds": seconds}


def feature_key(cfg: TrialConfig, model: nn.Module, datamodule: ClassificationDataModule) -> str:
    encoder = base_model(model)
    digest = hashlib.sha256()
    for name, tensor in [*encoder.named_parameters(), *encoder.named_buffers()]:
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    # Dropout rates do not change an encoder in eval mode.
    config = {k: v for k, v in model.config.to_dict().items() if "dropout" not in k}
    payload = {"format": FEATURES_FORMAT, "data": cache_key(cfg.data, datamodule.tokenizer),
               "model": type(model).__name__, "config": config, "weights": digest.hexdigest(),
               "precision": runtime.precision(cfg)}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _build(cfg: TrialConfig, model: nn.Module, datamodule: ClassificationDataModule,
           root: Path, key: str, on_gpu: bool) -> None:
    staging = root / f".{key}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    encoder = base_model(model)
    was_training = encoder.training
    device = torch.device("cuda") if on_gpu else torch.device("cpu")
    encoder.eval().to(device)
    rows = {}
    try:
        for name, split in datamodule.splits.items():
            features = _split_features(model, split, datamodule, device, cfg)
            save_file({"features": features}, str(staging / f"{name}.safetensors"))
            rows[name] = len(features)
    finally:
        encoder.train(was_training).to("cpu")
    (staging / "splits.json").write_text(json.dumps(rows, sort_keys=True))
    os.replace(staging, root / key)
    with open(root / LOG_FILE, "a", encoding="utf-8") as out:
        out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {key} {cfg.model.name} "
                  f"{cfg.data.name} max_length={cfg.data.max_length} rows={rows}\n")


def _split_features(model: nn.Module, split, datamodule: ClassificationDataModule,
                    device: torch.device, cfg: TrialConfig) -> torch.Tensor:
    """Every row's features, in the split's row order (computed longest first)."""
    order = np.argsort(-np.asarray(split.lengths), kind="stable")
    size = datamodule.eval_batch_size
    out = None
    for start in range(0, len(order), size):
        indices = order[start:start + size].tolist()
        batch = datamodule.collate(split.__getitems__(indices))
        batch = {k: v.to(device) for k, v in batch.items()}
        with _autocast(cfg, device):
            features = compute_features(model, batch).float().cpu()
        if out is None:
            out = torch.empty((len(split), *features.shape[1:]), dtype=torch.float32)
        out[indices] = features
    return out if out is not None else torch.empty((0, 1, 1))


def _autocast(cfg: TrialConfig, device: torch.device):
    """The precision the trial's own forward would run the encoder in."""
    precision = runtime.precision(cfg)
    if precision.startswith("bf16"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision.startswith("16"):
        return torch.autocast(device.type, dtype=torch.float16)
    return contextlib.nullcontext()


def features_count(cache_dir: str | Path) -> int:
    """Feature entries computed so far under ``cache_dir`` (one log line each)."""
    path = Path(cache_dir) / "features" / LOG_FILE
    return len(path.read_text().splitlines()) if path.exists() else 0
