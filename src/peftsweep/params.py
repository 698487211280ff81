"""Exact parameter accounting for BERT-style encoders (BERT, RoBERTa, DistilBERT, DeBERTa-v2/v3,
ELECTRA).

Three views that must agree, and are checked against each other:

* ``breakdown``: every parameter, by component, from ``named_parameters``;
* ``trainable_by_strategy``: which components each tuning strategy trains;
* ``formula``: the closed form from the architecture's shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from torch import nn


def count_parameters(model: nn.Module) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total,
            "trainable_percent": round(100.0 * trainable / max(total, 1), 4)}


# ---------------------------------------------------------------- components

class Row(NamedTuple):
    component: str
    weights: int
    biases: int
    total: int


# Wrapper segments added by PEFT; removing them gives the backbone's own name.
# Prompt-learning wrappers (prefix tuning) hold the backbone directly as ``base_model``.
_PEFT_SEGMENTS = re.compile(r"^base_model\.(?:model\.)?|(?<=\.)(base_layer|original_module|"
                            r"modules_to_save\.default)\.")
_ADAPTER = re.compile(r"\.(lora_[AB]|lora_embedding_[AB]|lora_magnitude_vector|ia3_l)\b")
_LAYER = re.compile(r"^(?:encoder|transformer)\.layer\.(\d+)\.(.+)\.(?:weight|bias)$")
_TOP = {
    "embeddings.word_embeddings": "embeddings.word",
    "embeddings.position_embeddings": "embeddings.position",
    "embeddings.token_type_embeddings": "embeddings.token_type",
    "embeddings.LayerNorm": "embeddings.LayerNorm",
    "embeddings.embed_proj": "embeddings.projection",  # DeBERTa-v2 when E != H
    "embeddings_project": "embeddings.projection",  # ELECTRA when E != H
    "encoder.rel_embeddings": "relative_positions",  # DeBERTa-v2
    "encoder.LayerNorm": "relative_positions.LayerNorm",
    "pooler.dense": "pooler",
    "classifier": "head",  # BERT: Linear; RoBERTa: dense + out_proj
    "pre_classifier": "head",  # DistilBERT's head is pre_classifier + classifier
    "prompt_encoder": "prefix",  # prefix tuning's virtual key/value tokens
}
# Per-layer module (BERT/RoBERTa name, DistilBERT name) -> component, in forward order.
_SUBLAYERS = {
    "attention.self.query": "attention.query", "attention.q_lin": "attention.query",
    "attention.self.key": "attention.key", "attention.k_lin": "attention.key",
    "attention.self.value": "attention.value", "attention.v_lin": "attention.value",
    "attention.self.query_proj": "attention.query", "attention.self.key_proj": "attention.key",
    "attention.self.value_proj": "attention.value",
    "attention.output.dense": "attention.output", "attention.out_lin": "attention.output",
    "attention.output.LayerNorm": "attention.LayerNorm", "sa_layer_norm": "attention.LayerNorm",
    "intermediate.dense": "ffn.intermediate", "ffn.lin1": "ffn.intermediate",
    "output.dense": "ffn.output", "ffn.lin2": "ffn.output",
    "output.LayerNorm": "output.LayerNorm", "output_layer_norm": "output.LayerNorm",
}
_LAYER_ORDER = [*dict.fromkeys(_SUBLAYERS.values()), "adapter"]
_TOP_ORDER = list(dict.fromkeys(_TOP.values()))


def component_of(name: str) -> str:
    """The component of a parameter name, PEFT-wrapped or not. Raises on unknown names."""
    plain = _PEFT_SEGMENTS.sub("", name)
    layer = re.search(r"\.layer\.(\d+)\.", plain)
    if _ADAPTER.search(plain):
        return f"layer.{layer.group(1)}.adapter" if layer else "adapter"
    plain = re.sub(r"^(bert|roberta|distilbert|deberta|electra)\.", "", plain)
    match = _LAYER.match(plain)
    if match and match.group(2) in _SUBLAYERS:
        return f"layer.{match.group(1)}.{_SUBLAYERS[match.group(2)]}"
    module = plain.rsplit(".", 1)[0]
    for prefix, component in _TOP.items():
        if module == prefix or module.startswith(prefix + "."):
            return component
    raise ValueError(f"unclassified parameter {name!r} (not a BERT-style encoder name)")


def component_order(component: str) -> tuple:
    """Embeddings, then layers in order (forward order inside), then pooler and head.

    Also sorts rows folded by ``sum_layers`` ('layers.attention.query').
    """
    match = re.match(r"layers?\.(?:(\d+)\.)?(.+)", component)
    if match:
        return (1, int(match.group(1) or 0), _LAYER_ORDER.index(match.group(2)))
    rank = _TOP_ORDER.index(component) if component in _TOP_ORDER else len(_TOP_ORDER)
    return (0 if component.startswith("embeddings") else 2, 0, rank)


def breakdown(model: nn.Module) -> list[Row]:
    """Every parameter by component; the rows add up to the model's total."""
    sums: dict[str, list[int]] = {}
    for name, param in model.named_parameters():
        column = 1 if name.endswith("bias") else 0
        sums.setdefault(component_of(name), [0, 0])[column] += param.numel()
    ordered = sorted(sums.items(), key=lambda item: component_order(item[0]))
    rows = [Row(c, w, b, w + b) for c, (w, b) in ordered]
    total = count_parameters(model)["total"]
    if sum(r.total for r in rows) != total:
        raise AssertionError(f"components sum to {sum(r.total for r in rows)}, model has {total}")
    return rows


