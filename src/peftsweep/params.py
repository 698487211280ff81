"""Exact parameter accounting for BERT-style encoders (BERT, RoBERTa, DistilBERT, DeBERTa-v2/v3,
ELECTRA).

Three views that must agree, and are checked against each other:

* ``breakdown``: every parameter, by component, from ``named_parameters``;
* ``trainable_by_strategy``: which components each tuning strategy trains;
* ``formula``: the closed form from the architecture's shape.
"""

from __future__ import annotations

import dataclasses
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


# ---------------------------------------------------------------- closed form

@dataclass(frozen=True)
class Shape:
    family: str
    vocab: int  # V
    hidden: int  # H
    layers: int  # L
    intermediate: int  # I
    positions: int  # P
    token_types: int  # T (0 for DistilBERT and DeBERTa-v3)
    labels: int  # C
    embedding: int = 0  # E, when the embeddings are narrower than H (ELECTRA-small); 0: H
    relative: int = 0  # R, rows of DeBERTa's relative position embeddings
    relative_norm: bool = False  # DeBERTa's LayerNorm over them (norm_rel_ebd=layer_norm)


def shape_of(config) -> Shape:
    """Read the shape from a transformers config (DistilBERT maps dim/n_layers itself)."""
    intermediate = getattr(config, "intermediate_size", None) or config.hidden_dim
    # DeBERTa-v3 has no absolute positions (position_biased_input=false).
    positions = (config.max_position_embeddings
                 if getattr(config, "position_biased_input", True) else 0)
    embedding = getattr(config, "embedding_size", None) or config.hidden_size
    return Shape(config.model_type, config.vocab_size, config.hidden_size,
                 config.num_hidden_layers, intermediate, positions,
                 getattr(config, "type_vocab_size", 0), config.num_labels,
                 embedding=0 if embedding == config.hidden_size else embedding,
                 relative=_relative_rows(config),
                 relative_norm="layer_norm" in str(getattr(config, "norm_rel_ebd", "none")))


def _relative_rows(config) -> int:
    """DeBERTa's relative position embedding rows: 2 x buckets (or 2 x max distance)."""
    if not getattr(config, "relative_attention", False):
        return 0
    if getattr(config, "position_buckets", -1) > 0:
        return 2 * config.position_buckets
    distance = getattr(config, "max_relative_positions", -1)
    return 2 * (distance if distance >= 1 else config.max_position_embeddings)


class Term(NamedTuple):
    what: str
    symbols: str
    value: int


@dataclass(frozen=True)
class Switches:
    biases: bool = True
    layer_norms: bool = True
    pooler: bool = True
    head: bool = True
    positions: bool = True
    token_types: bool = True
    feed_forward: bool = True


# The SEEDS.md Experiment 4 hand formula is V*H + L*4H^2: token embeddings plus
# the four HxH attention projections (Q, K, V, output; with one head the head
# size is H) per layer -- no position/segment embeddings, no biases, no
# LayerNorms, no head, and no feed-forward weights despite its wording. For
# V=32,000, H=512, L=4: 16,384,000 + 4*1,048,576 = 20,578,304. Adding the
# feed-forward (2*H*I, I=4H=2,048) would give 28,966,912.
SEEDS_HAND = Switches(biases=False, layer_norms=False, pooler=False, head=False,
                      positions=False, token_types=False, feed_forward=False)
SEEDS_SHAPE = Shape("bert", vocab=32_000, hidden=512, layers=4, intermediate=2_048,
                    positions=512, token_types=2, labels=2)


def _norm(what: str, prefix: str, size: int, on: Switches) -> Term:
    """A LayerNorm has a scale and a shift; the shift is a bias (BitFit trains it)."""
    return Term(what, f"{prefix}2H" if on.biases else f"{prefix}H", size * (1 + on.biases))


