"""Optuna search (hydra/sweeper=search): space checks, pruning, resume, parallel workers,
shared storage and secrets, against real processes and a real PostgreSQL server."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna  # the search extra, installed by make install
import pytest

from peftsweep.errors import ConfigError
from peftsweep.results import read_result
from peftsweep.search.settings import parse_settings
from peftsweep.search.space import edge_assignments, parse_space
from peftsweep.search.storage import PASSWORD_ENV, connect_url, redact, scrub, take_password
from peftsweep.search.trial_lines import counts, point_label, trial_line

from helpers import FAST, OFFLINE, ROOT

pytest_plugins = ["postgres_server", "slurm_cluster"]

# A learning rate that learns and two that do not: with this seed the first two trials finish
# (one of each), the third (a low one) is behind after one validation and is pruned.
TEST_PRESET = """\
defaults:
  - _schema
  - _self_
sampler: random
seed: 1
pruner: median
pruner_startup_trials: 1
pruner_warmup: 0
heartbeat_s: 1
space:
  lr: {type: categorical, choices: [0.003, 1.0e-06, 2.0e-06]}
"""
SEARCH = ["-m", "hydra/sweeper=search", "search=test", *FAST]


@pytest.fixture
def conf(tmp_path, monkeypatch) -> Path:
    """conf/ plus the test preset; train.py and its workers read it through PEFTSWEEP_CONF."""
    folder = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", folder)
    (folder / "search" / "test.yaml").write_text(TEST_PRESET)
    monkeypatch.setenv("PEFTSWEEP_CONF", str(folder))
    return folder


def _sweep_dir(root: Path) -> Path:
    (summary,) = root.glob("*/*/summary.json")
    return summary.parent


def _results(sweep_dir: Path) -> dict[str, dict]:
    return {p.parent.name: read_result(p) for p in sweep_dir.glob("*/result.json")}


def _study(sweep_dir: Path) -> optuna.Study:
    url = f"sqlite:///{sweep_dir / 'study.db'}"
    (name,) = optuna.get_all_study_names(url)
    return optuna.load_study(study_name=name, storage=url)


def _assert_study_matches_results(sweep_dir: Path, n_trials: int) -> dict[str, dict]:
    """Every counted trial has its job folder and a result of the matching status."""
    results = _results(sweep_dir)
    study = _study(sweep_dir)
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


# ---- the space and the settings (no training) ----

@pytest.mark.parametrize("space, problem", [
    ({"lr": {"type": "float", "low": 1e-2, "high": 1e-5}}, "empty or reversed range"),
    ({"lr": {"type": "float", "low": 1e-3, "high": 1e-3}}, "empty or reversed range"),
    ({"lr": {"type": "float", "low": 0, "high": 1e-3, "log": True}}, "bounds > 0"),
    ({"batch_size": {"type": "categorical", "choices": []}}, "at least one choice"),
    ({"lr": {"type": "normal"}}, "unknown value 'normal'"),
    ({"strategy.r": {"type": "int", "low": 2, "high": 8, "when": {"strategy": "lora"}}},
     "not an earlier entry"),
    ({}, "is empty"),
])
def test_bad_spaces_name_the_key_and_the_problem(space, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_space(space)


def test_settings_reject_a_zero_budget_and_unknown_choices():
    with pytest.raises(ConfigError, match="search.n_trials: must be > 0"):
        parse_settings({"n_trials": 0, "space": {}})
    with pytest.raises(ConfigError, match="search.pruner: unknown value 'asha'"):
        parse_settings({"pruner": "asha"})
    assert parse_settings({"sampler": "random"}).sampler == "random"


def test_edges_compose_every_choice_and_the_conditional_key():
    params = parse_space({
        "lr": {"type": "float", "low": 1e-5, "high": 1e-2, "log": True},
        "strategy": {"type": "categorical", "choices": ["full", "lora"]},
        "strategy.r": {"type": "int", "low": 2, "high": 16, "when": {"strategy": "lora"}}})
    edges = edge_assignments(params)
    assert {e["lr"] for e in edges} == {1e-5, 1e-2}
    assert {e["strategy"] for e in edges} == {"full", "lora"}
    assert {e.get("strategy.r") for e in edges if e["strategy"] == "lora"} >= {2, 16}
    assert all("strategy.r" not in e for e in edges if e["strategy"] == "full")


def test_a_password_in_the_url_moves_to_the_environment(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    url = "postgresql://me:s3cr3t-pw@db.example:5432/studies"
    assert take_password(url) == "postgresql://me:***@db.example:5432/studies"
    assert os.environ[PASSWORD_ENV] == "s3cr3t-pw"
    assert "s3cr3t-pw" not in redact(url)
    assert scrub(f"search.storage={url}") == "search.storage=postgresql://me:***@db.example" \
                                             ":5432/studies"


def test_progress_lines_count_the_study_up_to_the_trial():
    study = optuna.create_study(direction="maximize")
    launched = time.time() - 60
    first = study.ask()
    study.tell(first, 0.5)
    pruned = study.ask()
    study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    failed = study.ask()
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    study.ask()  # still running: not counted
    trials = study.get_trials(deepcopy=False)
    assert counts(trials, launched, first.number) == {"done": 1, "failed": 0, "this_launch": 1}
    done = counts(trials, launched, failed.number)
    assert done == {"done": 3, "failed": 1, "this_launch": 3}
    assert counts(trials, time.time() + 60, failed.number)["this_launch"] == 0
    result = {"status": "pruned", "pruned_at": {"validation": 2, "value": 0.61234},
              "timing": {"wall_s": 75.0}}
    line = trial_line(10, done, launched, point_label({"lr": 3.1234e-4, "strategy": "full"}),
                      result, now=launched + 60)
    assert line == ("peftsweep: [3/10] lr=0.000312 strategy=full: pruned at validation 2 "
                    "(val 0.6123), 1m15s | 7 left, ETA 2m20s, 1 failed\n")


def test_a_search_dry_run_prints_the_space_and_trains_nothing(conf, tmp_path, capsys,
                                                                monkeypatch):
    from peftsweep import train

    monkeypatch.setattr(train, "CONF_DIR", conf)
    root = tmp_path / "multirun"
    code = train.cli([*SEARCH, "search.n_trials=5", "dry_run=true", f"sweep_root={root}"])
    out = capsys.readouterr()
    assert code == 0, out.err[-2000:]
    assert "search: 5 trial(s), sampler random, pruner median" in out.out
    assert "lr             categorical [0.003, 1e-06, 2e-06]" in out.out
    assert "dry run: a search of 5 trial(s); 3 edge point(s)" in out.err
    assert not root.exists()


# ---- bad input through train.py: one line, exit 2, nothing written ----

BAD_INPUT = [
    ("search.n_trials=0", "search.n_trials: must be > 0"),
    ("search.space.lr.choices=[]", "search.space.lr.choices: a categorical needs at least"),
    ("+search.space.no_such_key={type:int,low:1,high:3}", "no_such_key"),
    ("search.storage=sqlite:////no/such/folder/study.db", "search.storage: cannot open"),
    ("search.storage=postgresql://u:pw-not-shown@127.0.0.1:1/db",
     "search.storage: cannot connect to postgresql://u:***@127.0.0.1:1/db"),
]


@pytest.mark.parametrize("override, message", BAD_INPUT)
def test_bad_search_input_stops_before_training(conf, tmp_path, capsys, monkeypatch, override,
                                                message):
    """The CLI in this process (it stops before Hydra starts); one case also as a process."""
    from peftsweep import train

    monkeypatch.setattr(train, "CONF_DIR", conf)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    code = train.cli([*SEARCH, override, f"sweep_root={tmp_path / 'multirun'}"])
    out = capsys.readouterr()
    errors = [line for line in out.err.splitlines() if line.startswith("peftsweep: error")]
    assert code == 2 and len(errors) == 1 and message in errors[0], out.err[-2000:]
    assert "pw-not-shown" not in out.out + out.err
    assert not (tmp_path / "multirun").exists()


def test_bad_search_input_exits_2_from_the_command_line(run_train, conf, tmp_path):
    override, message = BAD_INPUT[-1]
    proc = run_train(*SEARCH, override, f"sweep_root={tmp_path / 'multirun'}")
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert "pw-not-shown" not in proc.stdout + proc.stderr
    assert not (tmp_path / "multirun").exists()


# ---- real searches ----

@pytest.mark.integration
def test_search_prunes_counts_and_resumes(run_train, conf, tmp_path, capsys):
    root = tmp_path / "multirun"
    proc = run_train(*SEARCH, "search.n_trials=3", f"sweep_root={root}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = _sweep_dir(root)
    first = _assert_study_matches_results(sweep_dir, 3)
    statuses = [r["status"] for r in first.values()]
    assert "pruned" in statuses, statuses
    counts = f"{statuses.count('ok')} ok, {statuses.count('pruned')} pruned, 0 failed"
    assert counts in proc.stderr
    assert _progress_counts(proc.stderr) == [(1, 3), (2, 3), (3, 3)], proc.stderr[-3000:]
    assert re.search(r"\[3/3\] lr=\S+: (ok, val accuracy|pruned at validation 1 \(val)",
                     proc.stderr), proc.stderr[-3000:]
    # Job folders are the grid's: strategy, lr, batch size, seed and the identity.
    for name, result in first.items():
        assert name.endswith(result["identity"][:8]) and f"_bs{result['science']['batch_size']}_"\
            in name
    stamps = {sweep_dir / name / "result.json": result["finished_at"]
              for name, result in first.items() if result["status"] == "ok"}
    proc = run_train(*SEARCH, "search.n_trials=4", f"resume={sweep_dir}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_study_matches_results(sweep_dir, 4)
    assert _progress_counts(proc.stderr) == [(4, 4)]  # earlier runs' trials count
    _check_status(sweep_dir, statuses)
    assert all(read_result(p)["finished_at"] == t for p, t in stamps.items())  # kept
    _check_report(sweep_dir, capsys)


def _check_status(sweep_dir: Path, first_statuses: list[str]) -> None:
    """peftsweep-status reads a search from its folder: every trial with its state."""
    from peftsweep.status import render, sweep_status

    status = sweep_status(sweep_dir)
    results = _results(sweep_dir)
    assert len(status["trials"]) == len(results)  # two trials at one point share a folder
    expected = {"done": sum(r["status"] == "ok" for r in results.values()),
                "pruned": sum(r["status"] == "pruned" for r in results.values())}
    assert {k: v for k, v in status["counts"].items() if v} == expected
    assert expected["pruned"] >= first_statuses.count("pruned") and status["eta"] == "done"
    assert all(row["label"].startswith("lr=") for row in status["trials"])
    assert f"{len(results)} trial(s)" in render(status) and status["search"] == {
        "budget": 4, "told": 4}


def _check_report(sweep_dir: Path, capsys) -> None:
    """The grid's report reads the search; pruned trials are listed with their step."""
    from peftsweep.report.cli import main as report
    from peftsweep.report.search_plots import load_results, progress

    assert report([str(sweep_dir)]) == 0
    printed = capsys.readouterr().out
    pruned = [r for r in load_results(sweep_dir) if r["status"] == "pruned"]
    lines = [line for line in printed.splitlines() if line.replace(" ", "").startswith("|pruned|")]
    assert pruned and len(lines) == len(pruned), printed[-3000:]
    assert {r["failed_step"] for r in pruned} <= {int(line.split("|")[3]) for line in lines}
    for name in ("search_progress", "search_lr_batch", "search_importances"):
        assert (sweep_dir / "report" / f"{name}.png").stat().st_size > 1000, name
    epochs, best = zip(*progress(load_results(sweep_dir)), strict=True)
    assert list(epochs) == sorted(epochs) and epochs[-1] > 0
    assert max(b for b in best if b is not None) == best[-1]


