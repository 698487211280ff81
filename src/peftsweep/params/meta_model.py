"""The classifier a trial would build, on the meta device: every shape, no weights.

Counting and sizing need shapes only, so nothing is downloaded: the model is built from
``model.arch`` (or the model's config file) and its tokenizer is stood in for when the
vocabulary is part of ``arch``.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.spec.config import ModelConfig
from peftsweep.spec.tasks import TaskSpec


class _ArchVocab:
    """Stands in for the tokenizer when ``model.arch`` already fixes the vocabulary.

    build_backbone reads only ``len(tokenizer)`` and ``pad_token_id``, and only as
    defaults under ``arch``; skipping the real tokenizer keeps hub models offline.
    """

    def __init__(self, arch: dict):
        self.size = int(arch["vocab_size"])
        self.pad_token_id = arch.get("pad_token_id", 0)

    def __len__(self) -> int:
        return self.size


def build_for_counting(model: ModelConfig, spec: TaskSpec, cache_dir: str) -> nn.Module:
    """The classifier on the meta device, from ``model.arch``: shapes only, no weights."""
    model = dataclasses.replace(model, pretrained=False)  # use arch, never download weights
    if "vocab_size" in model.arch:
        tokenizer = _ArchVocab(model.arch)
    else:
        tokenizer = load_tokenizer(model, cache_dir)
    return build_backbone(model, spec, tokenizer, cache_dir, meta=True)


def on_cpu(model: nn.Module) -> nn.Module:
    """``model`` (built on the meta device) in zeroed CPU memory: cheap to make, and the
    right place to apply a strategy to count it. On the meta device PEFT re-creates some
    frozen tensors as trainable (AdaLoRA's rank counters), and initialisations that read
    the weights (an SVD) cannot run at all."""
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            tensor.zero_()
    return model
