"""The numbers behind each report table, as plain numeric DataFrames.

Selection follows the usual protocol: hyper-parameters are chosen on the
validation metric (mean over seeds), and only then are test numbers read, at the
chosen hyper-parameters. In a search that confirmed its best configurations over seeds,
a group (model, data, strategy, initialisation) holding a confirmed configuration chooses
among its confirmed ones only: a point run at one seed does not beat them by luck.
Formatting for humans lives in :mod:`.render`; the frames here are what the CSV files hold.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

import pandas as pd

from peftsweep.report import bootstrap
from peftsweep.report.collect import GROUP, HPARAMS, Collection
from peftsweep.report.comparisons import comparison_table
from peftsweep.report.frontier import pareto_table
from peftsweep.report.stats import (
    MIN_SEEDS,
    SEED_BOOTSTRAP,
    Interval,
    seed_interval,
    seed_warning,
)

# Means that differ only by float noise (0.85+0.87 vs 0.86+0.86) count as a tie.
TIE_DECIMALS = 10


class Tables(NamedTuple):
    grid: pd.DataFrame
    selection: pd.DataFrame
    test: pd.DataFrame
    per_seed: pd.DataFrame
    gaps: pd.DataFrame
    comparisons: pd.DataFrame
    pareto: pd.DataFrame


def build_tables(collection: Collection) -> Tables:
    grid = hp_grid(collection)
    selection = selection_table(grid)
    per_seed = per_seed_table(collection, selection)
    test = evaluation_table(collection, selection)
    return Tables(
        grid=grid,
        selection=selection,
        test=test,
        per_seed=per_seed,
        gaps=gaps_table(collection),
        comparisons=comparison_table(per_seed, collection.examples),
        pareto=pareto_table(test),
    )


def _groups(frame: pd.DataFrame, keys: list[str]):
    # sort=False keeps the collector's deterministic order and tolerates None keys.
    return frame.groupby(keys, dropna=False, sort=False)


def _key_dict(keys: list[str], values) -> dict[str, Any]:
    values = values if isinstance(values, tuple) else (values,)
    return {key: (None if pd.isna(v) else v) for key, v in zip(keys, values, strict=True)}


def group_metric(trials: pd.DataFrame) -> tuple[str, str]:
    """The selection metric of a group: the one its results name (most common, if they differ)."""
    pairs = Counter(zip(trials["metric"], trials["metric_mode"], strict=True))
    (name, mode), _ = pairs.most_common(1)[0]
    return str(name), ("min" if mode == "min" else "max")


def hp_grid(collection: Collection) -> pd.DataFrame:
    """Mean and std of the validation metric over seeds, per group and lr x batch size."""
    rows = []
    for key, trials in _groups(collection.ok, GROUP):
        metric, mode = group_metric(trials)
        column = f"val/{metric}"
        for hp, cell in _groups(trials, HPARAMS):
            values = cell[column].dropna() if column in cell else pd.Series(dtype=float)
            rows.append({
                **_key_dict(GROUP, key), **_key_dict(HPARAMS, hp),
                "metric": metric, "mode": mode,
                "val_mean": values.mean(), "val_std": values.std(ddof=1), "seeds": len(values),
                "confirmed": _confirmed(cell),
            })
    columns = [*GROUP, *HPARAMS, "metric", "mode", "val_mean", "val_std", "seeds", "confirmed"]
    return pd.DataFrame(rows, columns=columns)


def _confirmed(cell: pd.DataFrame) -> bool:
    """Whether a search re-ran this configuration at more seeds (a confirmation trial)."""
    return bool("confirms" in cell and cell["confirms"].notna().any())


def _rank(row: pd.Series) -> tuple[float, float, float]:
    """Sort key: better metric first, then the smaller learning rate, then the smaller batch."""
    sign = -1.0 if row["mode"] == "max" else 1.0
    return (sign * round(float(row["val_mean"]), TIE_DECIMALS), row["lr"], row["batch_size"])


def selection_table(grid: pd.DataFrame) -> pd.DataFrame:
    """The best lr x batch size per group, judged on mean validation metric over seeds."""
    rows = []
    for _, cells in _groups(grid, GROUP):
        candidates = [row for _, row in cells.iterrows() if not pd.isna(row["val_mean"])]
        candidates = [row for row in candidates if row["confirmed"]] or candidates
        if not candidates:
            continue
        best = min(candidates, key=_rank)
        rows.append({**best.to_dict(), "combos": len(candidates)})
    columns = [*grid.columns, "combos"]
    return pd.DataFrame(rows, columns=columns)


def selected_trials(collection: Collection, selection: pd.DataFrame):
    """Yield each selected row with the finished trials run at its hyper-parameters."""
    ok = collection.ok
    for _, chosen in selection.iterrows():
        mask = pd.Series(True, index=ok.index)
        for key in [*GROUP, *HPARAMS]:
            mask &= ok[key].isna() if pd.isna(chosen[key]) else ok[key] == chosen[key]
        yield chosen, ok[mask]


def _test_keys(trials: pd.DataFrame, metric: str) -> list[str]:
    """The test metrics present, the selection metric first (extra ones, e.g. MNLI mismatched)."""
    keys = [c[len("test/"):] for c in trials.columns if c.startswith("test/")]
    keys = [k for k in keys if trials[f"test/{k}"].notna().any()]
    return sorted(keys, key=lambda k: (k != metric, k))


def evaluation_table(collection: Collection, selection: pd.DataFrame) -> pd.DataFrame:
    # Not named test_*: pytest would collect it wherever it is imported into a test module.
    """Parameters and test metrics at the chosen hyper-parameters.

    Per test metric: mean, sample std and the 95% t interval of the mean over seeds.
    """
    rows = []
    for chosen, trials in selected_trials(collection, selection):
        row = {key: chosen[key] for key in [*GROUP, *HPARAMS, "metric"]}
        row["params_trainable"] = _typical(trials["params_trainable"])
        row["params_total"] = _typical(trials["params_total"])
        row["trainable_percent"] = trials["trainable_percent"].dropna().median()
        row["budget"], row["capacity"] = _first(trials, "budget"), _first(trials, "capacity")
        trials = trials.sort_values("seed")
        unbounded = []
        for key in _test_keys(trials, chosen["metric"]):
            scored = trials.dropna(subset=[f"test/{key}"])
            values = scored[f"test/{key}"]
            interval, method = test_interval(values, [collection.examples.get(i) for i in
                                                      scored["identity"]], key)
            row[f"test/{key} mean"] = interval.mean
            row[f"test/{key} std"] = values.std(ddof=1)
            row[f"test/{key} ci_low"] = interval.low
            row[f"test/{key} ci_high"] = interval.high
            row[f"test/{key} interval"] = method
            if not method and len(values) > 1:
                unbounded.append(key)
        row["seeds"] = len(trials)
        row["warning"] = "; ".join(filter(None, [seed_warning(len(trials)), *(
            f"no interval for {key}: it needs {MIN_SEEDS} seeds, or per-example test results"
            for key in unbounded[:1])]))
        rows.append(row)
    base = [*GROUP, *HPARAMS, "metric", "params_trainable", "params_total", "trainable_percent",
            "budget", "capacity"]
    if not rows:
        return pd.DataFrame(columns=[*base, "seeds", "warning"])
    frame = pd.DataFrame(rows)
    # Test-metric columns differ between groups; put them between the counts and the seeds.
    extra = [c for c in frame.columns if c not in base and c not in ("seeds", "warning")]
    return frame[[*base, *extra, "seeds", "warning"]]


def test_interval(values: pd.Series, examples: list, key: str) -> tuple[Interval, str]:
    """The mean over seeds and an interval inside the metric's range, with how it was made:
    a bootstrap over seeds and test examples where every seed kept its examples, else over
    the seeds (from MIN_SEEDS on), else none."""
    found = bootstrap.setup_examples(examples, key)
    if found is not None and len(values) == found.predictions.shape[0]:
        low, high = bootstrap.interval(found, key)
        return Interval(float(values.mean()), low, high, len(values)), bootstrap.METHOD
    interval = seed_interval(values)
    return interval, ("" if pd.isna(interval.low) else SEED_BOOTSTRAP)


def _first(trials: pd.DataFrame, column: str):
    values = trials[column].dropna() if column in trials else pd.Series(dtype=object)
    return values.iloc[0] if not values.empty else None


def _typical(values: pd.Series):
    """Parameter counts do not depend on the seed; the median guards against a stray value."""
    values = values.dropna()
    if values.empty:
        return None
    median = float(values.median())
    return int(median) if median.is_integer() else median


def per_seed_table(collection: Collection, selection: pd.DataFrame) -> pd.DataFrame:
    """Each seed at the selected hyper-parameters: best validation, its step, test there."""
    rows = []
    for chosen, trials in selected_trials(collection, selection):
        metric = chosen["metric"]
        for _, trial in trials.sort_values("seed").iterrows():
            rows.append({
                **{key: chosen[key] for key in [*GROUP, *HPARAMS]},
                "seed": trial["seed"], "identity": trial["identity"], "metric": metric,
                "val": trial.get(f"val/{metric}"), "best_step": trial["best_step"],
                "best_epoch": trial["best_epoch"], "test": trial.get(f"test/{metric}"),
            })
    columns = [*GROUP, *HPARAMS, "seed", "identity", "metric", "val", "best_step", "best_epoch",
               "test"]
    return pd.DataFrame(rows, columns=columns)


def gaps_table(collection: Collection) -> pd.DataFrame:
    """Everything missing from the numbers: failed and diverged trials, unusable files."""
    columns = ["status", *GROUP, *HPARAMS, "seed", "step", "error", "path"]
    rows = []
    table = collection.table
    if not table.empty:
        for _, trial in table[table["status"] != "ok"].iterrows():
            rows.append({
                **{key: trial.get(key) for key in columns[:-3]},
                "step": trial.get("failed_step"), "error": trial.get("error"),
                "path": f"{trial['sweep']}/{trial['job_dir']}",
            })
    for problem in collection.problems:
        rows.append({"status": problem.kind, "error": problem.reason, "path": str(problem.path)})
    return pd.DataFrame(rows, columns=columns)
