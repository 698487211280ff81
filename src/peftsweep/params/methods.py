"""Closed-form trainable parameter counts of PEFT methods, from the shapes of what they adapt.

Each formula counts what PEFT creates for one method with its options: per adapted linear
layer of input width ``in`` and output width ``out``, plus the task head (``modules_to_save``).
Where options reach beyond a formula (biases that train, rank patterns, non-linear targets)
there is none, and the count is PEFT's own on the built model. Tests hold every formula to
PEFT's ``get_nb_trainable_parameters`` on each model family.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from torch import nn

from peftsweep.spec.families import Family
from peftsweep.strategies import parse
from peftsweep.strategies.base import PeftStrategy


class Formula(NamedTuple):
    value: int
    text: str  # e.g. "r(in+out) over 4 layers, r=8 + head 258"


class Shapes(NamedTuple):
    """What a method's formula reads from the model."""

    linears: list[tuple[str, int, int]]  # (name, in, out) of every adapted linear layer
    hidden: int
    layers: int
    head: int  # parameters of the task head, trained as modules_to_save


def head_size(model: nn.Module, family: Family) -> int:
    """Parameters of the family's head modules (each counted once)."""
    seen: dict[int, int] = {}
    for name, module in model.named_modules():
        if any(name == h or name.endswith("." + h) for h in family.head_modules):
            for param in module.parameters():
                seen[id(param)] = param.numel()
    return sum(seen.values())


def adapted_shapes(model: nn.Module, config, family: Family) -> Shapes | None:
    """The shapes a PEFT config adapts in ``model`` (unwrapped); None if one is not linear."""
    from peft.tuners.tuners_utils import check_target_module_exists

    linears = []
    if getattr(config, "target_modules", None) is not None:
        for name, module in model.named_modules():
            if name and check_target_module_exists(config, name):
                if type(module) is not nn.Linear:
                    return None
                linears.append((name, module.in_features, module.out_features))
    return Shapes(linears, model.config.hidden_size, model.config.num_hidden_layers,
                  head_size(model, family))


def _sum(shapes: Shapes, per_layer: Callable[[int, int], int]) -> int:
    return sum(per_layer(i, o) for _, i, o in shapes.linears)


def _lora(o: Any, s: Shapes) -> tuple[int, str] | None:
    if (o.bias != "none" or o.rank_pattern or o.alpha_pattern or o.lora_bias
            or o.trainable_token_indices or o.layer_replication or o.target_parameters
            or o.use_bdlora or o.kasa_config or o.velora_config or o.monteclora_config):
        return None
    dora = "+ out " if o.use_dora else ""
    value = _sum(s, lambda i, out: o.r * (i + out) + (out if o.use_dora else 0))
    return value, f"r(in+out) {dora}per layer, r={o.r}"


def _adalora(o: Any, s: Shapes) -> tuple[int, str] | None:
    if o.bias != "none" or o.rank_pattern or o.alpha_pattern:
        return None
    return _sum(s, lambda i, out: o.init_r * (i + out + 1)), \
        f"init_r(in+out+1) per layer (A, B and the singular values E), init_r={o.init_r}"


def _loha(o: Any, s: Shapes) -> tuple[int, str] | None:
    if o.rank_pattern or o.alpha_pattern:
        return None
    return _sum(s, lambda i, out: 2 * o.r * (i + out)), f"2r(in+out) per layer, r={o.r}"


def _lokr_layer(o: Any, i: int, out: int) -> int:
    from peft.tuners.lokr.layer import factorization

    in_m, in_n = factorization(i, o.decompose_factor)
    out_l, out_k = factorization(out, o.decompose_factor)
    full_w1 = not (o.decompose_both and o.r < max(out_l, in_m) / 2)
    full_w2 = not (o.r < max(out_k, in_n) / 2)
    w1 = out_l * in_m if full_w1 else o.r * (out_l + in_m)
    w2 = out_k * in_n if full_w2 else o.r * (out_k + in_n)
    return w1 + w2


def _lokr(o: Any, s: Shapes) -> tuple[int, str] | None:
    if o.rank_pattern or o.alpha_pattern:
        return None
    return _sum(s, lambda i, out: _lokr_layer(o, i, out)), \
        (f"per layer, in = c*d and out = a*b (PEFT's factorization): w1 a*c (or r(a+c)) + "
         f"w2 r(b+d) (or b*d when r >= max(b, d)/2), r={o.r}")


