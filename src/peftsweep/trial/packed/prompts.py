"""Virtual tokens in a pack: each trial's own prompt in front of its own rows.

Prompt tuning and P-tuning put the trial's prompt embeddings in front of the input
embeddings; prefix tuning puts the trial's keys and values in front of every attention
layer's. A pack holds trials of one kind and one number of virtual tokens (the pack key),
so every row has the same length; each row gets the tensors of the trial it belongs to.
Each step follows PEFT's forward for the trial alone (peft_model.py, get_prompt and the
sequence-classification forward), so a packed trial sees exactly what it would see alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Prompt:
    encoder: nn.Module
    """The trial's own prompt encoder (PEFT's), kept when the rest of its model is dropped."""
    tokens: torch.Tensor
    """Its virtual token ids, 0..n-1."""
    prefix_shape: tuple[int, int, int] | None
    """(layers, heads, head size) of a key/value prefix; None: input embeddings."""

    @property
    def kind(self) -> str:
        return f"{'prefix' if self.prefix_shape else 'embeddings'}:{self.tokens.numel()}"


class CannotShare(Exception):
    """Why a trial's prompt cannot be computed in a pack."""


def take_prompt(model: nn.Module) -> Prompt | None:
    """The prompt of a PEFT prompt-learning model, else None."""
    config = getattr(model, "active_peft_config", None)
    if config is None or not config.is_prompt_learning:
        return None
    encoder = model.prompt_encoder["default"]
    if any(isinstance(m, nn.Dropout) and m.p for m in encoder.modules()) or any(
            isinstance(m, nn.RNNBase) and m.dropout for m in encoder.modules()):
        # Its dropout would draw from torch's one generator, shared by the whole pack.
        raise CannotShare("its prompt encoder has dropout")
    prefix = None
    if config.peft_type.value in ("PREFIX_TUNING", "CARTRIDGE"):
        if config.num_transformer_submodules != 1:
            raise CannotShare("its prefix feeds an encoder and a decoder")
        prefix = (config.num_layers, config.num_attention_heads,
                  config.token_dim // config.num_attention_heads)
    tokens = model.prompt_tokens["default"][:config.num_virtual_tokens].clone()
    return Prompt(encoder, tokens, prefix)


def with_prompts(model: nn.Module, prompts: list[Prompt], rows: list[int],
                 inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The shared backbone's arguments for stacked rows (``rows[k]`` of the k-th trial),
    each trial's virtual tokens in front of its own rows."""
    count = prompts[0].tokens.numel()
    mask = inputs["attention_mask"]
    batch = mask.shape[0]
    out = dict(inputs)
    out["attention_mask"] = torch.cat((torch.ones(batch, count).to(mask.device), mask), dim=1)
    if prompts[0].prefix_shape is not None:
        out["cache"] = _prefix_cache(prompts, rows, mask.device, model.dtype)
        return out
    if "token_type_ids" in inputs:
        zeros = torch.zeros(batch, count).to(mask.device)
        out["token_type_ids"] = torch.cat((zeros, inputs["token_type_ids"]), dim=1).long()
    embeds = model.get_input_embeddings()(out.pop("input_ids"))
    # PEFT encodes one copy of the prompt tokens and repeats it over the rows.
    virtual = torch.cat([p.encoder(p.tokens.to(mask.device).unsqueeze(0)).repeat(n, 1, 1)
                         for p, n in zip(prompts, rows, strict=True)])
    out["inputs_embeds"] = torch.cat((virtual.to(embeds.dtype), embeds), dim=1)
    return out


def _prefix_cache(prompts: list[Prompt], rows: list[int], device, dtype: torch.dtype):
    """Each trial's prefix for its rows, as the key/value cache PEFT hands the model."""
    from transformers import DynamicCache

    layers, heads, size = prompts[0].prefix_shape
    count = prompts[0].tokens.numel()
    encoded = torch.cat([p.encoder(p.tokens.to(device).unsqueeze(0).expand(n, -1))
                         for p, n in zip(prompts, rows, strict=True)]).to(dtype)
    past = encoded.view(encoded.shape[0], count, layers * 2, heads, size)
    return DynamicCache(past.permute([2, 0, 3, 1, 4]).split(2))
