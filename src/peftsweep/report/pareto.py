"""Which points are Pareto-optimal: no other point is at least as good on the metric and at
least as cheap, and strictly better on one of the two.

Shared by every report that trades a metric against a cost (trainable parameters, time,
memory): method comparisons at equal budgets and cost-aware searches.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def on_front(frame: pd.DataFrame, value: str, cost: str, maximize: bool = True) -> pd.Series:
    """A boolean mask over ``frame``: True where the row is on the front. Rows missing
    either number are never on it."""
    values = frame[value].to_numpy(dtype=float)
    costs = frame[cost].to_numpy(dtype=float)
    if not maximize:
        values = -values
    known = ~(np.isnan(values) | np.isnan(costs))
    mask = np.zeros(len(frame), dtype=bool)
    for i in np.flatnonzero(known):
        no_worse = known & (values >= values[i]) & (costs <= costs[i])
        better = (values > values[i]) | (costs < costs[i])
        mask[i] = not np.any(no_worse & better)
    return pd.Series(mask, index=frame.index)


def front(frame: pd.DataFrame, value: str, cost: str, maximize: bool = True) -> pd.DataFrame:
    """The rows on the front, cheapest first."""
    return frame[on_front(frame, value, cost, maximize)].sort_values([cost, value])
