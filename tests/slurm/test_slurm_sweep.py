"""Sweeps through hydra/launcher=slurm against a real one-node Slurm cluster (tests/slurm_cluster/).

Jobs ask for 1 CPU and 1 GB (the node has 2 CPUs) and run torch with 1 thread: the test
cluster does not bind jobs to their CPUs, so torch would otherwise start one thread per core.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from helpers import ROOT

if TYPE_CHECKING:  # imported as a plugin below, so that pytest can rewrite its asserts
    from slurm_cluster import LocalSlurmCluster

# Registers the session-scoped `slurm_cluster` fixture (skips when Slurm is not installed).
pytest_plugins = ["slurm_cluster"]

pytestmark = pytest.mark.slurm

REPO = ROOT
SLURM = ["hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1"]
# Demo grid cut to its two strategies (the preset also sweeps lr and seed).
GRID = ["experiment=demo", "lr=1e-3", "seed=1", "trainer.num_threads=1"]


@pytest.fixture
def train(cache_dir: Path, slurm_cluster: LocalSlurmCluster):
    """Start ``python train.py -m ...`` from a folder (multirun/ lands there) against the
    cluster; whatever is still running at the end of the test is killed."""
    env = {**slurm_cluster.env, "PEFTSWEEP_CACHE": str(cache_dir)}
    started: list[subprocess.Popen] = []

    def start(cwd: Path, args: list[str]) -> subprocess.Popen:
        cwd.mkdir(parents=True, exist_ok=True)
        with open(cwd / "train.out", "w") as log:  # the child keeps its own handle
            started.append(subprocess.Popen(
                [sys.executable, str(REPO / "train.py"), "-m", *args], env=env, cwd=cwd,
                stdout=log, stderr=subprocess.STDOUT))
        return started[-1]

    yield start
    for proc in started:
        proc.kill()  # no-op once it has exited; never leave a submitter polling
        proc.wait()


def _finish(proc: subprocess.Popen, cwd: Path, timeout: float) -> None:
    rc = proc.wait(timeout=timeout)
    assert rc == 0, f"train.py exited {rc}:\n{(cwd / 'train.out').read_text()[-4000:]}"


def _results(cwd: Path) -> dict[str, dict]:
    """{path relative to the sweep folder: result} for the one sweep started from `cwd`."""
    (sweep_dir,) = (p.parent for p in (cwd / "multirun").glob("*/*/summary.json"))
    return {str(p.relative_to(sweep_dir)): json.loads(p.read_text())
            for p in sorted(sweep_dir.rglob("result.json"))}


def _wait_for(predicate, timeout: float, what: str, cluster: LocalSlurmCluster):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{cluster.squeue()}")
        time.sleep(0.1)
    return value


def test_demo_grid_runs_as_slurm_jobs(train, tmp_path: Path) -> None:
    proc = train(tmp_path, [*GRID, "epochs=2", "data.demo_size=400", *SLURM])
    _finish(proc, tmp_path, timeout=150)

    results = _results(tmp_path)
    assert len(results) == 2
    for path, result in results.items():
        assert result["status"] == "ok", (path, result["error"])
        assert "SLURM_JOB_ID" in result["runtime"]["env"]
    assert {r["science"]["strategy"].split("(")[0] for r in results.values()} == {"full",
                                                                                   "bitfit"}


def test_two_tasks_train_one_trial_over_ddp(train, tmp_path: Path) -> None:
    # tasks_per_node follows trainer.devices; Lightning's SLURMEnvironment joins the 2 tasks.
    proc = train(tmp_path, [*GRID, "strategy=full", "epochs=2", "data.demo_size=400",
                            "batch_size=16", "trainer.accelerator=cpu", "trainer.devices=2",
                            *SLURM])
    _finish(proc, tmp_path, timeout=240)

    (path, result), = _results(tmp_path).items()  # one result, written by rank 0
    assert result["status"] == "ok", result["error"]
    assert result["world_size"] == 2
    assert "SLURM_JOB_ID" in result["runtime"]["env"]
    # Each rank took half of every step's batches: 13 steps per epoch, as 1 x 32 would.
    assert [entry["step"] for entry in result["history"]] == [13, 26]


def _loadable_step(checkpoint: Path) -> int | None:
    """The checkpoint's global step once it is completely written, else None."""
    import torch

    try:
        return int(torch.load(checkpoint, map_location="cpu", weights_only=False)["global_step"])
    except Exception:  # noqa: BLE001 - missing, or still being written
        return None


