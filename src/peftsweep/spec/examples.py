"""Per-example test outcomes in result.json: each test example's label and prediction.

They let a report put intervals on a test metric that respect its range (a bootstrap over
the test examples and the seeds) and pair two setups example by example. Class indices are
written as one string of digits where every class is below 10 (a few bytes per example),
else as a list.
"""

from __future__ import annotations

FIELD = "test_examples"  # in each test split's row order


def encode(classes: list[int]) -> str | list[int]:
    if all(0 <= value <= 9 for value in classes):
        return "".join(map(str, classes))
    return list(classes)


def decode(classes: str | list[int]) -> list[int]:
    return [int(value) for value in classes]


def split_of(metric_key: str) -> str:
    """The test split a test metric key was measured on: 'accuracy' -> 'test',
    'mismatched/accuracy' -> 'test_mismatched'."""
    return f"test_{metric_key.split('/', 1)[0]}" if "/" in metric_key else "test"
