"""What result.json keeps of every test example (``test_examples``, see spec/examples.py)."""

from __future__ import annotations

from typing import Any

from peftsweep.models.module import SequenceClassifier
from peftsweep.spec.examples import FIELD, encode


def test_examples(module: SequenceClassifier, world_size: int) -> dict[str, Any]:
    """``{"test_examples": {split: {"n", "labels", "predictions"}}}``, or {} when the trial
    has none: a regression task, or DDP (each rank saw its own share of the examples)."""
    if world_size > 1 or not module.test_examples:
        return {}
    return {FIELD: {split: {"n": len(labels), "labels": encode(labels),
                            "predictions": encode(predictions)}
                    for split, (labels, predictions) in module.test_examples.items()}}
