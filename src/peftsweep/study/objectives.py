"""What a study optimises: the task's validation metric (maximised), and a cost (minimised)
when ``search.cost`` names one. The objectives carry names, so Optuna's own tools
(optuna-dashboard) show "val accuracy" and "trainable params", not unnamed values.
"""

from __future__ import annotations

import warnings
from typing import Any

from peftsweep.spec.search import COSTS, SearchSettings, cost_value


def directions(settings: SearchSettings) -> list[str]:
    return ["maximize", "minimize"] if settings.cost else ["maximize"]


def metric_names(metric: str, settings: SearchSettings) -> list[str]:
    names = [f"val {metric}"]
    return [*names, COSTS[settings.cost]] if settings.cost else names


def name_objectives(study, metric: str, settings: SearchSettings) -> None:
    """Name the study's objectives once (a study made before names existed gets them)."""
    import optuna

    if study.metric_names is None:
        with warnings.catch_warnings():  # marked experimental since Optuna 3.2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(metric_names(metric, settings))


def told_values(result: dict[str, Any], settings: SearchSettings) -> list[float] | None:
    """The objective values of a finished (ok) result; None where a cost is missing."""
    metric = result["metric"]["name"]
    values = [float(result["best"]["validation"][metric])]
    if settings.cost:
        cost = cost_value(result, settings.cost)
        if cost is None:
            return None
        values.append(cost)
    return values