def _embedding_terms(s: Shape, on: Switches) -> list[Term]:
    h, e = s.hidden, s.embedding or s.hidden
    width = "E" if s.embedding else "H"
    terms = [Term("word embeddings", f"V*{width}", s.vocab * e)]
    if on.positions and s.positions:
        terms.append(Term("position embeddings", f"P*{width}", s.positions * e))
    if on.token_types and s.token_types:
        terms.append(Term("token type embeddings", f"T*{width}", s.token_types * e))
    # ELECTRA normalises the narrow embeddings, then projects (with a bias);
    # DeBERTa projects without a bias, then normalises.
    norm_width = width if s.family == "electra" else "H"
    if on.layer_norms:
        terms.append(Term("embedding LayerNorm", f"2{norm_width}" if on.biases else norm_width,
                          (e if norm_width == "E" else h) * (1 + on.biases)))
    if s.embedding:
        bias = on.biases and s.family == "electra"
        terms.append(Term("embedding projection", "E*H + H" if bias else "E*H",
                          e * h + bias * h))
    if on.positions and s.relative:
        terms.append(Term("relative position embeddings", "R*H", s.relative * h))
        if on.layer_norms and s.relative_norm:
            terms.append(_norm("relative position LayerNorm", "", h, on))
    return terms


def _layer_terms(s: Shape, on: Switches) -> list[Term]:
    h, i, n = s.hidden, s.intermediate, s.layers
    terms = [Term("attention Q/K/V/output weights", "L*4H^2", n * 4 * h * h)]
    optional = [
        (on.biases, Term("attention biases", "L*4H", n * 4 * h)),
        (on.layer_norms, _norm("attention LayerNorm", "L*", n * h, on)),
        (on.feed_forward, Term("feed-forward weights", "L*2HI", n * 2 * h * i)),
        (on.feed_forward and on.biases, Term("feed-forward biases", "L*(I+H)", n * (i + h))),
        (on.layer_norms, _norm("output LayerNorm", "L*", n * h, on)),
    ]
    return terms + [term for keep, term in optional if keep]


def _top_terms(s: Shape, on: Switches) -> list[Term]:
    h, c, terms = s.hidden, s.labels, []
    # BERT classifies the pooler output; RoBERTa and DistilBERT put an HxH dense in the head.
    if on.pooler and s.family in ("bert", "deberta-v2"):
        terms.append(Term("pooler", "H^2 + H" if on.biases else "H^2", h * h + on.biases * h))
    if on.head and s.family in ("roberta", "distilbert", "electra"):
        terms.append(Term("head dense", "H^2 + H" if on.biases else "H^2",
                          h * h + on.biases * h))
    if on.head:
        terms.append(Term("classifier", "H*C + C" if on.biases else "H*C",
                          h * c + on.biases * c))
    return terms


def formula(shape: Shape, switches: Switches = Switches()) -> list[Term]:
    """The closed-form count, term by term; ``sum(t.value ...)`` is the total."""
    return _embedding_terms(shape, switches) + _layer_terms(shape, switches) + \
        _top_terms(shape, switches)


def formula_total(shape: Shape, switches: Switches = Switches()) -> int:
    return sum(term.value for term in formula(shape, switches))


def counted_subset(rows: list[Row], switches: Switches = Switches()) -> int:
    """The exact count of what a formula with ``switches`` claims to count."""
    dropped = {
        "LayerNorm": not switches.layer_norms, "pooler": not switches.pooler,
        "head": not switches.head, "embeddings.position": not switches.positions,
        "embeddings.token_type": not switches.token_types, "ffn.": not switches.feed_forward,
        "relative_positions": not switches.positions,
    }
    total = 0
    for row in rows:
        if not any(drop and key in row.component for key, drop in dropped.items()):
            total += row.weights + (row.biases if switches.biases else 0)
    return total


def check_formula(rows: list[Row], shape: Shape, switches: Switches = Switches()) -> int:
    """Raise unless the closed form equals the exact count; return the count."""
    expected, counted = formula_total(shape, switches), counted_subset(rows, switches)
    if expected != counted:
        raise AssertionError(f"formula {expected} != counted {counted} for "
                             f"{dataclasses.asdict(switches)}")
    return counted
