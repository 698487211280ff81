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
    lengths = {split: datamodule.splits[split].lengths for split in module.test_examples}
    return examples_record(module.test_examples, lengths)


def examples_record(found: dict[str, tuple[list[int], list[int]]],
                    lengths: dict[str, Any]) -> dict[str, Any]:
    """``found``: per split, (labels, predictions) in the evaluation loader's order."""
    kept = {}
    for split, (labels, predictions) in found.items():
        # The evaluation loader visits rows longest first (a stable sort): undo it.
        order = np.argsort(-np.asarray(lengths[split]), kind="stable")
        if len(order) != len(labels):
            return {}
        rows = np.empty(len(order), dtype=int)
        rows[order] = np.arange(len(order))
        kept[split] = {"n": len(labels), "labels": encode([labels[i] for i in rows]),
                       "predictions": encode([predictions[i] for i in rows])}
    return {FIELD: kept}
