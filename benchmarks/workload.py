"""What every system trains: one peftsweep config turned into a model, rows and settings.

The peers compose the same Hydra overrides as our trial and build the model
and the tokenized rows through peftsweep itself (same random init, same
strategy code, same cached rows), so the only thing that differs between the
systems is the training loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

# Hydra's compose reads this; benchmark children must not depend on the caller's folder.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Workload:
    cfg: Any  # peftsweep.config.TrialConfig
    tokenizer: Any
    splits: Any  # datasets.DatasetDict with train / validation / test
    model: torch.nn.Module
    device: torch.device
    precision: str

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(self.precision)

    @property
    def pad_multiple(self) -> int | None:
        # Ours pads to a multiple of 8 on GPU (tensor cores); the peers get the same.
        return 8 if self.device.type == "cuda" else None


def load(overrides: list[str]) -> Workload:
    """Compose the overrides, then build as a trial does."""
    from peftsweep.compose import compose_config

    return build(compose_config(overrides))


def build(cfg) -> Workload:
    """Seed, tokenize (from the shared cache) and build exactly as a trial does."""
    import transformers

    from peftsweep import runtime
    from peftsweep.data.cache import prepare
    from peftsweep.data.sources import task_spec
    from peftsweep.models.backbone import build_backbone, load_tokenizer
    from peftsweep.families import FAMILIES
    from peftsweep.strategies import apply_strategy

    runtime.configure(cfg)
    # Seeds python, numpy and torch like pl.seed_everything in the trial, so random init matches.
    transformers.set_seed(cfg.seed)
    tokenizer = load_tokenizer(cfg.model, cfg.cache_dir)
    splits = prepare(cfg.data, tokenizer, cfg.cache_dir)
    spec = task_spec(cfg.data)
    backbone = build_backbone(cfg.model, spec, tokenizer, cfg.cache_dir)
    model = apply_strategy(backbone, cfg.strategy, FAMILIES[cfg.model.family])
    device = torch.device("cuda" if runtime.use_gpu(cfg) else "cpu")
    return Workload(cfg, tokenizer, splits, model, device, runtime.precision(cfg))


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups as every system uses them: no decay on biases and LayerNorm weights."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work so a timer reads finished work."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def gpu_peak_mb() -> float | None:
    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return round(torch.cuda.max_memory_allocated() / 2**20, 1)
