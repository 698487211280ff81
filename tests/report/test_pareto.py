"""The Pareto front of a metric against a cost."""

from __future__ import annotations

import pandas as pd

from peftsweep.report.pareto import front, on_front


def test_dominated_points_leave_the_front():
    frame = pd.DataFrame({
        "name": ["cheap", "dominated", "best", "tie_cost_worse", "missing"],
        "accuracy": [0.70, 0.69, 0.90, 0.85, None],
        "params": [100, 200, 10_000, 10_000, 5],
    })
    assert list(on_front(frame, "accuracy", "params")) == [True, False, True, False, False]
    assert list(front(frame, "accuracy", "params")["name"]) == ["cheap", "best"]


def test_a_metric_to_minimise_flips_the_direction():
    frame = pd.DataFrame({"loss": [0.2, 0.1, 0.3], "seconds": [5.0, 9.0, 1.0]})
    assert list(on_front(frame, "loss", "seconds", maximize=False)) == [True, True, True]
    frame.loc[2, "loss"] = 0.25
    frame.loc[2, "seconds"] = 6.0
    assert list(on_front(frame, "loss", "seconds", maximize=False)) == [True, True, False]


def test_equal_points_both_stay():
    frame = pd.DataFrame({"v": [0.5, 0.5], "c": [1, 1]})
    assert on_front(frame, "v", "c").all()
