"""The closed-form parameter count of a BERT-style encoder, from its shape.

Checked against the exact count of ``peftsweep.params.count.breakdown``; the switches
drop groups of terms (biases, LayerNorms, ...) to match hand formulas.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

from peftsweep.params.row import Row


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


# The common hand formula (embeddings and attention only) is V*H + L*4H^2: token
# embeddings plus the four HxH attention projections (Q, K, V, output; with one head the head
# size is H) per layer -- no position/segment embeddings, no biases, no
# LayerNorms, no head, and no feed-forward weights. For
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
