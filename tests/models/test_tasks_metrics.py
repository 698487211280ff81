"""GLUE task specs and their metrics, checked on hand-made predictions."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from peftsweep.models.metrics import build_metrics, predictions
from peftsweep.spec.tasks import TASKS

GLUE = ("cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli")


def test_all_nine_glue_tasks_are_declared():
    assert set(GLUE) <= set(TASKS)
    for name in GLUE:
        assert TASKS[name].hub_path == "nyu-mll/glue" and TASKS[name].hub_name == name


@pytest.mark.parametrize("name,fields,labels,metrics", [
    ("cola", ("sentence",), 2, ("mcc", "accuracy")),
    ("sst2", ("sentence",), 2, ("accuracy",)),
    ("mrpc", ("sentence1", "sentence2"), 2, ("accuracy", "f1")),
    ("qqp", ("question1", "question2"), 2, ("accuracy", "f1")),
    ("stsb", ("sentence1", "sentence2"), 1, ("pearson", "spearman")),
    ("mnli", ("premise", "hypothesis"), 3, ("accuracy",)),
    ("qnli", ("question", "sentence"), 2, ("accuracy",)),
    ("rte", ("sentence1", "sentence2"), 2, ("accuracy",)),
    ("wnli", ("sentence1", "sentence2"), 2, ("accuracy",)),
])
def test_task_spec(name, fields, labels, metrics):
    spec = TASKS[name]
    assert spec.text_fields == fields
    assert spec.num_labels == labels
    assert spec.metrics == metrics
    assert spec.is_regression == (name == "stsb")


def test_mnli_tests_on_matched_and_mismatched():
    assert TASKS["mnli"].validation_splits == ("validation_matched", "validation_mismatched")


def _scores(task: str, logits: torch.Tensor, labels: torch.Tensor) -> dict:
    metrics = build_metrics(TASKS[task])
    metrics.update(predictions(logits, TASKS[task]), labels)
    return {k: float(v) for k, v in metrics.compute().items()}


def _one_hot_logits(preds: list[int], classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(preds), classes).float()


def test_accuracy_and_f1_for_mrpc():
    preds, gold = [1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 1, 0]
    scores = _scores("mrpc", _one_hot_logits(preds, 2), torch.tensor(gold))
    assert scores["accuracy"] == pytest.approx(4 / 6)
    # positive class: tp=2, fp=1, fn=1 -> precision 2/3, recall 2/3
    assert scores["f1"] == pytest.approx(2 / 3)


def test_matthews_for_cola():
    preds, gold = [1, 1, 1, 0, 0, 1, 0, 1], [1, 0, 1, 0, 1, 1, 0, 1]
    tp, tn, fp, fn = 4, 2, 1, 1
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    scores = _scores("cola", _one_hot_logits(preds, 2), torch.tensor(gold))
    assert scores["mcc"] == pytest.approx(expected, abs=1e-6)


def test_three_class_accuracy_for_mnli():
    preds, gold = [0, 1, 2, 2, 1], [0, 1, 1, 2, 0]
    assert _scores("mnli", _one_hot_logits(preds, 3), torch.tensor(gold))["accuracy"] == \
        pytest.approx(3 / 5)


def test_pearson_and_spearman_for_stsb():
    preds = [0.5, 2.0, 3.5, 1.0, 4.8]
    gold = [0.0, 2.5, 3.0, 1.5, 5.0]
    scores = _scores("stsb", torch.tensor(preds).unsqueeze(-1), torch.tensor(gold))
    assert scores["pearson"] == pytest.approx(stats.pearsonr(preds, gold)[0], abs=1e-5)
    assert scores["spearman"] == pytest.approx(stats.spearmanr(preds, gold)[0], abs=1e-5)
