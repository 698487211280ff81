"""Each packed trial's own dropout stream.

A trial's masks for one layer at one step are drawn from a generator seeded by its seed,
its step and the layer, over its own rows at their own length: the padding the pack adds
behind its rows (to its partners' longest row) is not drawn, and counts as kept. So a
trial's masks depend neither on the other trials of its pack nor on their lengths, and a
trial resumed after a kill draws again what it drew before. (A trial alone draws its masks
from torch's one generator: packed, it is the same experiment with another draw of its
dropout, as with another dropout seed.) The attention probabilities get the same treatment
through an attention function registered with transformers; without dropout that function
hands over to the backbone's own attention, SDPA included.
"""

from __future__ import annotations

import functools
import zlib

import torch
from torch import nn

from peftsweep.trial.packed.state import PackState

_MASK64 = (1 << 64) - 1
_SPLITMIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
# The sequence dimensions of a trial's (rows, ...) tensor, by its number of dimensions:
# hidden states (rows, length, features), attention probabilities (rows, heads, queries,
# keys). Pooled features (rows, features) have none.
SEQUENCE_DIMS = {3: (1,), 4: (2, 3)}
_GENERATORS: dict[str, torch.Generator] = {}


def mix(*parts: int) -> int:
    """splitmix64 over ``parts``: stream and layer keys."""
    z = 0
    for part in parts:
        z = ((z ^ (part & _MASK64)) + _SPLITMIX[0]) & _MASK64
        z = ((z ^ (z >> 30)) * _SPLITMIX[1]) & _MASK64
        z = ((z ^ (z >> 27)) * _SPLITMIX[2]) & _MASK64
        z ^= z >> 31
    return z


def path_key(path: str) -> int:
    """A layer's place in every stream: its module path, stable across runs."""
    return zlib.crc32(path.encode())


def stream(seed: int, step: int) -> int:
    return mix(seed, step)


def kept(shape: torch.Size, key: int, p: float, device, pad: int = 0) -> torch.Tensor:
    """Booleans shaped ``shape`` (one trial's rows): where the trial of ``key`` keeps an
    element. The last ``pad`` places of each sequence dimension are the pack's padding:
    kept, and not drawn."""
    sequence = SEQUENCE_DIMS.get(len(shape), ()) if pad else ()
    own = [size - pad if dim in sequence else size for dim, size in enumerate(shape)]
    generator = _generator(torch.device(device))
    generator.manual_seed(key & _MASK64)
    drawn = torch.rand(own, generator=generator, device=device) >= p
    if not sequence:
        return drawn
    full = torch.ones(shape, dtype=torch.bool, device=device)
    full[tuple(slice(0, size) for size in own)] = drawn
    return full


def _generator(device: torch.device) -> torch.Generator:
    """One generator per device, seeded afresh for every draw."""
    name = str(device)
    if name not in _GENERATORS:
        _GENERATORS[name] = torch.Generator(device=device)
    return _GENERATORS[name]


def drop_one(x: torch.Tensor, p: float, key: int, pad: int = 0) -> torch.Tensor:
    """One trial's tensor through its own dropout mask."""
    return x * kept(x.shape, key, p, x.device, pad).to(x.dtype) / (1 - p)


def drop(x: torch.Tensor, p: float, layer: int, state: PackState) -> torch.Tensor:
    """A stacked tensor through each trial's own mask for ``layer``."""
    keys = [mix(s, layer) for s in state.streams]
    if x.shape[0] != state.rows:
        # Not one row per example (DeBERTa's relative positions): all trials share this
        # tensor, so it gets one draw, the first trial's.
        return drop_one(x, p, keys[0])
    grouped = x.reshape(len(keys), -1, *x.shape[1:])
    mask = torch.stack([kept(grouped.shape[1:], key, p, x.device, pad)
                        for key, pad in zip(keys, state.padding, strict=True)])
    return (grouped * mask.to(x.dtype) / (1 - p)).reshape(x.shape)


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