def _job_state(cluster: LocalSlurmCluster) -> str:
    return cluster.squeue("-h", "-o", "%T").strip()


def test_requeued_trial_resumes_and_matches_uninterrupted_run(
        slurm_cluster: LocalSlurmCluster, train, tmp_path: Path) -> None:
    # ~2-3 s per epoch on one thread: a requeue (~2 s to kill the job) lands mid-training.
    args = [*GRID, "strategy=full", "epochs=3", "data.demo_size=5000"]
    # No resume=: the dated sweep folder must survive the requeue too.
    slurm_proc = train(tmp_path / "slurm", [*args, *SLURM])
    import torch  # noqa: F401 - imported now, while the sweep starts, not while polling

    checkpoint = _wait_for(lambda: next((tmp_path / "slurm").glob(
        "multirun/*/*/*/checkpoints/last.ckpt"), None), 90, "the first checkpoint",
        slurm_cluster)
    _wait_for(lambda: _loadable_step(checkpoint), 30, "a complete checkpoint", slurm_cluster)
    (job_id,) = slurm_cluster.squeue("-h", "-t", "RUNNING", "-o", "%i").split()
    slurm_cluster.scontrol("requeue", job_id)
    # Pending (until cred_expire) means the first run is dead: its last checkpoint is final.
    _wait_for(lambda: _job_state(slurm_cluster) == "PENDING", 30, "the requeue", slurm_cluster)
    saved_step = _loadable_step(checkpoint)
    # The uninterrupted reference runs while the requeued job waits to start again.
    local_proc = train(tmp_path / "local", args)
    _finish(local_proc, tmp_path / "local", timeout=90)
    _finish(slurm_proc, tmp_path / "slurm", timeout=90)

    (path, resumed), = _results(tmp_path / "slurm").items()
    local = _results(tmp_path / "local")
    assert list(local) == [path]  # same sweep folder layout as a local run
    assert resumed["status"] == "ok", resumed["error"]
    assert resumed["runtime"]["env"]["SLURM_RESTART_COUNT"] == "1"
    # It resumed from the checkpoint the first run left, not from scratch.
    assert saved_step and 0 < saved_step < resumed["history"][-1]["step"]
    assert resumed["resumed_from_step"] == saved_step
    assert "resuming from" in (checkpoint.parents[1] / "train.log").read_text()
    for key in ("history", "test", "best"):
        assert resumed[key] == local[path][key], key


def test_each_slurm_job_trains_a_pack(train, tmp_path: Path) -> None:
    # hydra.sweeper.pack_size: BitFit and LoRA share one job and one backbone; full
    # fine-tuning cannot share and gets a job of its own.
    proc = train(tmp_path, [*GRID, "strategy=bitfit,lora,full", "epochs=2", "data.demo_size=200",
                            "hydra.sweeper.pack_size=2", *SLURM])
    _finish(proc, tmp_path, timeout=150)

    results = {r["science"]["strategy"]: r for r in _results(tmp_path).values()}
    assert sorted(results) == ["bitfit", "full", "lora"]
    assert {r["status"] for r in results.values()} == {"ok"}
    jobs = {name: r["runtime"]["env"]["SLURM_JOB_ID"] for name, r in results.items()}
    assert jobs["bitfit"] == jobs["lora"] != jobs["full"]
    assert results["bitfit"]["pack"]["size"] == results["lora"]["pack"]["size"] == 2
    assert "pack" not in results["full"]
    (sweep_dir,) = (p.parent for p in (tmp_path / "multirun").glob("*/*/summary.json"))
    assert "runs alone: it trains every weight" in (sweep_dir / "progress.log").read_text()