@pytest.mark.integration
def test_a_killed_search_resumes_its_running_trial(cache_dir, conf, tmp_path):
    root = tmp_path / "multirun"
    env = {**os.environ, **OFFLINE, "PEFTSWEEP_CACHE": str(cache_dir)}
    args = [sys.executable, str(ROOT / "train.py"), *SEARCH, "search.n_trials=3", "epochs=3",
            f"sweep_root={root}"]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:  # kill -9 while the second trial trains
        deadline = time.time() + 300
        while time.time() < deadline and not (
                len(list(root.glob("*/*/*/result.json"))) == 1
                and len(list(root.glob("*/*/*/.hydra/config.yaml"))) == 2):
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    (sweep_dir,) = (p.parent for p in root.glob("*/*/study.db"))
    assert len(list(sweep_dir.glob("*/result.json"))) == 1
    time.sleep(2.5)  # two missed heartbeats (search.heartbeat_s=1): the trial is stale
    resumed = subprocess.run([*args[:-1], f"resume={sweep_dir}"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_study_matches_results(sweep_dir, 3)
    study = _study(sweep_dir)
    (failed,) = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    (retry,) = [t for t in study.trials if failed.number in t.system_attrs.get("retry_history",
                                                                               [])]
    assert retry.params == failed.params and retry.user_attrs["job"] == failed.user_attrs["job"]


@pytest.mark.integration
def test_parallel_workers_share_one_sqlite_study(run_train, conf, tmp_path):
    """local_parallel's slots (parallel.workers) become the search's workers."""
    root = tmp_path / "multirun"
    proc = run_train(*SEARCH, "search.n_trials=4", "hydra/launcher=local_parallel",
                     "parallel.workers=2", f"sweep_root={root}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = _sweep_dir(root)
    _assert_study_matches_results(sweep_dir, 4)
    for worker in (0, 1):  # both pulled trials, each with its share of the cores
        log = (sweep_dir / ".search" / f"worker{worker}.log").read_text()
        assert "search trial" in log, log[-2000:]
    # The workers' progress lines reach this terminal, each count once.
    assert _progress_counts(proc.stderr) == [(i, 4) for i in range(1, 5)], proc.stderr[-3000:]
    assert _progress_counts((sweep_dir / "progress.log").read_text()) == \
        [(i, 4) for i in range(1, 5)]


def _progress_counts(text: str) -> list[tuple[int, int]]:
    """The (i, N) of every progress line, sorted."""
    found = re.findall(r"^peftsweep: \[(\d+)/(\d+)\] ", text, flags=re.MULTILINE)
    return sorted((int(i), int(n)) for i, n in found)


@pytest.mark.integration
def test_postgres_study_with_workers_keeps_the_password_out(run_train, conf, tmp_path,
                                                             postgres_server):
    root = tmp_path / "multirun"
    proc = run_train(*SEARCH, "search.n_trials=3", "search.workers=2",
                     f"search.storage={postgres_server.url(with_password=True)}",
                     f"sweep_root={root}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = _sweep_dir(root)
    assert not (sweep_dir / "study.db").exists()
    studies = optuna.get_all_study_names(connect_url(postgres_server.url(with_password=True)))
    assert f"{sweep_dir.parent.name}/{sweep_dir.name}" in studies
    assert len(_results(sweep_dir)) >= 1
    password = postgres_server.password
    assert password not in proc.stdout + proc.stderr
    for path in sweep_dir.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    assert "127.0.0.1" in (sweep_dir / "multirun.yaml").read_text()  # the URL, redacted


@pytest.mark.slurm
def test_slurm_jobs_pull_trials_from_one_study(slurm_cluster, cache_dir, conf, tmp_path):
    env = {**slurm_cluster.env, **OFFLINE, "PEFTSWEEP_CACHE": str(cache_dir),
           "PEFTSWEEP_CONF": str(conf)}
    root = tmp_path / "multirun"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *SEARCH, "search.n_trials=3",
         "search.workers=2", "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1",
         "hydra.launcher.mem_gb=1", "trainer.num_threads=1", f"sweep_root={root}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = _sweep_dir(root)
    results = _assert_study_matches_results(sweep_dir, 3)
    assert all("SLURM_JOB_ID" in r["runtime"]["env"] for r in results.values())
    for worker in (0, 1):  # two jobs, each a worker with its own Hydra job folder
        assert (sweep_dir / ".search" / f"worker{worker}" / ".hydra" / "config.yaml").exists()


@pytest.mark.parametrize("preset", sorted(p.stem for p in (ROOT / "conf" / "search").glob(
    "*.yaml") if not p.stem.startswith("_")))
def test_every_search_preset_composes_at_its_edges(cache_dir, preset):
    from peftsweep.search.preflight import check_search

    configs = check_search(["hydra/sweeper=search", f"search={preset}", *FAST],
                           ROOT / "conf").configs
    assert len({c.identity() for c in configs}) >= 2  # choices and bounds really vary
