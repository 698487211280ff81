"""Statistics over seeds: the t interval of a mean, and the paired t-test between two setups.

Seeds are the unit of replication: a setup run on seeds 1..n gives n values of a
metric. The interval of one setup's mean is Student's t interval; two setups are
compared only on the seeds both ran (the same seed means the same data order and
initialisation of the new parameters), by a paired t-test on the per-seed
differences. Every function returns NaN rather than a made-up number where the
seeds cannot support one, and :func:`seed_warning` says so in words.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
# Below this many seeds a difference is not worth a conclusion, whatever its p-value.
MIN_SEEDS = 3
PAIRED_TEST = "paired t-test"
NAN = float("nan")


class Interval(NamedTuple):
    mean: float
    low: float
    high: float
    n: int


class Paired(NamedTuple):
    """A paired comparison of setup a against setup b; diff = a - b on each matched seed."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    p_value: float
    only_a: list
    only_b: list
    warning: str


def mean_interval(values, confidence: float = CONFIDENCE) -> Interval:
    """The mean and its Student t confidence interval; NaN bounds below 2 values."""
    values = np.asarray(pd.Series(values, dtype=float).dropna(), dtype=float)
    n = len(values)
    if n == 0:
        return Interval(NAN, NAN, NAN, 0)
    mean = float(values.mean())
    if n < 2:
        return Interval(mean, NAN, NAN, n)
    sem = float(stats.sem(values))
    if sem == 0.0:
        return Interval(mean, mean, mean, n)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), n)


def seed_warning(n: int, *, no_spread: bool = False) -> str:
    """A plain sentence for a reader when n seeds cannot support a conclusion; '' otherwise."""
    if n == 0:
        return "no seeds in common: nothing to compare"
    if n == 1:
        return "1 seed: no confidence interval; too few seeds to conclude anything"
    words = [f"only {n} seeds: too few to conclude anything"] if n < MIN_SEEDS else []
    if no_spread:
        words.append("the same difference on every seed: no t-test possible")
    return "; ".join(words)


def _by_seed(values: pd.Series) -> pd.Series:
    """Values indexed by seed, missing ones dropped; a seed run twice counts once (its mean)."""
    values = pd.Series(values, dtype=float).dropna()
    return values.groupby(level=0).mean()


def paired_comparison(a: pd.Series, b: pd.Series, confidence: float = CONFIDENCE) -> Paired:
    """Paired t-test of a against b over the seeds both have (Series indexed by seed).

    Seeds that only one side has are left out of every number and returned in
    ``only_a`` / ``only_b`` so that a table can say what was dropped.
    """
    a, b = _by_seed(a), _by_seed(b)
    matched = sorted(set(a.index) & set(b.index))
    only_a = sorted(set(a.index) - set(matched))
    only_b = sorted(set(b.index) - set(matched))
    x, y = a.loc[matched].to_numpy(), b.loc[matched].to_numpy()
    n = len(matched)
    mean_a = float(x.mean()) if n else NAN
    mean_b = float(y.mean()) if n else NAN
    diff = mean_a - mean_b if n else NAN
    low = high = p_value = NAN
    differences = x - y
    # Identical differences on every seed leave the t statistic undefined (0 / 0 or x / 0).
    no_spread = n >= 2 and bool(np.isclose(differences.std(), 0.0, atol=1e-12))
    if n >= 2 and not no_spread:
        result = stats.ttest_rel(x, y)
        interval = result.confidence_interval(confidence_level=confidence)
        low, high, p_value = float(interval.low), float(interval.high), float(result.pvalue)
    return Paired(n, mean_a, mean_b, diff, low, high, p_value, only_a, only_b,
                  seed_warning(n, no_spread=no_spread))


# Where each metric lives: intervals and differences stay inside.
METRIC_RANGES = {"accuracy": (0.0, 1.0), "f1": (0.0, 1.0), "mcc": (-1.0, 1.0),
                 "pearson": (-1.0, 1.0), "spearman": (-1.0, 1.0)}
SEED_BOOTSTRAP = "bootstrap (seeds)"
HOLM = "Holm"


def metric_range(metric: str) -> tuple[float, float]:
    """The range of a metric ('mismatched/accuracy' is an accuracy); unbounded if unknown."""
    return METRIC_RANGES.get(str(metric).rsplit("/", 1)[-1], (-np.inf, np.inf))


def seed_interval(values, confidence: float = CONFIDENCE) -> Interval:
    """The mean over seeds and a percentile bootstrap interval over them (scipy), which stays
    within the values seen, so within the metric's range; NaN bounds below MIN_SEEDS."""
    values = np.asarray(pd.Series(values, dtype=float).dropna(), dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else NAN
    if n < MIN_SEEDS:
        return Interval(mean, NAN, NAN, n)
    if np.ptp(values) == 0:
        return Interval(mean, mean, mean, n)
    result = stats.bootstrap((values,), np.mean, confidence_level=confidence,
                             method="percentile", n_resamples=2000,
                             rng=np.random.default_rng(0))
    return Interval(mean, float(result.confidence_interval.low),
                    float(result.confidence_interval.high), n)


def holm(p_values) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (NaN stays NaN, outside it).

    The k-th smallest of m p-values is multiplied by m - k + 1, capped at 1, and no
    adjusted value is below the one before it: rejecting where the adjusted p < alpha
    keeps the chance of any false rejection in the family below alpha.
    """
    p = np.asarray(list(p_values), dtype=float)
    adjusted = np.full(len(p), NAN)
    known = np.flatnonzero(~np.isnan(p))
    order = known[np.argsort(p[known], kind="stable")]
    m, running = len(order), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()
