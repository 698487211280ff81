"""Why an exported model was chosen: the report's numbers for its setup, as flat values.

For the setup (model, data, strategy, initialisation) of an exported trial at its
selected hyper-parameters: the test metric's mean over seeds and its 95% interval, and
the paired comparison over matched seeds against the runner-up, the other setup on the
same data that validation ranks next, both made as the report makes them. The model
card and the MLflow registry carry these.
A trial away from its setup's selection has no such evidence (None).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from peftsweep.report.collect import GROUP, HPARAMS, collect
from peftsweep.report.comparisons import compare
from peftsweep.report.stats import CONFIDENCE
from peftsweep.report.tables import build_tables


def _matches(frame: pd.DataFrame, values: dict[str, Any], keys: list[str]) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for key in keys:
        value = values.get(key)
        mask &= frame[key].isna() if value is None else frame[key] == value
    return mask


def _setup_label(row: pd.Series) -> str:
    init = "" if row["pretrained"] in (True, None) else " (random init)"
    return f"{row['model']}/{row['data']}/{row['strategy']}{init} lr={row['lr']:g} " \
           f"batch_size={int(row['batch_size'])}"


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)


def _seed_rows(per_seed: pd.DataFrame, setup: pd.Series) -> pd.DataFrame:
    return per_seed[_matches(per_seed, setup.to_dict(), [*GROUP, *HPARAMS])]


def _runner_up(selection: pd.DataFrame, chosen: pd.Series) -> pd.Series | None:
    """The other setup on the same data set that validation ranks best."""
    others = selection[(selection["data"] == chosen["data"])
                       & (selection["metric"] == chosen["metric"])
                       & ~_matches(selection, chosen.to_dict(), GROUP)]
    if others.empty:
        return None
    ascending = chosen["mode"] == "min"
    return others.sort_values("val_mean", ascending=ascending).iloc[0]


def selection_evidence(sweep_dir: Path, science: dict[str, Any]) -> dict[str, Any] | None:
    """The report's evidence for the setup of ``science`` (a result's science keys)."""
    collection = collect([Path(sweep_dir)])
    tables = build_tables(collection)
    chosen = tables.selection[_matches(tables.selection, science, [*GROUP, *HPARAMS])]
    if chosen.empty:
        return None
    chosen = chosen.iloc[0]
    metric = chosen["metric"]
    test = tables.test[_matches(tables.test, chosen.to_dict(), [*GROUP, *HPARAMS])].iloc[0]
    evidence = {
        "metric": metric, "confidence": CONFIDENCE, "seeds": int(test["seeds"]),
        "test_mean": _number(test.get(f"test/{metric} mean")),
        "test_ci_low": _number(test.get(f"test/{metric} ci_low")),
        "test_ci_high": _number(test.get(f"test/{metric} ci_high")),
        "interval": test.get(f"test/{metric} interval") or None,
        "validation_mean": _number(chosen["val_mean"]),
    }
    runner = _runner_up(tables.selection, chosen)
    if runner is not None:
        paired = compare(_seed_rows(tables.per_seed, chosen), _seed_rows(tables.per_seed, runner),
                         metric, collection.examples)
        evidence.update({
            "runner_up": _setup_label(runner), "runner_up_test_mean": _number(paired["mean_b"]),
            "diff": _number(paired["diff"]), "diff_ci_low": _number(paired["diff_ci_low"]),
            "diff_ci_high": _number(paired["diff_ci_high"]),
            "p_value": _number(paired["p_value"]), "test": paired["test"],
            "matched_seeds": paired["seeds"], "warning": paired["warning"],
        })
    return evidence
