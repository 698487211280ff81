"""Task specs: input columns, labels, metrics and official splits of each task.

GLUE test labels are hidden, so GLUE tasks default to selecting on a seeded
split of train and testing on the official validation split (see the data
configs and the ``test_split`` field of each result).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    name: str
    text_fields: tuple[str, ...]
    label_field: str = "label"
    label_names: tuple[str, ...] | None = None
    """None means regression (one real-valued output)."""
    metrics: tuple[str, ...] = ("accuracy",)
    """The first metric selects hyper-parameters and the best checkpoint."""
    hub_path: str | None = None
    hub_name: str | None = None
    validation_splits: tuple[str, ...] = ("validation",)
    """Official evaluation splits; MNLI has two."""

    @property
    def is_regression(self) -> bool:
        return self.label_names is None

    @property
    def num_labels(self) -> int:
        return 1 if self.label_names is None else len(self.label_names)

    @property
    def main_metric(self) -> str:
        return self.metrics[0]


def _glue(name: str, fields: tuple[str, ...], labels, metrics=("accuracy",), **kw) -> TaskSpec:
    return TaskSpec(name, fields, label_names=labels, metrics=metrics,
                    hub_path="nyu-mll/glue", hub_name=name, **kw)


_BINARY_ENTAIL = ("entailment", "not_entailment")

TASKS: dict[str, TaskSpec] = {
    "demo": TaskSpec("demo", ("text",), label_names=("negative", "positive")),
    "imdb": TaskSpec("imdb", ("text",), label_names=("neg", "pos"), hub_path="stanfordnlp/imdb"),
    "cola": _glue("cola", ("sentence",), ("unacceptable", "acceptable"), ("mcc", "accuracy")),
    "sst2": _glue("sst2", ("sentence",), ("negative", "positive")),
    "mrpc": _glue("mrpc", ("sentence1", "sentence2"), ("not_equivalent", "equivalent"),
                  ("accuracy", "f1")),
    "qqp": _glue("qqp", ("question1", "question2"), ("not_duplicate", "duplicate"),
                 ("accuracy", "f1")),
    "stsb": _glue("stsb", ("sentence1", "sentence2"), None, ("pearson", "spearman")),
    "mnli": _glue("mnli", ("premise", "hypothesis"), ("entailment", "neutral", "contradiction"),
                  validation_splits=("validation_matched", "validation_mismatched")),
    "qnli": _glue("qnli", ("question", "sentence"), _BINARY_ENTAIL),
    "rte": _glue("rte", ("sentence1", "sentence2"), _BINARY_ENTAIL),
    "wnli": _glue("wnli", ("sentence1", "sentence2"), ("not_entailment", "entailment")),
}

