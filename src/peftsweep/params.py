"""Exact parameter accounting."""

from __future__ import annotations

from torch import nn


def count_parameters(model: nn.Module) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total,
            "trainable_percent": round(100.0 * trainable / max(total, 1), 4)}
