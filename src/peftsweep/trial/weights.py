"""The weights a finished trial keeps, so that its model can be exported later.

A trial keeps the parameters that trained, taken at the best checkpoint, in
``<job>/weights/trainable.safetensors``, with ``weights.json`` beside it. The
frozen rest is rebuilt from the backbone (pretrained weights, or the seeded
random initialisation); a fingerprint of the frozen weights, written here and
checked when the model is rebuilt, proves that the rebuild is the same model.

What is kept (see docs/export.md):
- ``trainer.keep_weights=trainable`` (default): strategies that train a part of
  the model (BitFit, head, LoRA, IA3, prefix) keep that part: kilobytes to MB.
- ``trainer.full_weights`` decides for strategies that train every parameter:
  ``all`` keeps every trial's model; ``selected`` keeps them while the sweep
  runs, then keeps only the trials at the hyper-parameters the report selects;
  ``none`` keeps nothing.

Pruning to the selection happens when the sweep ends (:mod:`peftsweep.sweep.summary`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from peftsweep.spec.results import atomic_write_json

WEIGHTS_DIR = "weights"
TRAINABLE_FILE = "trainable.safetensors"
MANIFEST_FILE = "weights.json"
KEEP_CHOICES = ("trainable", "none")
FULL_CHOICES = ("selected", "all", "none")

log = logging.getLogger(__name__)


def policy(keep_weights: str, full_weights: str, params: dict[str, int]) -> str:
    """What this trial keeps: 'trainable', 'all', 'selected' or 'none'."""
    if keep_weights == "none":
        return "none"
    if params["trainable"] == params["total"]:
        return full_weights
    return "trainable"


def frozen_fingerprint(model: nn.Module) -> str | None:
    """A hash of every frozen parameter (name and bytes); None when nothing is frozen."""
    digest = hashlib.sha256()
    frozen = 0
    for name, param in model.named_parameters():
        if not param.requires_grad:
            frozen += 1
            digest.update(name.encode())
            digest.update(param.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest() if frozen else None


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: param.detach().cpu().contiguous().clone()
            for name, param in model.named_parameters() if param.requires_grad}


def keep(model: nn.Module, job_dir: Path, keep_weights: str, full_weights: str,
         params: dict[str, int]) -> dict[str, Any] | None:
    """Save the model's trainable parameters if the policy says so; return the manifest."""
    chosen = policy(keep_weights, full_weights, params)
    if chosen == "none":
        return None
    return keep_state(trainable_state(model), frozen_fingerprint(model), job_dir, chosen)


def keep_state(state: dict[str, torch.Tensor], fingerprint: str | None, job_dir: Path,
               chosen: str) -> dict[str, Any]:
    """Save trainable tensors (named as in the trial's model) and return the manifest."""
    folder = Path(job_dir) / WEIGHTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    # Temp file + rename: an interrupted write never looks like kept weights.
    staging = folder / f".{TRAINABLE_FILE}.{os.getpid()}.tmp"
    save_file(state, str(staging), metadata={"format": "pt"})
    os.replace(staging, folder / TRAINABLE_FILE)
    manifest = {
        "file": TRAINABLE_FILE,
        "policy": chosen,
        "tensors": len(state),
        "parameters": sum(t.numel() for t in state.values()),
        "bytes": (folder / TRAINABLE_FILE).stat().st_size,
        "frozen_fingerprint": fingerprint,
    }
    atomic_write_json(folder / MANIFEST_FILE, manifest)
    return manifest


def read_manifest(job_dir: Path) -> dict[str, Any] | None:
    """The manifest of a job's kept weights, or None when the job kept none."""

    path = Path(job_dir) / WEIGHTS_DIR / MANIFEST_FILE
    if not path.is_file() or not (path.parent / TRAINABLE_FILE).is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def disk_bytes(sweep_dir: Path) -> int:
    """Bytes the kept weights of a sweep use on disk."""
    return sum(path.stat().st_size for path in Path(sweep_dir).rglob(f"{WEIGHTS_DIR}/*")
               if path.is_file())