def sum_layers(component: str) -> str:
    """'layer.3.attention.query' -> 'layers.attention.query', to fold deep models."""
    return re.sub(r"^layer\.\d+\.", "layers.", component)


# ---------------------------------------------------------------- strategies

@dataclass(frozen=True)
class StrategyCount:
    components: dict[str, int]
    trainable: int
    total: int
    percent: float
    peft_reported: int | None  # PEFT's get_nb_trainable_parameters(), when wrapped


def trainable_components(model: nn.Module) -> StrategyCount:
    """Trainable parameters by component, checked against the model's own counts."""
    components: dict[str, int] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            component = component_of(name)
            components[component] = components.get(component, 0) + param.numel()
    counts = count_parameters(model)
    if sum(components.values()) != counts["trainable"]:
        raise AssertionError("trainable components do not add up to the trainable count")
    reported = None
    if hasattr(model, "get_nb_trainable_parameters"):
        reported = model.get_nb_trainable_parameters()[0]
        if reported != counts["trainable"]:
            raise AssertionError(f"PEFT reports {reported} trainable, counted "
                                 f"{counts['trainable']}")
    return StrategyCount(components, counts["trainable"], counts["total"],
                         counts["trainable_percent"], reported)


def strategy_variants(family: str, selected: dict | None = None) -> dict[str, dict]:
    """Every registered strategy at its defaults that fits the family, plus the user's choice."""
    from peftsweep.errors import ConfigError
    from peftsweep.families import FAMILIES
    from peftsweep.strategies import STRATEGIES, strategy_label, validate_strategy

    variants = {}
    for name in STRATEGIES:
        try:
            variants[name] = validate_strategy({"name": name}, FAMILIES[family])
        except ConfigError:
            continue  # e.g. prefix tuning on a family without key/value caches
    if selected:
        variants.setdefault(strategy_label(selected), dict(selected))
    return variants


def trainable_by_strategy(build: Callable[[], nn.Module], family: str,
                          variants: dict[str, dict]) -> dict[str, StrategyCount]:
    """Apply each strategy to a fresh model (strategies mutate and wrap it) and count."""
    from peftsweep.families import FAMILIES
    from peftsweep.strategies import apply_strategy, check_strategy_fits

    counts = {}
    for label, strategy in variants.items():
        model = build()
        check_strategy_fits(model, strategy, FAMILIES[family])
        counts[label] = trainable_components(apply_strategy(model, strategy, FAMILIES[family]))
    return counts


# The closed form lives in its own module; its names stay importable from here.
from peftsweep.params_formula import (  # noqa: E402, F401
    SEEDS_HAND,
    SEEDS_SHAPE,
    Shape,
    Switches,
    Term,
    check_formula,
    counted_subset,
    formula,
    formula_total,
    shape_of,
)
