"""Each task's own metrics through torchmetrics (MCC for CoLA, F1 for MRPC/QQP, ...)."""

from __future__ import annotations

import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    BinaryF1Score,
    MulticlassAccuracy,
    MulticlassMatthewsCorrCoef,
)
from torchmetrics.regression import PearsonCorrCoef, SpearmanCorrCoef

from peftsweep.spec.tasks import TaskSpec


def _make(name: str, num_labels: int):
    if name == "accuracy":
        return MulticlassAccuracy(num_classes=num_labels, average="micro")
    if name == "f1":
        # GLUE's F1 for MRPC/QQP is the F1 of the positive class.
        return BinaryF1Score()
    if name == "mcc":
        return MulticlassMatthewsCorrCoef(num_classes=num_labels)
    if name == "pearson":
        return PearsonCorrCoef()
    if name == "spearman":
        return SpearmanCorrCoef()
    raise ValueError(f"unknown metric {name!r}")


def build_metrics(task: TaskSpec) -> MetricCollection:
    return MetricCollection({name: _make(name, task.num_labels) for name in task.metrics})


def predictions(logits: torch.Tensor, task: TaskSpec) -> torch.Tensor:
    if task.is_regression:
        return logits.squeeze(-1).float()
    return logits.argmax(dim=-1)
