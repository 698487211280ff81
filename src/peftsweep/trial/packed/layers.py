"""One backbone, many trials: layers that share their frozen weight and keep each trial's own
trainable tensors.

A packed batch is the trials' own batches stacked: rows ``[k*B, (k+1)*B)`` belong to the
k-th active trial. A packed layer computes the frozen part once for every row, then adds
each trial's own part to its rows: a bias (BitFit, heads), a LoRA update, or, for a layer a
trial trains whole (its task head), that trial's own weight. Rows of one trial never meet
another trial's tensors, so each trial's gradients are those it would get alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from peftsweep.trial.packed.dropout import drop_one, mix, path_key
from peftsweep.trial.packed.state import PackState


@dataclass
class LoraPart:
    down: nn.Parameter  # (r, in): PEFT's lora_A
    up: nn.Parameter  # (out, r): PEFT's lora_B
    scaling: float
    dropout: float


@dataclass
class SlotTensors:
    """What one trial trains in one layer; None: the frozen tensor."""

    weight: nn.Parameter | None = None
    bias: nn.Parameter | None = None
    lora: LoraPart | None = None


class PackedLayer(nn.Module):
    """Holds the frozen layer and, per trial slot, that trial's own tensors."""

    def __init__(self, base: nn.Module, state: PackState, slots: int, layer: int = 0):
        super().__init__()
        self.base = base
        self.state = state
        self.layer = layer  # its place in each trial's dropout stream (LoRA's dropout)
        self.parts: list[SlotTensors] = [SlotTensors() for _ in range(slots)]
        # Registered so that .to(device) moves them; named after the slot.
        self.own = nn.ParameterDict()

    def set_slot(self, slot: int, tensors: SlotTensors) -> None:
        self.parts[slot] = tensors
        for name in ("weight", "bias"):
            if getattr(tensors, name) is not None:
                self.own[f"s{slot}_{name}"] = getattr(tensors, name)
        if tensors.lora is not None:
            self.own[f"s{slot}_lora_down"] = tensors.lora.down
            self.own[f"s{slot}_lora_up"] = tensors.lora.up

    def groups(self, x: torch.Tensor) -> torch.Tensor:
        """(trials, rows per trial, ...) view of a packed input."""
        return x.reshape(len(self.state.active), -1, *x.shape[1:])

    def biases(self, frozen: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
        """(trials, features): each active trial's bias, the frozen one where it trains none."""
        chosen = [self.parts[s].bias if self.parts[s].bias is not None else frozen
                  for s in self.state.active]
        if all(b is None for b in chosen):
            return None
        zeros = torch.zeros(like.shape[-1], dtype=like.dtype, device=like.device)
        return torch.stack([zeros if b is None else b for b in chosen])


class PackedLinear(PackedLayer):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        active = [self.parts[s] for s in self.state.active]
        if any(part.weight is not None for part in active):
            return self._each_alone(x, active)
        out = self.groups(F.linear(x, self.base.weight))
        bias = self.biases(self.base.bias, out)
        if bias is not None:
            out = out + bias.view(bias.shape[0], *([1] * (out.dim() - 2)), bias.shape[1])
        if any(part.lora is not None for part in active):
            inputs = self.groups(x)
            out = torch.stack([o if part.lora is None else o + self._lora(part.lora, xi, k)
                               for k, (o, xi, part) in enumerate(zip(out, inputs, active,
                                                                     strict=True))])
        return out.reshape(-1, *out.shape[2:])

    def _lora(self, lora: LoraPart, x: torch.Tensor, index: int) -> torch.Tensor:
        """The LoRA update of the ``index``-th active trial, through its own dropout."""
        if lora.dropout and self.training:
            x = drop_one(x, lora.dropout, mix(self.state.streams[index], self.layer))
        return F.linear(F.linear(x, lora.down), lora.up) * lora.scaling

    def _each_alone(self, x: torch.Tensor, active: list[SlotTensors]) -> torch.Tensor:
        outs = []
        for k, (xi, part) in enumerate(zip(self.groups(x), active, strict=True)):
            weight = part.weight if part.weight is not None else self.base.weight
            bias = part.bias if part.bias is not None else self.base.bias
            out = F.linear(xi, weight, bias)
            if part.lora is not None:
                out = out + self._lora(part.lora, xi, k)
            outs.append(out)
        return torch.cat(outs)


class PackedLayerNorm(PackedLayer):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = self.base
        normed = F.layer_norm(x, base.normalized_shape, base.weight, None, base.eps)
        out = self.groups(normed)
        bias = self.biases(base.bias, out)
        if bias is not None:
            out = out + bias.view(bias.shape[0], *([1] * (out.dim() - 2)), bias.shape[1])
        return out.reshape(-1, *out.shape[2:])


PACKED = {nn.Linear: PackedLinear, nn.LayerNorm: PackedLayerNorm}


def pack_module(model: nn.Module, path: str, state: PackState, slots: int) -> PackedLayer:
    """The packed layer at ``path`` (made on first use: the frozen layer moves inside it)."""
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    current = getattr(parent, name)
    if isinstance(current, PackedLayer):
        return current
    kind = PACKED.get(type(current))
    if kind is None:
        raise ValueError(f"{path} is a {type(current).__name__}: packs share only Linear and "
                         "LayerNorm layers")
    packed = kind(current, state, slots, path_key(path))
    setattr(parent, name, packed)
    return packed
