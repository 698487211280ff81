"""Watching whole sweeps through train.py: progress under a parallel launcher, resume launches
only what is left, a trial held elsewhere counts as missing, fail-fast stops."""

from __future__ import annotations

import re

import pytest
from filelock import FileLock

from peftsweep.sweep.plan import trial_folder_name
from peftsweep.sweep.progress import PROGRESS_LOG
from peftsweep.trial.progress_file import LOCK_FILE

from helpers import FAST, trial_config

pytestmark = pytest.mark.integration

LINE = re.compile(r"^peftsweep: \[(\d)/(\d)\] seed=\d: ok, val accuracy \d\.\d{4}, \d+s \| "
                  r"(\d) left, ETA (\d+m?\d*s|done), 0 failed$")


def progress_lines(text: str) -> list[re.Match]:
    lines = [line for line in text.splitlines() if line.startswith("peftsweep: [")]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return matches


def folder_of(*overrides: str) -> str:
    return trial_folder_name(trial_config(*overrides))


def test_parallel_progress_then_resume_launches_only_the_new_trial(run_train, tmp_path):
    sweep = tmp_path / "sweep"
    first = run_train("-m", *FAST, "seed=1,2", "hydra/launcher=local_parallel",
                      "parallel.workers=2", f"resume={sweep}")
    assert first.returncode == 0, first.stderr[-3000:]
    lines = progress_lines(first.stderr)
    assert sorted((m.group(1), m.group(2)) for m in lines) == [("1", "2"), ("2", "2")]
    assert sorted((sweep / PROGRESS_LOG).read_text().splitlines()) == sorted(
        m.group(0) for m in lines)
    # Quiet by default: peftsweep's own lines only; the rest is in each job's train.log.
    printed = [line for line in (first.stdout + first.stderr).splitlines() if line.strip()]
    assert all(line.startswith("peftsweep: ") for line in printed), printed
    assert len(printed) == 5  # checked, planned, two progress lines, the summary
    assert all("training batches:" in log.read_text() for log in sweep.glob("*/train.log"))
    results = {p: p.read_bytes() for p in sweep.glob("*/result.json")}
    assert len(results) == 2

    # verbose=true (a runtime key: the same trials) shows the launcher's lines too.
    resumed = run_train("-m", *FAST, "seed=1,2,3", f"resume={sweep}", "verbose=true")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Launching 1 jobs locally" in resumed.stdout + resumed.stderr
    assert "3 trial(s) planned: 1 to run, 2 finished already" in resumed.stdout + resumed.stderr
    assert [(m.group(1), m.group(3)) for m in progress_lines(resumed.stderr)] == [("3", "0")]
    assert all(path.read_bytes() == data for path, data in results.items())
    assert "3 ok, 0 pruned, 0 failed, 0 diverged, 0 missing" in resumed.stderr


def test_trial_held_elsewhere_is_missing_and_fails_the_sweep(run_train, tmp_path):
    sweep = tmp_path / "sweep"
    held = sweep / folder_of("seed=2")
    held.mkdir(parents=True)
    with FileLock(str(held / LOCK_FILE)):
        proc = run_train("-m", *FAST, "seed=1,2", f"resume={sweep}")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "1 ok, 0 pruned, 0 failed, 0 diverged, 1 missing" in proc.stderr
    assert not (held / "result.json").exists()


def test_fail_fast_stops_after_the_first_failed_trial(run_train, tmp_path):
    sweep = tmp_path / "sweep"
    fast = [a for a in FAST if not a.startswith("lr=")]
    proc = run_train("-m", *fast, "lr=1e30,2e-3", "seed=1,2", "trainer.gradient_clip_val=null",
                     "fail_fast=true", f"resume={sweep}")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert len(list(sweep.glob("*/result.json"))) == 1
    assert "0 ok, 0 pruned, 0 failed, 1 diverged, 3 missing" in proc.stderr
    assert "fail_fast" in proc.stdout + proc.stderr
