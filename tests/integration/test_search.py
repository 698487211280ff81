"""Real searches (hydra/sweeper=search): pruning, resume, a killed worker, parallel workers,
shared storage and secrets, against real processes, a real PostgreSQL server and Slurm."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import optuna  # the search extra, installed by make install
import pytest

from peftsweep.spec.results import read_result
from peftsweep.study.storage import connect_url

from helpers import FAST, OFFLINE, ROOT, SEARCH
from search_sweeps import (
    assert_study_matches_results,
    progress_counts,
    results_of,
    study_of,
    sweep_dir_in,
)

pytest_plugins = ["postgres_server", "slurm_cluster"]


# ---- real searches ----

@pytest.mark.integration
def test_search_prunes_counts_and_resumes(run_train, search_conf, tmp_path, capsys):
    root = tmp_path / "multirun"
    proc = run_train(*SEARCH, "search.n_trials=3", f"sweep_root={root}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = sweep_dir_in(root)
    first = assert_study_matches_results(sweep_dir, 3)
    statuses = [r["status"] for r in first.values()]
    assert "pruned" in statuses, statuses
    counts = f"{statuses.count('ok')} ok, {statuses.count('pruned')} pruned, 0 failed"
    assert counts in proc.stderr
    assert progress_counts(proc.stderr) == [(1, 3), (2, 3), (3, 3)], proc.stderr[-3000:]
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
    assert_study_matches_results(sweep_dir, 4)
    assert progress_counts(proc.stderr) == [(4, 4)]  # earlier runs' trials count
    _check_status(sweep_dir, statuses)
    assert all(read_result(p)["finished_at"] == t for p, t in stamps.items())  # kept
    _check_report(sweep_dir, capsys)


def _check_status(sweep_dir: Path, first_statuses: list[str]) -> None:
    """peftsweep-status reads a search from its folder: every trial with its state."""
    from peftsweep.sweep.status import render, sweep_status

    status = sweep_status(sweep_dir)
    results = results_of(sweep_dir)
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
    from peftsweep.cli.report import main as report
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
def test_a_killed_search_resumes_its_running_trial(cache_dir, search_conf, tmp_path):
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
    assert_study_matches_results(sweep_dir, 3)
    study = study_of(sweep_dir)
    (failed,) = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    (retry,) = [t for t in study.trials if failed.number in t.system_attrs.get("retry_history",
                                                                               [])]
    assert retry.params == failed.params and retry.user_attrs["job"] == failed.user_attrs["job"]


@pytest.mark.integration
def test_parallel_workers_share_one_sqlite_study(run_train, search_conf, tmp_path):
    """local_parallel's slots (parallel.workers) become the search's workers."""
    root = tmp_path / "multirun"
    proc = run_train(*SEARCH, "search.n_trials=4", "hydra/launcher=local_parallel",
                     "parallel.workers=2", f"sweep_root={root}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = sweep_dir_in(root)
    assert_study_matches_results(sweep_dir, 4)
    for worker in (0, 1):  # both pulled trials, each with its share of the cores
        log = (sweep_dir / ".search" / f"worker{worker}.log").read_text()
        assert "search trial" in log, log[-2000:]
    # The workers' progress lines reach this terminal, each count once.
    assert progress_counts(proc.stderr) == [(i, 4) for i in range(1, 5)], proc.stderr[-3000:]
    assert progress_counts((sweep_dir / "progress.log").read_text()) == \
        [(i, 4) for i in range(1, 5)]


PACKED_PRESET = """\
defaults:
  - _schema
  - _self_
sampler: random
seed: 3
pruner: median
pruner_startup_trials: 1
pruner_warmup: 0
heartbeat_s: 1
pack: 2
space:
  lr: {type: float, low: 1.0e-06, high: 3.0e-03, log: true}
