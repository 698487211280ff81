"""A packed trial's twin: the model it would train alone, built once to read what it trains.

The twin is built exactly as a trial alone builds its model (seeded, the same backbone, the
same strategy), so a packed trial starts from the very tensors it would start from alone.
Each trainable tensor is then placed: a bias or weight of a Linear or LayerNorm, one half
of a LoRA pair, a DoRA magnitude or an IA3 vector; a prompt encoder (prompt, P- and prefix
tuning) is kept whole. A tensor that is none of these (an embedding, a LoHa factor) means
the trial cannot share a backbone; the reason says which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from torch import nn

from peftsweep.models.backbone import build_backbone
from peftsweep.params.count import count_parameters
from peftsweep.spec.families import Family
from peftsweep.strategies import apply_strategy, frozen_backbone
from peftsweep.trial.packed.layers import PACKED, LoraPart, SlotTensors
from peftsweep.trial.packed.prompts import CannotShare, Prompt, take_prompt
from peftsweep.trial.weights import frozen_fingerprint

PEFT_PREFIX = "base_model.model."
PROMPT_PREFIX = "prompt_encoder.default."
_LORA = re.compile(r"^(?P<path>.+)\.lora_(?P<half>[AB])\.default\.weight$")
_MAGNITUDE = re.compile(r"^(?P<path>.+)\.lora_magnitude_vector\.default\.weight$")
_IA3 = re.compile(r"^(?P<path>.+)\.ia3_l\.default$")
_SAVED = re.compile(r"^(?P<path>.+)\.modules_to_save\.default(?P<inner>(\.[^.]+)*)"
                    r"\.(?P<role>weight|bias)$")
_PLAIN = re.compile(r"^(?P<path>.+?)(\.base_layer)?\.(?P<role>weight|bias)$")
# Where each role lives: a LoRA pair's halves and DoRA's magnitude in the trial's LoraPart.
_LORA_ROLES = {"lora_A": "down", "lora_B": "up", "magnitude": "magnitude"}
_ALLOWED = {nn.Linear: ("weight", "bias", "scale_in", "scale_out", *_LORA_ROLES),
            nn.LayerNorm: ("bias",)}
# Why a trial runs alone, known from its strategy before any model is built.
PROBE = ("its frozen backbone runs in eval mode on features computed once "
         "(trainer.feature_cache): alone, it takes a fraction of a trial")
EVERY_WEIGHT = ("it trains every weight, embeddings included (full fine-tuning): there is no "
                "frozen backbone to share")


class CannotPack(Exception):
    """Why a trial trains alone."""


@dataclass
class Twin:
    parts: dict[str, SlotTensors]
    """Module path in the plain backbone -> this trial's own tensors there."""
    named: dict[str, nn.Parameter]
    """Every trainable tensor under the name it has alone (what its kept weights hold)."""
    params: dict[str, int]
    frozen_fingerprint: str | None
    prompt: Prompt | None = None
    """Its virtual tokens (prompt, P- or prefix tuning), else None."""


def build_twin(cfg, spec, tokenizer, family: Family, strategy: dict, steps: int,
               plain: nn.Module) -> Twin:
    """``plain``: the shared backbone, to check that each placed tensor has a home there."""
    if frozen_backbone(strategy):
        raise CannotPack(PROBE)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = apply_strategy(build_backbone(cfg.model, spec, tokenizer, cfg.cache_dir),
                           strategy, family, total_steps=steps)
    params = count_parameters(model)
    if params["trainable"] == params["total"]:
        raise CannotPack(EVERY_WEIGHT)
    try:
        prompt = take_prompt(model)
    except CannotShare as why:
        raise CannotPack(str(why)) from None
    placed = place(model, plain)
    _check_frozen_weights(model, plain)
    named, parts = {}, {}
    if prompt is not None:  # the encoder's own tensors: the rest of its model is dropped
        named.update({PROMPT_PREFIX + n: p for n, p in prompt.encoder.named_parameters()})
    for name, (path, role) in placed.items():
        param = nn.Parameter(dict(model.named_parameters())[name].detach().clone())
        named[name] = param
        part = parts.setdefault(path, SlotTensors())
        if role in ("weight", "bias", "scale_in", "scale_out"):
            setattr(part, role, param)
        else:
            lora = part.lora or LoraPart(None, None, *_lora_settings(model, name))
            setattr(lora, _LORA_ROLES[role], param)
            part.lora = lora
    return Twin(parts, named, params, frozen_fingerprint(model), prompt)


def place(model: nn.Module, plain: nn.Module) -> dict[str, tuple[str, str]]:
    """Trainable name -> (module path in the plain backbone, role); CannotPack otherwise."""
    homes = dict(plain.named_modules())
    placed = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith(PROMPT_PREFIX):
            continue  # trains in the prompt encoder, not in a layer of the backbone
        short = _short(name)
        if (match := _LORA.match(short)) and _is_lora(model, name):
            path, role = match["path"], f"lora_{match['half']}"
        elif match := _MAGNITUDE.match(short):
            path, role = match["path"], "magnitude"
        elif match := _IA3.match(short):
            path = match["path"]
            feedforward = model.get_submodule(name.rsplit(".ia3_l", 1)[0]).is_feedforward
            role = "scale_in" if feedforward else "scale_out"
        elif match := _SAVED.match(short):
            path, role = match["path"] + match["inner"], match["role"]
        elif match := _PLAIN.match(short):
            path, role = match["path"], match["role"]
        else:
            raise CannotPack(f"it trains {name}, which packed layers do not hold")
        home = homes.get(path)
        if type(home) not in PACKED or role not in _ALLOWED[type(home)]:
            raise CannotPack(f"it trains {name} ({role} of a {type(home).__name__}), which "
                             "packed layers do not share")
        placed[name] = (path, role)
    return placed


def _check_frozen_weights(model: nn.Module, plain: nn.Module) -> None:
    """The twin's frozen tensors must be the pack's backbone's, bit for bit."""
    shared = dict(plain.named_parameters())
    for name, param in model.named_parameters():
        # PEFT's original_module: the head's initial copy, replaced by the trained one.
        if param.requires_grad or ".original_module." in name:
            continue
        short = _short(name).replace(".base_layer.", ".")
        if short in shared and not torch.equal(param.detach(), shared[short].detach()):
            raise CannotPack(f"its frozen {short} differs from the pack's backbone (a random "
                             "initialisation is drawn per seed)")


def _short(name: str) -> str:
    """A PEFT model's parameter name as the plain backbone has it."""
    # base_model.model.<name> for adapters, base_model.<name> for prompt learning.
    return name.removeprefix(PEFT_PREFIX).removeprefix("base_model.")


def _is_lora(model: nn.Module, name: str) -> bool:
    """A pair of PEFT's LoRA layer (DoRA included), not of a method that reuses the names."""
    return hasattr(model.get_submodule(name.rsplit(".lora_", 1)[0]), "scaling")


def _lora_settings(model: nn.Module, name: str) -> tuple[float, float]:
    module = model.get_submodule(name.rsplit(".lora_", 1)[0])
    dropout = module.lora_dropout["default"]
    return float(module.scaling["default"]), float(getattr(dropout, "p", 0.0))
