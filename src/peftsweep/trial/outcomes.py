"""What result.json keeps of every test example (``test_examples``, see spec/examples.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from peftsweep.data.datamodule import ClassificationDataModule
from peftsweep.models.module import SequenceClassifier
from peftsweep.spec.examples import FIELD, encode


def test_examples(module: SequenceClassifier, datamodule: ClassificationDataModule,
                  world_size: int) -> dict[str, Any]:
    """``{"test_examples": {split: {"n", "labels", "predictions"}}}`` in each test split's
    own row order, or {} when the trial has none: a regression task, or DDP (each rank saw
    its own share of the examples)."""
    if world_size > 1 or not module.test_examples:
        return {}
    kept = {}
    for split, (labels, predictions) in module.test_examples.items():
        # The evaluation loader visits rows longest first (a stable sort): undo it.
        order = np.argsort(-np.asarray(datamodule.splits[split].lengths), kind="stable")
        if len(order) != len(labels):
            return {}
        rows = np.empty(len(order), dtype=int)
        rows[order] = np.arange(len(order))
        kept[split] = {"n": len(labels), "labels": encode([labels[i] for i in rows]),
                       "predictions": encode([predictions[i] for i in rows])}
    return {FIELD: kept}