"""


@pytest.mark.integration
def test_a_packed_search_asks_two_trials_at_once_and_trains_them_on_one_backbone(
        run_train, search_conf, tmp_path):
    (search_conf / "search" / "packed.yaml").write_text(PACKED_PRESET)
    root = tmp_path / "multirun"
    proc = run_train("-m", "hydra/sweeper=search", "search=packed", *FAST, "strategy=bitfit",
                     "search.n_trials=4", f"sweep_root={root}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = sweep_dir_in(root)
    results = assert_study_matches_results(sweep_dir, 4)
    study = study_of(sweep_dir)
    for trial in study.trials:  # every trial of a pack told its own study trial each validation
        result = results[trial.user_attrs["job"]]
        assert result["search"]["trial"] == trial.number
        assert len(trial.intermediate_values) == len(result["history"]) > 0
    first = [results[t.user_attrs["job"]] for t in study.trials[:2]]
    assert all(r["pack"]["size"] == 2 for r in first), [r.get("pack") for r in first]
    assert sorted(first[0]["pack"]["trials"]) == sorted(r["identity"] for r in first)
    assert progress_counts(proc.stderr) == [(i, 4) for i in range(1, 5)], proc.stderr[-3000:]


@pytest.mark.integration
def test_postgres_study_with_workers_keeps_the_password_out(run_train, search_conf, tmp_path,
                                                             postgres_server):
    """The password needs escaping and the URL has a query string (quoted for Hydra's
    grammar): no spelling of the password is in any file of the sweep or its output."""
    root = tmp_path / "multirun"
    url = postgres_server.url(with_password=True, query="connect_timeout=10&sslmode=disable")
    proc = run_train(*SEARCH, "search.n_trials=3", "search.workers=2",
                     f"search.storage='{url}'", f"sweep_root={root}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = sweep_dir_in(root)
    assert not (sweep_dir / "study.db").exists()
    studies = optuna.get_all_study_names(connect_url(postgres_server.url(with_password=True)))
    assert f"{sweep_dir.parent.name}/{sweep_dir.name}" in studies
    assert len(results_of(sweep_dir)) >= 1
    forms = _spellings(postgres_server.password)
    for form in forms:
        assert form not in proc.stdout + proc.stderr, form
    for path in sweep_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for form in forms:
                assert form.encode() not in content, (path, form)
    written = (sweep_dir / "multirun.yaml").read_text()  # the URL, redacted
    assert f"peftsweep:***@127.0.0.1:{postgres_server.port}/postgres?connect_timeout=10" \
        in written, written


def _spellings(secret: str) -> set[str]:
    """The password decoded, percent-escaped (upper and lower case hex, with and without
    '+' for spaces or '/' left as is), JSON- and quote-escaped, and its tail alone."""
    forms = {secret, json.dumps(secret)[1:-1], secret.replace("'", "\\'"), secret[-12:]}
    for safe in ("", "/", ":/@"):
        forms |= {urllib.parse.quote(secret, safe=safe), urllib.parse.quote_plus(secret, safe)}
    return forms | {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), f) for f in forms}


@pytest.mark.slurm
def test_slurm_jobs_pull_trials_from_one_study(slurm_cluster, cache_dir, search_conf, tmp_path):
    env = {**slurm_cluster.env, **OFFLINE, "PEFTSWEEP_CACHE": str(cache_dir),
           "PEFTSWEEP_CONF": str(search_conf)}
    root = tmp_path / "multirun"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *SEARCH, "search.n_trials=3",
         "search.workers=2", "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1",
         "hydra.launcher.mem_gb=1", "trainer.num_threads=1", f"sweep_root={root}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = sweep_dir_in(root)
    results = assert_study_matches_results(sweep_dir, 3)
    assert all("SLURM_JOB_ID" in r["runtime"]["env"] for r in results.values())
    for worker in (0, 1):  # two jobs, each a worker with its own Hydra job folder
        assert (sweep_dir / ".search" / f"worker{worker}" / ".hydra" / "config.yaml").exists()
