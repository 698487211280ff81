"""One row of a parameter breakdown: a component's weights, biases and total."""

from __future__ import annotations

from typing import NamedTuple


class Row(NamedTuple):
    component: str
    weights: int
    biases: int
    total: int
