"""Faults as a test: kill -9 a grid, a DDP trial (two ranks) and a search at random moments,
again and again, resume each time, and check that nothing was lost.

Each round kills the whole sweep (its process group: trials, DDP ranks) at a random step of
a random trial: it waits for a random number of trials to finish, then for a random part of
the shortest trial's time in an uninterrupted run, so the kill lands before the sweep ends
however fast or slow the machine is. Afterwards:
- a result written before a kill is never rewritten (only killed trials are redone);
- once the sweep has finished, every trial's history, best and test metrics are those of
  an uninterrupted run of the same grid.

CI runs FAULT_ROUNDS=1; ``make faults`` runs many rounds (FAULT_ROUNDS, FAULT_SEED).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peftsweep.spec.results import read_result

from helpers import OFFLINE, ROOT, SEARCH

pytestmark = pytest.mark.integration

ROUNDS = int(os.environ.get("FAULT_ROUNDS", "1"))
SEED = int(os.environ.get("FAULT_SEED", "0"))
GRID = ["-m", "data.demo_size=400", "batch_size=32", "epochs=2", "logger=none",
        "lr=2e-3,1e-3", "seed=1,2"]
DDP_GRID = ["-m", "data.demo_size=240", "batch_size=16", "epochs=2", "logger=none",
            "lr=2e-3", "seed=1", "trainer.accelerator=cpu", "trainer.devices=2"]
# One DDP trial: most of its time is starting the ranks; the grid test covers the rest.


def finished(sweep: Path) -> dict[str, bytes]:
    return {str(p.relative_to(sweep)): p.read_bytes() for p in sweep.rglob("result.json")}


def sweep_process(args: list[str], sweep: Path | None, cache_dir: Path,
                  stderr) -> subprocess.Popen:
    env = {**os.environ, **OFFLINE, "PEFTSWEEP_CACHE": str(cache_dir)}
    where = [f"resume={sweep}"] if sweep else []
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args, *where],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=stderr, start_new_session=True)


def kill_at_random(proc: subprocess.Popen, root: Path, rng: random.Random,
                   trials_left: int, shortest_s: float) -> bool:
    """Kill -9 the sweep inside a random one of its trials left; False if it ended first.

    After ``k`` more results (k random), the next trial has just started and runs for about
    ``shortest_s`` at least, so a kill a random part of that later falls inside it.
    """
    target = results_in(root) + rng.randrange(max(trials_left, 1))
    while proc.poll() is None and results_in(root) < target:
        time.sleep(0.05)
    try:
        proc.wait(timeout=rng.uniform(0.05, 0.7) * shortest_s)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def results_in(root: Path) -> int:
    return sum(1 for _ in root.rglob("result.json")) if root.exists() else 0


def shortest_trial_s(root: Path) -> float:
    return min(read_result(p)["timing"]["wall_s"] for p in root.rglob("result.json"))


def survive_faults(args: list[str], tmp_path: Path, cache_dir: Path, run_train) -> None:
    clean = run_train(*args, f"resume={tmp_path / 'clean'}")
    assert clean.returncode == 0, clean.stderr[-3000:]
    trials, shortest_s = len(finished(tmp_path / "clean")), shortest_trial_s(tmp_path / "clean")
    sweep, rng = tmp_path / "faulted", random.Random(SEED)
    kills = 0
    for _ in range(ROUNDS):
        before = finished(sweep) if sweep.exists() else {}
        proc = sweep_process(args, sweep, cache_dir, subprocess.DEVNULL)
        if not kill_at_random(proc, sweep, rng, trials - len(before), shortest_s):
            break  # what was left ran to its end before the kill came
        kills += 1
        after = finished(sweep)
        for name, data in before.items():  # a finished trial is never redone or rewritten
            assert after[name] == data, f"{name} changed after a kill"
    time.sleep(0.5)  # the killed ranks' sockets closed, their ports free
    before = finished(sweep)
    resumed = run_train(*args, f"resume={sweep}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = finished(sweep)
    assert all(after[name] == data for name, data in before.items())
    got = {Path(n).parent.name: read_result(sweep / n) for n in after}
    want = {p.parent.name: read_result(p) for p in (tmp_path / "clean").rglob("result.json")}
    assert sorted(got) == sorted(want)
    for name, result in got.items():
        assert result["status"] == "ok", (name, result["error"])
        for key in ("history", "best", "test"):
            assert result[key] == want[name][key], (name, key)
    assert kills >= min(ROUNDS, 1)


def test_a_grid_killed_at_random_moments_loses_nothing(run_train, cache_dir, tmp_path):
    survive_faults(GRID, tmp_path, cache_dir, run_train)


def test_a_ddp_grid_killed_at_random_moments_loses_nothing(run_train, cache_dir, tmp_path):
    survive_faults(DDP_GRID, tmp_path, cache_dir, run_train)


def test_a_search_killed_at_random_moments_loses_nothing(run_train, cache_dir, search_conf,
                                                         tmp_path):
    # A search's trials come from the study, so the faulted and the clean search need not
    # draw the same points; but the demo trial is a function of its point, so every result
    # of either search at one learning rate must be the same, and the study must hold the
    # budget's trials, complete or pruned, none left running, each with its result's value.
    args = [*SEARCH, "search.n_trials=4", "epochs=2"]
    clean = run_train(*args, f"sweep_root={tmp_path / 'clean'}")
    assert clean.returncode == 0, clean.stderr[-3000:]
    shortest_s = shortest_trial_s(tmp_path / "clean")
    root, rng, kills = tmp_path / "faulted", random.Random(SEED), 0
    for _ in range(ROUNDS):
        where = _resume_or_start(root)
        before = finished(root) if root.exists() else {}
        with open(tmp_path / "log.txt", "w") as log:  # the child keeps its own handle
            proc = sweep_process([*args, where], None, cache_dir, log)
        if not kill_at_random(proc, root, rng, max(4 - len(before), 1), shortest_s):
            assert proc.returncode == 0, (tmp_path / "log.txt").read_text()[-3000:]
            break
        kills += 1
        after = finished(root)
        changed = [name for name, data in before.items() if after.get(name) != data]
        assert not changed, (changed, {n: after.get(n, b"gone")[:300] for n in changed})
        time.sleep(2.5)  # two missed heartbeats (heartbeat_s=1): a killed trial is stale
    resumed = run_train(*args, _resume_or_start(root))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (study_db,) = root.glob("*/*/study.db")
    assert kills >= min(ROUNDS, 1)
    _assert_complete(study_db, 4)
    by_lr: dict[float, list[dict]] = {}
    for path in [*study_db.parent.rglob("result.json"), *(tmp_path / "clean").rglob("result.json")]:
        result = read_result(path)
        assert result["status"] in ("ok", "pruned"), result["error"]
        if result["status"] == "pruned":  # pruning depends on the study's other trials
            continue
        by_lr.setdefault(result["config"]["lr"], []).append(result)
    for results in by_lr.values():
        assert all(r["history"] == results[0]["history"] and r["test"] == results[0]["test"]
                   for r in results)


def _resume_or_start(root: Path) -> str:
    # Killed before its study existed, a search left nothing to resume: it starts anew.
    studies = list(root.glob("*/*/study.db"))
    return f"resume={studies[0].parent}" if studies else f"sweep_root={root}"


def _assert_complete(study_db: Path, budget: int) -> None:
    import optuna

    (summary,) = optuna.get_all_study_summaries(f"sqlite:///{study_db}")
    study = optuna.load_study(study_name=summary.study_name, storage=f"sqlite:///{study_db}")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(complete) + len(pruned) == budget, [(t.number, t.state.name) for t in study.trials]
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    for trial in complete:
        result = read_result(study_db.parent / trial.user_attrs["job"] / "result.json")
        assert trial.value == result["best"]["validation"]["accuracy"]
