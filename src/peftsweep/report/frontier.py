"""Test metric against trainable parameters: every setup, and which are on the Pareto front.

A setup (model, data, strategy with its budget, initialisation) at its selected
hyper-parameters is on the front when no other setup of the same model, data and
initialisation scores at least as well with at most as many trainable parameters, and
strictly better on one of the two (:mod:`peftsweep.report.pareto`). The table lists every
setup, cheapest first, so that the front reads top to bottom.
"""

from __future__ import annotations

import pandas as pd

from peftsweep.report.pareto import on_front

SCOPE = ["model", "data", "pretrained", "metric"]
COLUMNS = ["model", "data", "pretrained", "strategy", "budget", "capacity", "params_trainable",
           "trainable_percent", "metric", "mean", "ci_low", "ci_high", "interval", "seeds",
           "on_front", "rank"]


def pareto_table(test: pd.DataFrame) -> pd.DataFrame:
    """One row per setup of the test table; ``on_front`` marks the front, ``rank`` orders
    the setups of a scope by their test metric (1: best)."""
    rows = []
    if test.empty:
        return pd.DataFrame(columns=COLUMNS)
    for _, scope in test.groupby(SCOPE, dropna=False, sort=False):
        metric = scope["metric"].iloc[0]
        frame = pd.DataFrame({
            **{key: scope[key] for key in COLUMNS[:8]},
            "metric": metric, "mean": scope[f"test/{metric} mean"],
            "ci_low": scope[f"test/{metric} ci_low"], "ci_high": scope[f"test/{metric} ci_high"],
            "interval": scope.get(f"test/{metric} interval"), "seeds": scope["seeds"],
        })
        frame["on_front"] = on_front(frame, "mean", "params_trainable")
        frame["rank"] = frame["mean"].rank(ascending=False, method="min")
        rows.append(frame.sort_values(["params_trainable", "mean"], ascending=[True, False]))
    return pd.concat(rows, ignore_index=True)[COLUMNS]
