"""One backbone, many trials: layers that share their frozen weight and keep each trial's own
trainable tensors.

A packed batch is the trials' own batches stacked: rows ``[k*B, (k+1)*B)`` belong to the
k-th active trial. A packed layer computes the frozen part once for every row, then adds
each trial's own part to its rows: a bias (BitFit, heads), IA3's scaling of the layer's input
or output, a LoRA or DoRA update, or, for a layer a trial trains whole (its task head), that
trial's own weight. Rows of one trial never meet another trial's tensors, so each trial's
gradients are those it would get alone. Each formula is PEFT's, in PEFT's order.
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
    magnitude: nn.Parameter | None = None  # (out,): DoRA's lora_magnitude_vector


@dataclass
class SlotTensors:
    """What one trial trains in one layer; None: the frozen tensor."""

    weight: nn.Parameter | None = None
    bias: nn.Parameter | None = None
    lora: LoraPart | None = None
    scale_in: nn.Parameter | None = None  # IA3 on a feed-forward layer: (1, in)
    scale_out: nn.Parameter | None = None  # IA3 elsewhere: (out, 1)


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
        for name in ("weight", "bias", "scale_in", "scale_out"):
            if getattr(tensors, name) is not None:
                self.own[f"s{slot}_{name}"] = getattr(tensors, name)
        if tensors.lora is not None:
            self.own[f"s{slot}_lora_down"] = tensors.lora.down
            self.own[f"s{slot}_lora_up"] = tensors.lora.up
            if tensors.lora.magnitude is not None:
                self.own[f"s{slot}_lora_magnitude"] = tensors.lora.magnitude

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
        scales_in = self.scales(active, "scale_in", x)
        if scales_in is not None:  # IA3 on a feed-forward layer scales its input
            x = (self.groups(x) * _per_trial(scales_in, x.dim() + 1)).reshape(x.shape)
        out = self.groups(F.linear(x, self.base.weight))
        bias = self.biases(self.base.bias, out)
        if bias is not None:
            out = out + _per_trial(bias, out.dim())
        scales_out = self.scales(active, "scale_out", out)
        if scales_out is not None:  # IA3 elsewhere scales the output, bias included
            out = out * _per_trial(scales_out, out.dim())
        if any(part.lora is not None for part in active):
            inputs = self.groups(x)
            out = torch.stack([o if part.lora is None else o + self._lora(part.lora, xi, k, o)
                               for k, (o, xi, part) in enumerate(zip(out, inputs, active,
                                                                     strict=True))])
        return out.reshape(-1, *out.shape[2:])

    def scales(self, active: list[SlotTensors], role: str, like: torch.Tensor
               ) -> torch.Tensor | None:
        """(trials, features): each active trial's IA3 vector for ``role``, ones elsewhere."""
        chosen = [getattr(part, role) for part in active]
        if all(v is None for v in chosen):
            return None
        size = self.base.in_features if role == "scale_in" else self.base.out_features
        ones = torch.ones(size, dtype=like.dtype, device=like.device)
        return torch.stack([ones if v is None else v.flatten() for v in chosen])

    def _lora(self, lora: LoraPart, x: torch.Tensor, index: int, out: torch.Tensor
              ) -> torch.Tensor:
        """The ``index``-th active trial's LoRA (or DoRA) update to ``out``, its base output,
        through its own dropout."""
        dropped = x
        if lora.dropout and self.training:
            dropped = drop_one(x, lora.dropout, mix(self.state.streams[index], self.layer),
                               self.state.padding[index])
        update = F.linear(F.linear(dropped, lora.down), lora.up)
        if lora.magnitude is None:
            return update * lora.scaling
        return self._dora(lora, dropped, out, update, dropped is x)

    def _dora(self, lora: LoraPart, x: torch.Tensor, out: torch.Tensor, update: torch.Tensor,
              undropped: bool) -> torch.Tensor:
        """DoRA: the weight's direction with the LoRA update, rescaled to the trial's own
        magnitude; the norm is a constant to the gradient (the DoRA paper, section 4.3)."""
        weight = self.base.weight
        direction = weight + lora.scaling * (lora.up @ lora.down).detach().to(weight.dtype)
        norm = torch.linalg.norm(direction, dim=1).to(weight.dtype).detach()
        scale = (lora.magnitude / norm).view(1, -1)
        if undropped:  # the base output, less its bias
            base = out - self.base.bias if self.base.bias is not None else out
        else:  # the base output of the dropped input, as PEFT recomputes it
            base = F.linear(x, weight)
        return (scale - 1) * base + scale * update * lora.scaling

    def _each_alone(self, x: torch.Tensor, active: list[SlotTensors]) -> torch.Tensor:
        outs = []
        for k, (xi, part) in enumerate(zip(self.groups(x), active, strict=True)):
            weight = part.weight if part.weight is not None else self.base.weight
            bias = part.bias if part.bias is not None else self.base.bias
            if part.scale_in is not None:
                xi = xi * part.scale_in.flatten()
            out = F.linear(xi, weight, bias)
            if part.scale_out is not None:
                out = out * part.scale_out.flatten()
            if part.lora is not None:
                out = out + self._lora(part.lora, xi, k, out)
            outs.append(out)
        return torch.cat(outs)


class PackedLayerNorm(PackedLayer):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = self.base
        normed = F.layer_norm(x, base.normalized_shape, base.weight, None, base.eps)
        out = self.groups(normed)
        bias = self.biases(base.bias, out)
        if bias is not None:
            out = out + _per_trial(bias, out.dim())
        return out.reshape(-1, *out.shape[2:])


def _per_trial(values: torch.Tensor, dims: int) -> torch.Tensor:
    """(trials, features) viewed to broadcast over a (trials, rows, ..., features) tensor."""
    return values.view(values.shape[0], *([1] * (dims - 2)), values.shape[1])


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
