"""Intervals over seeds and test examples together: a two-level bootstrap.

A setup's test metric varies with the seed and with the test examples that happen to be in
the test set. Each bootstrap replicate draws the seeds with replacement and, once for all of
them (every seed saw the same examples), the test examples with replacement, then averages
the metric of the drawn seeds on the drawn examples. The 2.5% and 97.5% quantiles of the
replicates are the interval; every replicate is itself a value of the metric, so the
interval never leaves the metric's range (an accuracy stays in [0, 1]). Two setups compared
on their matched seeds share each replicate's draws, and the share of replicates on either
side of zero gives a two-sided p-value.

Accuracy, F1 (of the positive class, as GLUE's) and MCC are computed from each replicate's
confusion counts; the per-example labels and predictions come from result.json
(``test_examples``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from peftsweep.spec.examples import decode, split_of

REPLICATES = 2000
CHUNK = 250  # replicates drawn at once (memory: CHUNK x examples weights)
SEED = 20_231  # a fixed stream: the same report every time
METRICS = ("accuracy", "f1", "mcc")
TEST_NAME = "paired bootstrap (seeds x test examples)"
METHOD = "bootstrap (seeds x test examples)"


class Examples(NamedTuple):
    """One setup's test examples: the labels, and each seed's predictions (a row each)."""

    labels: np.ndarray  # (N,)
    predictions: np.ndarray  # (seeds, N)


def supports(metric: str) -> bool:
    return metric.rsplit("/", 1)[-1] in METRICS


def _metric(counts: np.ndarray, classes: int, metric: str) -> np.ndarray:
    """The metric from confusion counts (..., classes * classes), label-major."""
    confusion = counts.reshape(*counts.shape[:-1], classes, classes)
    total = confusion.sum(axis=(-2, -1))
    correct = np.trace(confusion, axis1=-2, axis2=-1)
    name = metric.rsplit("/", 1)[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "accuracy":
            return correct / total
        if name == "f1":  # positive class 1, as torchmetrics' BinaryF1Score
            tp = confusion[..., 1, 1]
            fp, fn = confusion[..., 0, 1], confusion[..., 1, 0]
            return np.nan_to_num(2 * tp / (2 * tp + fp + fn))
        # Matthews' correlation for any number of classes (Gorodkin's R_K).
        true, predicted = confusion.sum(axis=-1), confusion.sum(axis=-2)
        cov = correct * total - (true * predicted).sum(axis=-1)
        spread = np.sqrt((total**2 - (predicted**2).sum(axis=-1)) *
                         (total**2 - (true**2).sum(axis=-1)))
        return np.nan_to_num(cov / spread)


def _replicates(setups: list[Examples], metric: str) -> np.ndarray:
    """(replicates, setups): each setup's seed-mean metric under the shared draws."""
    rng = np.random.default_rng(SEED)
    labels = setups[0].labels
    n, seeds = len(labels), setups[0].predictions.shape[0]
    classes = int(max(labels.max(), *(s.predictions.max() for s in setups))) + 1
    onehots = [[np.eye(classes * classes, dtype=np.float32)[labels * classes + row]
                for row in s.predictions] for s in setups]
    out = []
    for start in range(0, REPLICATES, CHUNK):
        size = min(CHUNK, REPLICATES - start)
        weights = rng.multinomial(n, np.full(n, 1 / n), size=size).astype(np.float32)
        drawn = rng.integers(0, seeds, size=(size, seeds))  # seeds with replacement
        per_setup = []
        for onehot in onehots:
            values = np.stack([_metric(weights @ seed, classes, metric) for seed in onehot],
                              axis=1)  # (size, seeds)
            per_setup.append(np.take_along_axis(values, drawn, axis=1).mean(axis=1))
        out.append(np.stack(per_setup, axis=1))
    return np.concatenate(out)


def interval(examples: Examples, metric: str, confidence: float = 0.95) -> tuple[float, float]:
    values = _replicates([examples], metric)[:, 0]
    tail = (1 - confidence) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


def paired(a: Examples, b: Examples, metric: str,
           confidence: float = 0.95) -> tuple[float, float, float]:
    """Interval of the difference a - b (matched seeds, same rows) and its p-value."""
    values = _replicates([a, b], metric)
    diff = values[:, 0] - values[:, 1]
    tail = (1 - confidence) / 2
    below, above = np.sum(diff <= 0), np.sum(diff >= 0)
    p_value = min(1.0, 2 * (min(below, above) + 1) / (len(diff) + 1))
    return float(np.quantile(diff, tail)), float(np.quantile(diff, 1 - tail)), p_value


def setup_examples(raw: list[dict | None], metric_key: str) -> Examples | None:
    """A setup's examples for one test metric, from its seeds' ``test_examples`` (in seed
    order); None unless every seed has them, on the same labels, for a supported metric."""
    split = split_of(metric_key)
    if not raw or not supports(metric_key) or any(not r or split not in r for r in raw):
        return None
    labels = [decode(r[split]["labels"]) for r in raw]
    if any(row != labels[0] for row in labels[1:]) or not labels[0]:
        return None  # not the same test examples in the same order
    predictions = np.array([decode(r[split]["predictions"]) for r in raw])
    return Examples(np.array(labels[0]), predictions)
