"""A cost-aware search that confirms its best configuration at a second seed, warm-started
from an earlier grid: its study, selection, report front and export agree."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

from helpers import SEARCH
from search_sweeps import progress_counts, results_of, study_of, sweep_dir_in

# A cost-aware search that confirms its best configuration at a second seed.
CONFIRM_PRESET = """\
defaults:
  - _schema
  - _self_
sampler: random
seed: 3
heartbeat_s: 1
n_trials: 2
cost: trainable_params
confirm: {top_k: 1, seeds: 2}
space:
  lr: {type: float, low: 1.0e-3, high: 5.0e-3, log: true}
  strategy: {type: categorical, choices: [full, bitfit]}
"""


@pytest.mark.integration
def test_a_confirmed_cost_aware_search_selects_what_it_confirmed(run_train, search_conf,
                                                                  tmp_path, capsys):
    from peftsweep import load_sweep
    from peftsweep.report.search_front import trade_off_table, write_front
    from peftsweep.report.selection import selected
    from peftsweep.sweep.status import sweep_status

    (search_conf / "search" / "confirm.yaml").write_text(CONFIRM_PRESET)
    root = tmp_path / "multirun"
    args = ["-m", "hydra/sweeper=search", "search=confirm", *SEARCH[3:], "epochs=1"]
    grid = _earlier_grid(tmp_path / "grid", [*SEARCH[3:], "epochs=1"])
    proc = run_train(*args, f"search.warm_start={grid}", f"sweep_root={root}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "peftsweep: warm start: 1 trial(s) of 1 sweep(s) handed to the study; 1 skipped: " \
        "1 outside the space" in proc.stderr, proc.stderr[-3000:]
    sweep_dir = sweep_dir_in(root)
    study = study_of(sweep_dir)
    (warm,) = [t for t in study.trials if "source_sweep" in t.user_attrs]
    assert warm.number == 0 and warm.user_attrs["source_sweep"] == str(grid.resolve())
    assert warm.params == {"lr": 2e-3, "strategy": "full"} and warm.values == [0.75, 78530]
    # Two objectives, named after the metric and the cost, so Optuna's tools show them.
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["val accuracy", "trainable params"]
    searched = [t for t in study.trials if not t.user_attrs.keys() & {"confirms", "source_sweep"}]
    confirming = [t for t in study.trials if "confirms" in t.user_attrs]
    assert len(searched) == 2 and len(confirming) == 1
    assert {t.user_attrs["seed"] for t in confirming} == {2}
    results = results_of(sweep_dir)
    for trial in confirming:  # its own job folder, at the confirmed point and the next seed
        result = results[trial.user_attrs["job"]]
        source = next(t for t in searched if t.number == trial.user_attrs["confirms"])
        assert result["status"] == "ok" and result["science"]["seed"] == 2
        assert result["search"]["confirms"] == source.number
        assert result["science"]["lr"] == source.params["lr"]
        assert result["peak_memory"]["bytes"] > 10 * 2**20  # measured, in bytes
        assert trial.values == [result["best"]["validation"]["accuracy"],
                                result["params"]["trainable"]]
    assert progress_counts(proc.stderr) == [(i, 3) for i in range(1, 4)], proc.stderr[-3000:]
    assert len(re.findall(r"\] confirm lr=\S+ strategy=\w+ seed=2: ok", proc.stderr)) == 1
    status = sweep_status(sweep_dir)
    assert status["counts"]["done"] == 3 and status["eta"] == "done"
    # The report's front is Optuna's own (the searched trials), read from result files only.
    front = trade_off_table(sweep_dir, "trainable_params")
    alone = optuna.create_study(directions=["maximize", "minimize"])
    alone.add_trials(searched)
    assert set(front[front["on_front"]]["job_dir"]) == {
        t.user_attrs["job"] for t in alone.best_trials} and front["on_front"].any()
    # The selection, load_sweep and the export agree, on a confirmed configuration.
    sweep = load_sweep(sweep_dir)
    chosen = sweep.selection()
    confirmed = chosen[chosen["confirmed"]]
    assert not confirmed.empty and (confirmed["seeds"] == 2).all()
    exported = {c.job_dir.name for c in selected(sweep_dir)}
    assert set(chosen["job_dir"]) == exported
    written = sweep.report(plots=False)
    assert "Selection confirmed over 2 seeds" in written.markdown
    assert "## Pareto front" in written.markdown
    files = write_front(sweep_dir, tmp_path / "front").files
    assert files[-1].name == "search_pareto.png" and files[-1].stat().st_size > 1000


def _earlier_grid(folder: Path, fixed: list[str]) -> Path:
    """Two finished trials of an earlier grid: one in the space, one outside its lr range."""
    from peftsweep.compose.session import compose_config
    from peftsweep.spec.results import write_result

    for lr, val in ((2e-3, 0.75), (1e-2, 0.9)):
        cfg = compose_config([*(o for o in fixed if not o.startswith("lr=")), f"lr={lr}",
                              "strategy=full"])
        write_result(folder / cfg.identity(), {
            "identity": cfg.identity(), "status": "ok", "science": cfg.summary(),
            "config": cfg.to_dict(), "metric": {"name": "accuracy", "mode": "max"},
            "best": {"step": 13, "epoch": 0, "validation": {"accuracy": val}},
            "test": {"accuracy": val}, "params": {"trainable": 78530, "total": 78530}})
    return folder

