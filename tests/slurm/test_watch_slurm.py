"""Watching a sweep on a real one-node Slurm cluster (slurm_cluster.py): progress lines from
the jobs, peftsweep-status from the sweep folder, and a resume that submits no job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from helpers import FAST, ROOT

if TYPE_CHECKING:
    from slurm_cluster import LocalSlurmCluster

pytest_plugins = ["slurm_cluster"]

pytestmark = pytest.mark.slurm

SLURM = ["hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
         "trainer.num_threads=1"]


def test_slurm_progress_status_and_a_resume_that_submits_nothing(
        slurm_cluster: LocalSlurmCluster, cache_dir: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    env = {**slurm_cluster.env, "PEFTSWEEP_CACHE": str(cache_dir)}
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", *FAST, "seed=1,2", *SLURM,
           f"resume={sweep}"]

    def launch() -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)

    first = launch()
    assert first.returncode == 0, first.stderr[-3000:]
    log = (sweep / "progress.log").read_text().splitlines()
    assert sorted(line.split()[1] for line in log) == ["[1/2]", "[2/2]"]
    submitted = sorted((sweep / ".submitit").iterdir())
    assert submitted

    status = subprocess.run([sys.executable, "-m", "peftsweep", "status", str(sweep), "--json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert json.loads(status.stdout)["counts"]["done"] == 2, status.stderr

    again = launch()
    assert again.returncode == 0, again.stderr[-3000:]
    assert "2 trial(s) planned: 0 to run, 2 finished already" in again.stdout + again.stderr
    assert sorted((sweep / ".submitit").iterdir()) == submitted  # no job submitted
    assert "2 ok, 0 pruned, 0 failed, 0 diverged, 0 missing" in again.stderr
