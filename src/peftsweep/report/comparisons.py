"""Which setups a report compares, and the paired comparison of each pair.

Two setups are compared when they differ in exactly one factor (the strategy,
the model, or the initialisation) and agree on the others, including the data
set: each at its own selected hyper-parameters, on the test metric of its
matched seeds. A factor with k values in one context gives k(k-1)/2 pairs, in
the order the setups appear in the selection table (pretrained before random).

Where both setups kept their per-example test results, the pair is compared by a paired
bootstrap over the matched seeds and the test examples (:mod:`.bootstrap`); else by a
paired t-test over the seeds, its interval kept inside the range a difference of the metric
can take. Every p-value is then adjusted for the number of comparisons in the report
(Holm's step-down), and both are shown.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from peftsweep.report import bootstrap
from peftsweep.report.collect import GROUP
from peftsweep.report.stats import HOLM, PAIRED_TEST, holm, metric_range, paired_comparison

# The factors a reader compares; the data set is never one (different tasks).
FACTORS = ("strategy", "model", "pretrained")
COLUMNS = [
    "factor", "a", "b", *GROUP, "metric", "seeds", "mean_a", "mean_b",
    "diff", "diff_ci_low", "diff_ci_high", "p_value", "test", "p_holm", "correction",
    "seeds_only_a", "seeds_only_b", "warning",
]


def comparison_table(per_seed: pd.DataFrame, examples: dict | None = None) -> pd.DataFrame:
    """One row per compared pair: matched seeds, mean difference a - b, its CI and p-value,
    and the p-value adjusted (Holm) over every pair of the table."""
    rows = []
    scored = per_seed.dropna(subset=["test"]) if not per_seed.empty else per_seed
    for factor in FACTORS:
        context = [key for key in GROUP if key != factor]
        for _, setups in scored.groupby([*context, "metric"], dropna=False, sort=False):
            rows += _pairs(factor, setups, examples or {})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    tested = int(frame["p_value"].notna().sum())
    frame["p_holm"] = holm(frame["p_value"]) if len(frame) else []
    frame["correction"] = f"{HOLM} over {tested} comparisons" if tested else ""
    return frame


def _pairs(factor: str, setups: pd.DataFrame, examples: dict) -> list[dict]:
    # A missing factor value (e.g. no 'pretrained' in old results) is a setup of its own.
    levels = list(dict.fromkeys(None if pd.isna(v) else v for v in setups[factor]))
    if factor == "pretrained":
        levels.sort(key=lambda value: value is not True)  # pretrained - random reads naturally
    rows = []
    first = setups.iloc[0]
    rows = []
    for a, b in combinations(levels, 2):
        rows.append({
            "factor": factor, "a": a, "b": b,
            **{key: (None if key == factor else first[key]) for key in GROUP},
            "metric": first["metric"],
            **compare(_rows(setups, factor, a), _rows(setups, factor, b), first["metric"],
                      examples),
        })
    return rows


def compare(rows_a: pd.DataFrame, rows_b: pd.DataFrame, metric: str, examples: dict) -> dict:
    """Setup a against setup b (their per-seed rows) on the matched seeds: the mean
    difference a - b, its interval and p-value, by the paired bootstrap over seeds and test
    examples where both kept their examples, else by the paired t-test over seeds."""
    side_a, side_b = _Side(rows_a), _Side(rows_b)
    result = paired_comparison(side_a.test, side_b.test)
    low, high, p_value, test = result.low, result.high, result.p_value, PAIRED_TEST
    by_examples = _by_examples(side_a, side_b, metric, examples)
    if by_examples is not None:
        (low, high, p_value), test = by_examples, bootstrap.TEST_NAME
    else:
        low, high = _within_range(low, high, metric)
    return {
        "seeds": result.n, "mean_a": result.mean_a, "mean_b": result.mean_b,
        "diff": result.diff, "diff_ci_low": low, "diff_ci_high": high, "p_value": p_value,
        "test": test, "seeds_only_a": _seed_list(result.only_a),
        "seeds_only_b": _seed_list(result.only_b),
        "warning": result.warning if test == PAIRED_TEST else _few(result.n),
    }


class _Side:
    def __init__(self, rows: pd.DataFrame):
        rows = rows.drop_duplicates("seed")
        self.test = pd.Series(rows["test"].to_numpy(dtype=float), index=rows["seed"].to_numpy())
        self.identities = dict(zip(rows["seed"], rows["identity"], strict=True))


def _rows(setups: pd.DataFrame, factor: str, level) -> pd.DataFrame:
    return setups[setups[factor].isna() if level is None else setups[factor] == level]


def _by_examples(a: _Side, b: _Side, metric: str, examples: dict):
    """(low, high, p) of the paired bootstrap, or None without examples on both sides."""
    seeds = sorted(set(a.test.index) & set(b.test.index))
    if len(seeds) < 1:
        return None
    found = [bootstrap.setup_examples([examples.get(side.identities[s]) for s in seeds], metric)
             for side in (a, b)]
    if any(f is None for f in found) or not np.array_equal(found[0].labels, found[1].labels):
        return None
    return bootstrap.paired(found[0], found[1], metric)


def _within_range(low: float, high: float, metric: str) -> tuple[float, float]:
    """A difference of a metric in [lo, hi] lies in [lo - hi, hi - lo]."""
    lo, hi = metric_range(metric)
    if pd.isna(low) or not np.isfinite(hi - lo):
        return low, high
    return max(low, lo - hi), min(high, hi - lo)


def _few(n: int) -> str:
    if n < 3:
        return (f"only {n} seed{'s' if n != 1 else ''}: the interval and p-value rest on the "
                "test examples; too few seeds to conclude anything")
    return ""


def _seed_list(seeds: list) -> str:
    """Seeds as text ('1 4'), so the CSV cell stays one value; '' when none."""
    return " ".join(str(int(seed)) if float(seed).is_integer() else str(seed) for seed in seeds)
