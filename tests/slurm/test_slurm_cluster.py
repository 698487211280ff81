"""Smoke tests for the throwaway Slurm cluster of tests/slurm_cluster/ (real sbatch jobs)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported as a plugin below, so that pytest can rewrite its asserts
    from slurm_cluster import LocalSlurmCluster

# Registers the session-scoped `slurm_cluster` fixture (skips when Slurm is not installed).
pytest_plugins = ["slurm_cluster"]

pytestmark = pytest.mark.slurm

REQUEUE_SCRIPT = """\
#!/bin/bash
#SBATCH --requeue
#SBATCH --job-name=requeue-smoke
#SBATCH --output={out}/requeue-%j.out
# SLURM_RESTART_COUNT is unset on the first run and counts requeues after that.
if [ "${{SLURM_RESTART_COUNT:-0}}" = 0 ]; then
    echo first >> {out}/markers
    sleep 300
else
    echo second >> {out}/markers
fi
"""


def _wait_for(predicate, timeout: float, what: str, cluster: LocalSlurmCluster) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{cluster.squeue()}\n"
                        f"{cluster.log_tails()}")
        time.sleep(0.2)


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_wrap_job_writes_file(slurm_cluster: LocalSlurmCluster, tmp_path: Path) -> None:
    out = tmp_path / "hello.txt"
    job_id = slurm_cluster.sbatch(f"--chdir={tmp_path}", "--output=job-%j.out",
                                  wrap=f"echo hello from $SLURM_JOB_ID > {out}")

    slurm_cluster.wait_for_jobs(timeout=30, job_ids=[job_id])

    assert out.read_text().strip() == f"hello from {job_id}"
    assert slurm_cluster.job_state(job_id) == "COMPLETED"
    assert job_id not in slurm_cluster.queued_job_ids()


def test_requeued_job_runs_again(slurm_cluster: LocalSlurmCluster, tmp_path: Path) -> None:
    script = tmp_path / "requeue.sh"
    script.write_text(REQUEUE_SCRIPT.format(out=tmp_path))
    markers = tmp_path / "markers"
    job_id = slurm_cluster.sbatch(f"--chdir={tmp_path}", script=script)

    _wait_for(lambda: _lines(markers) == ["first"], 20, "the first run", slurm_cluster)
    slurm_cluster.scontrol("requeue", str(job_id))
    # A requeued job may start again only after AuthInfo=cred_expire (10 s in our conf).
    slurm_cluster.wait_for_jobs(timeout=45, job_ids=[job_id])

    assert _lines(markers) == ["first", "second"]
    assert slurm_cluster.job_state(job_id) == "COMPLETED"
    assert slurm_cluster.job_field(job_id, "Restarts") == "1"