def _vera(o: Any, s: Shapes) -> tuple[int, str] | None:
    if o.bias != "none":
        return None
    return _sum(s, lambda i, out: out + o.r), \
        f"out + r per layer (scaling vectors b and d; the shared random A, B are frozen), r={o.r}"


def _oft(o: Any, s: Shapes) -> tuple[int, str] | None:
    size = o.oft_block_size
    if o.bias != "none" or o.r or not size or any(i % size for _, i, _ in s.linears):
        return None  # PEFT would pick another block size itself
    per_block = size * (size - 1) // 2
    value = _sum(s, lambda i, out: per_block * (1 if o.block_share else i // size))
    shared = "one shared block" if o.block_share else "in/b blocks"
    return value, f"{shared} of b(b-1)/2 per layer (skew-symmetric), b={size}"


def _ia3(o: Any, s: Shapes) -> tuple[int, str] | None:
    def feedforward(name: str) -> bool:  # PEFT's own rule
        if isinstance(o.feedforward_modules, str):
            return bool(re.fullmatch(o.feedforward_modules, name))
        return any(name.endswith(key) for key in o.feedforward_modules or ())

    value = sum(i if feedforward(name) else out for name, i, out in s.linears)
    return value, "out per layer (in for feed-forward layers, scaled on their input)"


def _prompt(o: Any, s: Shapes) -> tuple[int, str] | None:
    return o.num_virtual_tokens * s.hidden, f"n*H, n={o.num_virtual_tokens}"


def _p_tuning(o: Any, s: Shapes) -> tuple[int, str] | None:
    if str(o.encoder_reparameterization_type).upper().endswith("LSTM"):
        return None
    h, e = s.hidden, o.encoder_hidden_size or s.hidden
    value = o.num_virtual_tokens * h + (h * e + e) + (e * e + e) + (e * h + h)
    return value, f"n*H + MLP (H*E+E + E*E+E + E*H+H), n={o.num_virtual_tokens}, E={e}"


def _prefix(o: Any, s: Shapes) -> tuple[int, str] | None:
    n, h, layers = o.num_virtual_tokens, s.hidden, s.layers
    if not o.prefix_projection:
        return n * layers * 2 * h, f"n*L*2H (a key and a value per layer), n={n}"
    e = o.encoder_hidden_size or h
    value = n * h + (h * e + e) + (e * layers * 2 * h + layers * 2 * h)
    return value, f"n*H + MLP (H*E+E + E*2LH+2LH), n={n}, E={e}"


FORMULAS: dict[str, Callable[[Any, Shapes], tuple[int, str] | None]] = {
    "lora": _lora, "adalora": _adalora, "loha": _loha, "lokr": _lokr, "vera": _vera,
    "oft": _oft, "ia3": _ia3, "prompt_tuning": _prompt, "p_tuning": _p_tuning,
    "prefix_tuning": _prefix,
}


def _config(strategy: dict[str, Any], family: Family):
    """The PEFT config of a strategy and its method's formula (None where there is none);
    (None, None) for a strategy that is not a PEFT method."""
    runner, options = parse(strategy)
    if not isinstance(runner, PeftStrategy):
        return None, None
    config = runner.peft_config(options, family)
    return config, FORMULAS.get(str(config.peft_type.value).lower())


def shapes_for(model: nn.Module, strategy: dict[str, Any], family: Family) -> Shapes | None:
    """What the strategy adapts in ``model`` (the same for every rank or prompt length);
    None for a strategy that is not a PEFT method, or one that adapts more than linears."""
    config, _ = _config(strategy, family)
    return None if config is None else adapted_shapes(model, config, family)


def closed_form(model: nn.Module, strategy: dict[str, Any], family: Family,
                shapes: Shapes | None = None) -> Formula | None:
    """The trainable parameters of ``strategy`` on the unwrapped ``model``, in closed form;
    None where there is none for the method and options. ``shapes``: from :func:`shapes_for`
    (a budget search asks for many ranks of one model)."""
    config, formula = _config(strategy, family)
    if formula is None:
        return None
    shapes = shapes or adapted_shapes(model, config, family)
    found = None if shapes is None else formula(config, shapes)  # options as PEFT read them
    if found is None:
        return None
    value, text = found
    where = f", over {len(shapes.linears)} layers" if shapes.linears else ""
    return Formula(value + shapes.head, f"{text}{where} + head {shapes.head:,}")
