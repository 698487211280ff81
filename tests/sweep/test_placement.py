"""Placement of local parallel trials: GPU per job, thread split, slot locks, a real sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from peftsweep.sweep import placement
from peftsweep.sweep.placement import Placement, assign, claim_slot, environment, visible_gpus

from helpers import ROOT

REPO = ROOT
JOBS = range(8)


def gpus(n_gpus: int, trials_per_gpu: int = 1) -> list[int | None]:
    return [assign(job, n_gpus, trials_per_gpu, n_cpus=16).gpu for job in JOBS]


def test_one_trial_per_gpu_goes_round_robin():
    assert gpus(2) == [0, 1, 0, 1, 0, 1, 0, 1]
    assert gpus(4) == [0, 1, 2, 3, 0, 1, 2, 3]
    assert [assign(job, 4, n_cpus=16).slot for job in JOBS] == [0, 1, 2, 3, 0, 1, 2, 3]


def test_two_trials_per_gpu_spread_over_gpus_first():
    placements = [assign(job, 2, trials_per_gpu=2, n_cpus=16) for job in JOBS]
    assert [p.slot for p in placements] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert [p.gpu for p in placements] == [0, 1, 0, 1, 0, 1, 0, 1]
    # 4 slots, 2 on each GPU; jobs 0 and 1 (the first two to start) on different GPUs.
    assert Counter(p.gpu for p in placements[:4]) == {0: 2, 1: 2}
    assert {p.threads for p in placements} == {4}  # 16 cores over 4 workers


def test_explicit_worker_count_wins_over_trials_per_gpu():
    # 3 workers on 2 GPUs: GPU 0 hosts slots 0 and 2.
    assert [assign(job, 2, trials_per_gpu=5, n_workers=3).gpu for job in range(3)] == [0, 1, 0]


def test_without_gpus_cores_are_split_between_workers():
    assert [assign(job, 0, n_workers=2, n_cpus=8) for job in range(3)] == [
        Placement(gpu=None, slot=0, threads=4), Placement(gpu=None, slot=1, threads=4),
        Placement(gpu=None, slot=0, threads=4)]
    assert assign(0, 0, n_workers=3, n_cpus=8).threads == 2  # 8 // 3
    assert assign(0, 0, n_workers=4, n_cpus=2).threads == 1  # never 0
    # Default: one worker per 4 cores, at least one.
    assert placement.worker_count(None, 0, 1, 16) == 4
    assert placement.worker_count(None, 0, 1, 2) == 1
    assert placement.worker_count(None, 3, 2, 2) == 6


def test_environment_names_the_visible_gpu_id():
    env = environment(Placement(gpu=1, slot=3, threads=2), ["4", "6"])
    assert env == {"CUDA_VISIBLE_DEVICES": "6", "PEFTSWEEP_SLOT": "3", "PEFTSWEEP_THREADS": "2"}
    assert "CUDA_VISIBLE_DEVICES" not in environment(Placement(None, 0, 2), [])


@pytest.mark.parametrize(("listed", "expected"), [
    ("0,2", ("0", "2")), (" 3 ", ("3",)), ("", ()), ("-1", ()), ("NoDevFiles", ())])
def test_visible_gpus_follow_cuda_visible_devices(monkeypatch, listed, expected):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", listed)
    visible_gpus.cache_clear()
    try:
        assert visible_gpus() == expected
    finally:
        visible_gpus.cache_clear()


CLAIM_IN_CHILD = """
import sys
from pathlib import Path
from peftsweep.sweep.placement import claim_slot
print(claim_slot(Path(sys.argv[1]), int(sys.argv[2]), 2))
"""


def test_a_claimed_slot_is_kept_and_not_shared(monkeypatch, tmp_path):
    monkeypatch.setattr(placement, "_HELD", {})
    try:
        assert claim_slot(tmp_path, 1, 2) == 1
        # A later trial in the same worker keeps its slot, whatever its job number.
        assert claim_slot(tmp_path, 0, 2) == 1
        # Another worker preferring the held slot gets the free one.
        child = subprocess.run([sys.executable, "-c", CLAIM_IN_CHILD, str(tmp_path), "1"],
                               capture_output=True, text=True, check=True)
        assert child.stdout.strip() == "0"
        # A reused worker in a new sweep stays on its slot (and GPU) when it is free there.
        assert claim_slot(tmp_path / "next_sweep", 0, 2) == 1
    finally:
        os.close(placement._HELD["fd"])


@pytest.mark.integration
def test_demo_grid_on_two_local_workers(cache_dir, tmp_path):
    """Two trials side by side through joblib: each gets its own slot and half the cores."""
    env = {**os.environ, "PEFTSWEEP_CACHE": str(cache_dir)}
    sweep = tmp_path / "sweep"
    run = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "-m", "experiment=demo", "lr=1e-3", "seed=1",
         "epochs=1", "data.demo_size=200", "hydra/launcher=local_parallel", "parallel.workers=2",
         f"resume={sweep}"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]

    results = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/result.json"))]
    assert [r["status"] for r in results] == ["ok", "ok"]
    assert {r["runtime"]["env"]["PEFTSWEEP_SLOT"] for r in results} == {"0", "1"}
    threads = max(1, len(os.sched_getaffinity(0)) // 2)
    assert {r["runtime"]["threads"] for r in results} == {threads}
