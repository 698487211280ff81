"""Which setups a report compares, and the paired comparison of each pair.

Two setups are compared when they differ in exactly one factor (the strategy,
the model, or the initialisation) and agree on the others, including the data
set: each at its own selected hyper-parameters, on the test metric of its
matched seeds. A factor with k values in one context gives k(k-1)/2 pairs, in
the order the setups appear in the selection table (pretrained before random).
"""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from peftsweep.report.collect import GROUP
from peftsweep.report.stats import PAIRED_TEST, paired_comparison

# The factors a reader compares; the data set is never one (different tasks).
FACTORS = ("strategy", "model", "pretrained")
COLUMNS = [
    "factor", "a", "b", *GROUP, "metric", "seeds", "mean_a", "mean_b",
    "diff", "diff_ci_low", "diff_ci_high", "p_value", "test", "seeds_only_a", "seeds_only_b",
    "warning",
]


def comparison_table(per_seed: pd.DataFrame) -> pd.DataFrame:
    """One row per compared pair: matched seeds, mean difference a - b, its CI and p-value."""
    rows = []
    scored = per_seed.dropna(subset=["test"]) if not per_seed.empty else per_seed
    for factor in FACTORS:
        context = [key for key in GROUP if key != factor]
        for _, setups in scored.groupby([*context, "metric"], dropna=False, sort=False):
            rows += _pairs(factor, setups)
    return pd.DataFrame(rows, columns=COLUMNS)


def _pairs(factor: str, setups: pd.DataFrame) -> list[dict]:
    # A missing factor value (e.g. no 'pretrained' in old results) is a setup of its own.
    levels = list(dict.fromkeys(None if pd.isna(v) else v for v in setups[factor]))
    if factor == "pretrained":
        levels.sort(key=lambda value: value is not True)  # pretrained - random reads naturally
    rows = []
    for a, b in combinations(levels, 2):
        side_a, side_b = _side(setups, factor, a), _side(setups, factor, b)
        result = paired_comparison(side_a, side_b)
        first = setups.iloc[0]
        rows.append({
            "factor": factor, "a": a, "b": b,
            **{key: (None if key == factor else first[key]) for key in GROUP},
            "metric": first["metric"], "seeds": result.n,
            "mean_a": result.mean_a, "mean_b": result.mean_b, "diff": result.diff,
            "diff_ci_low": result.low, "diff_ci_high": result.high,
            "p_value": result.p_value, "test": PAIRED_TEST,
            "seeds_only_a": _seed_list(result.only_a), "seeds_only_b": _seed_list(result.only_b),
            "warning": result.warning,
        })
    return rows


def _side(setups: pd.DataFrame, factor: str, level) -> pd.Series:
    mask = setups[factor].isna() if level is None else setups[factor] == level
    side = setups[mask]
    return pd.Series(side["test"].to_numpy(dtype=float), index=side["seed"].to_numpy())


def _seed_list(seeds: list) -> str:
    """Seeds as text ('1 4'), so the CSV cell stays one value; '' when none."""
    return " ".join(str(int(seed)) if float(seed).is_integer() else str(seed) for seed in seeds)
