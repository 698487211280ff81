"""Each packed trial's own dropout stream.

Whether a trial keeps an element is a hash of its seed, its step, the layer and the
element's place in its own rows, not a draw from torch's one generator. So a trial's masks
depend neither on the other trials of its pack nor on the padding their longer rows add,
and a trial resumed after a kill draws again what it drew before. (A trial alone draws its
masks from torch: packed, it is the same experiment with another draw of its dropout, as
with another dropout seed.) The attention probabilities get the same treatment through an
attention function registered with transformers; without dropout that function hands over
to the backbone's own attention, SDPA included.
"""

from __future__ import annotations

import functools
import zlib

import torch
from torch import nn

from peftsweep.trial.packed.state import PackState

BITS_PER_DIM = 13  # an element's place: 13 bits for each of at most 4 sizes after the rows
KEPT_BITS = 24
_MASK64 = (1 << 64) - 1
_SPLITMIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


_GOLDEN, _M1, _M2 = (_signed(c) for c in _SPLITMIX)


def mix(*parts: int) -> int:
    """splitmix64 over ``parts``, in Python: stream and layer keys."""
    z = 0
    for part in parts:
        z = ((z ^ (part & _MASK64)) + _SPLITMIX[0]) & _MASK64
        z = ((z ^ (z >> 30)) * _SPLITMIX[1]) & _MASK64
        z = ((z ^ (z >> 27)) * _SPLITMIX[2]) & _MASK64
        z ^= z >> 31
    return _signed(z)


def path_key(path: str) -> int:
    """A layer's place in every stream: its module path, stable across runs."""
    return zlib.crc32(path.encode())


def stream(seed: int, step: int) -> int:
    return mix(seed, step)


def _shift_right(z: torch.Tensor, bits: int) -> torch.Tensor:
    return (z >> bits) & ((1 << (64 - bits)) - 1)  # logical, on int64


def _mix_tensor(z: torch.Tensor) -> torch.Tensor:
    """splitmix64's finaliser on int64 tensors (wrapping arithmetic), as :func:`mix`."""
    z = z + _GOLDEN
    z = (z ^ _shift_right(z, 30)) * _M1
    z = (z ^ _shift_right(z, 27)) * _M2
    return z ^ _shift_right(z, 31)


def kept(shape: torch.Size, keys: list[int], p: float, device) -> torch.Tensor:
    """(len(keys), *shape) booleans: where each key's trial keeps the element."""
    if len(shape) > 5 or any(size >= 1 << BITS_PER_DIM for size in shape[1:]) \
            or shape[0] >= 1 << (63 - BITS_PER_DIM * (len(shape) - 1)):
        raise ValueError(f"packed dropout cannot place the elements of a {tuple(shape)} tensor")
    place = torch.zeros((), dtype=torch.int64, device=device)
    for dim, size in enumerate(shape):
        view = [1] * len(shape)
        view[dim] = size
        place = (place << BITS_PER_DIM) + torch.arange(size, device=device).view(view)
    key = torch.tensor(keys, dtype=torch.int64, device=device).view(-1, *[1] * len(shape))
    bits = _shift_right(_mix_tensor(key ^ place), 64 - KEPT_BITS)
    return bits >= round(p * (1 << KEPT_BITS))


def drop_one(x: torch.Tensor, p: float, key: int) -> torch.Tensor:
    """One trial's tensor through its own dropout mask."""
    return x * kept(x.shape, [key], p, x.device)[0].to(x.dtype) / (1 - p)


def drop(x: torch.Tensor, p: float, layer: int, state: PackState) -> torch.Tensor:
    """A stacked tensor through each trial's own mask for ``layer``."""
    keys = [mix(s, layer) for s in state.streams]
    if x.shape[0] != state.rows:
        # Not one row per example (DeBERTa's relative positions): all trials share this
        # tensor, so it gets one draw, the first trial's.
        return drop_one(x, p, keys[0])
    grouped = x.reshape(len(keys), -1, *x.shape[1:])
    mask = kept(grouped.shape[1:], keys, p, x.device).to(x.dtype)
    return (grouped * mask / (1 - p)).reshape(x.shape)


class PackedDropout(nn.Module):
    def __init__(self, p: float, state: PackState, layer: int):
        super().__init__()
        self.p, self.state, self.layer = float(p), state, layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.p:
            return x
        return drop(x, self.p, self.layer, self.state)


def _attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, *,
               base: str, **kwargs):
    """The backbone's attention, with each trial's own dropout of the probabilities."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    packed = getattr(module, "dropout", None)
    if base in ALL_ATTENTION_FUNCTIONS and (not dropout or not isinstance(packed,
                                                                          PackedDropout)):
        return ALL_ATTENTION_FUNCTIONS[base](module, query, key, value, attention_mask,
                                             scaling=scaling, dropout=dropout, **kwargs)
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        mask = attention_mask[..., :key.shape[-2]]
        weights = weights.masked_fill(~mask, torch.finfo(weights.dtype).min) \
            if mask.dtype == torch.bool else weights + mask
    weights = nn.functional.softmax(weights, dim=-1)
    if dropout and isinstance(packed, PackedDropout) and module.training:
        weights = drop(weights, dropout, packed.layer, packed.state)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


def install(model: nn.Module, state: PackState) -> None:
    """Every dropout of the shared backbone draws per trial; so does its attention."""
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface
    from transformers.modeling_utils import AttentionInterface

    for path, module in list(model.named_modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Dropout:
                full = f"{path}.{name}" if path else name
                setattr(module, name, PackedDropout(child.p, state, path_key(full)))
    base = model.config._attn_implementation or "eager"
    packed_name = f"peftsweep_packed_{base}"
    AttentionInterface.register(packed_name, functools.partial(_attention, base=base))
    masks = ALL_MASK_ATTENTION_FUNCTIONS
    AttentionMaskInterface.register(packed_name, masks[base] if base in masks else masks["eager"])
    model.config._attn_implementation = packed_name
