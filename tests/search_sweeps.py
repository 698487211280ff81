"""What the search tests share: the sweep folder a search wrote, its results, its study,
and the check that the two agree."""

from __future__ import annotations

import re
from pathlib import Path

import optuna

from peftsweep.spec.results import read_result


def sweep_dir_in(root: Path) -> Path:
    (summary,) = root.glob("*/*/summary.json")
    return summary.parent


def results_of(sweep_dir: Path) -> dict[str, dict]:
    return {p.parent.name: read_result(p) for p in sweep_dir.glob("*/result.json")}


def study_of(sweep_dir: Path) -> optuna.Study:
    url = f"sqlite:///{sweep_dir / 'study.db'}"
    (name,) = optuna.get_all_study_names(url)
    return optuna.load_study(study_name=name, storage=url)


def assert_study_matches_results(sweep_dir: Path, n_trials: int) -> dict[str, dict]:
    """Every counted trial has its job folder and a result of the matching status."""
    results = results_of(sweep_dir)
    study = study_of(sweep_dir)
    retried = {n for t in study.trials for n in t.system_attrs.get("retry_history", [])}
    counted = [t for t in study.trials if t.number not in retried]
    assert len(counted) == n_trials
    states = {"ok": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED}
    for trial in counted:
        result = results[trial.user_attrs["job"]]
        assert trial.state == states[result["status"]], (trial.number, result["status"])
        if result["status"] == "ok":
            assert trial.value == result["best"]["validation"]["accuracy"]
        else:
            assert result["failed_step"] == result["pruned_at"]["step"] > 0
            assert len(result["history"]) == result["pruned_at"]["validation"]
    return results


def progress_counts(text: str) -> list[tuple[int, int]]:
    """The (i, N) of every progress line, sorted."""
    found = re.findall(r"^peftsweep: \[(\d+)/(\d+)\] ", text, flags=re.MULTILINE)
    return sorted((int(i), int(n)) for i, n in found)
