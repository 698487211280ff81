"""From raw splits to the three a trial uses: train, validation (selection) and test.

``data.selection=validation`` selects on the official validation split;
``split_train`` carves a seeded validation fraction out of train. ``data.test_on``
names the split tested once at the best checkpoint: ``validation`` is the
default for GLUE, whose test labels are hidden.
"""

from __future__ import annotations

import sys

import datasets

from peftsweep.errors import DataError
from peftsweep.spec.config import DataConfig
from peftsweep.spec.tasks import TaskSpec


def _label_lookup(spec: TaskSpec) -> dict:
    lookup: dict = {}
    for index, name in enumerate(spec.label_names):
        lookup.update({name: index, index: index, str(index): index})
    return lookup


def map_labels(split: str, ds: datasets.Dataset, spec: TaskSpec) -> datasets.Dataset:
    """Replace the label column by ``labels`` (class index or float), rejecting stray values."""
    missing = [c for c in (*spec.text_fields, spec.label_field) if c not in ds.column_names]
    if missing:
        raise DataError(f"data.text_fields/label_field: column {missing[0]!r} not in split "
                        f"{split!r} (columns: {', '.join(ds.column_names)})")
    raw = ds[spec.label_field]
    if spec.is_regression:
        try:
            labels = [float(value) for value in raw]
        except (TypeError, ValueError) as err:
            raise DataError(f"data.label_field: non-numeric label in split {split!r} "
                            f"of a regression task: {err}") from err
    else:
        lookup = _label_lookup(spec)
        bad = next((v for v in raw if v not in lookup and str(v) not in lookup), None)
        if bad is not None or (raw and None in raw):
            raise DataError(f"data.label_names: label {bad!r} in split {split!r} is not one of "
                            f"{list(spec.label_names)}")
        labels = [lookup[v] if v in lookup else lookup[str(v)] for v in raw]
    keep = list(spec.text_fields)
    return ds.select_columns(keep).add_column("labels", labels)


def _has_labels(ds: datasets.Dataset, spec: TaskSpec) -> bool:
    # GLUE's hub test splits carry -1 for the hidden labels.
    values = ds[spec.label_field] if spec.label_field in ds.column_names else []
    return any(v is not None and v != -1 for v in values)


def _limit(ds: datasets.Dataset, limit: int | None, seed: int) -> datasets.Dataset:
    if limit is None or limit >= len(ds):
        return ds
    return ds.shuffle(seed=seed).select(range(limit))


def official_eval_splits(raw: datasets.DatasetDict, spec: TaskSpec) -> list[str]:
    return [s for s in spec.validation_splits if s in raw] or (
        ["validation"] if "validation" in raw else [])


def select_splits(raw: datasets.DatasetDict, data: DataConfig,
                  spec: TaskSpec) -> datasets.DatasetDict:
    """Apply the split policy and label mapping; test splits are named test, test_<name>."""
    if "train" not in raw:
        raise DataError("data: the source has no train split")
    train = raw["train"]
    official = official_eval_splits(raw, spec)
    if data.selection == "split_train":
        parts = train.train_test_split(test_size=data.validation_fraction, seed=data.split_seed)
        train, validation = parts["train"], parts["test"]
    elif official:
        validation = raw[official[0]]
    else:
        raise DataError("data.selection: no validation split in the source "
                        "(allowed: split_train)")
    if data.test_on == "validation":
        tests = {name: raw[name] for name in official}
    elif "test" in raw and _has_labels(raw["test"], spec):
        tests = {"test": raw["test"]}
    else:
        raise DataError("data.test_on: the source has no labelled test split "
                        "(allowed: validation, which tests on the official validation split)")
    out = {"train": _limit(train, data.max_train_samples, data.split_seed),
           "validation": _limit(validation, data.max_eval_samples, data.split_seed)}
    for index, (name, ds) in enumerate(tests.items()):
        out["test" if index == 0 else f"test_{name}"] = _limit(
            ds, data.max_eval_samples, data.split_seed)
    for split, ds in out.items():
        if len(ds) == 0:
            raise DataError(f"data: split {split!r} is empty")
    mapped = datasets.DatasetDict({s: map_labels(s, ds, spec) for s, ds in out.items()})
    _warn_if_one_class(mapped["train"], spec)
    return mapped


def _warn_if_one_class(train: datasets.Dataset, spec: TaskSpec) -> None:
    # Legal (a probe of a one-sided set) but almost always a wrong label column or mapping.
    if spec.is_regression or "labels" not in train.column_names:
        return
    classes = set(train["labels"])
    if len(classes) == 1:
        (only,) = classes
        name = spec.label_names[only] if spec.label_names else only
        print(f"peftsweep: warning: data: every training label is {name!r} (one class of "
              f"{spec.num_labels}): the model can only learn to predict it; check "
              "data.label_field and data.label_names", file=sys.stderr)


def test_split_note(data: DataConfig, spec: TaskSpec) -> str:
    if data.test_on == "validation":
        return ("official validation split (test labels hidden); selection on a seeded "
                f"{data.validation_fraction:g} split of train")
    if data.selection == "split_train":
        return f"official test split; selection on a seeded {data.validation_fraction:g} " \
               "split of train"
    return "official test split; selection on the official validation split"
