"""Exact parameter accounting for BERT-style encoders (BERT, RoBERTa, DistilBERT,
DeBERTa-v2/v3, ELECTRA): by component, per strategy, and the closed form from the shape.

The names below are the package's face; :mod:`peftsweep.params.tables` renders them for
``peftsweep params``.
"""

from peftsweep.params.by_strategy import strategy_variants, trainable_by_strategy
from peftsweep.params.components import component_of, component_order, sum_layers
from peftsweep.params.count import (
    StrategyCount,
    breakdown,
    count_parameters,
    trainable_components,
)
from peftsweep.params.formula import (
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
from peftsweep.params.row import Row

__all__ = ["SEEDS_HAND", "SEEDS_SHAPE", "Row", "Shape", "StrategyCount", "Switches", "Term",
           "breakdown", "check_formula", "component_of", "component_order", "count_parameters",
           "counted_subset", "formula", "formula_total", "shape_of", "strategy_variants",
           "sum_layers", "trainable_by_strategy", "trainable_components"]
