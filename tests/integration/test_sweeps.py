"""Whole sweeps through train.py: the demo grid, resume after SIGKILL, failures, collisions."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peftsweep.spec.results import read_result

from helpers import FAST, OFFLINE, ROOT, tensorboard_scalars

pytestmark = pytest.mark.integration


def results(sweep: Path) -> dict[str, dict]:
    return {p.parent.name: read_result(p) for p in sweep.rglob("result.json")}


def test_demo_grid_as_written_gives_four_results(run_train, tmp_path):
    sweep = tmp_path / "sweep"
    fast = [a for a in FAST if not a.startswith("lr=")]
    proc = run_train("-m", "experiment=demo", "strategy=bitfit,full", "lr=3e-3,2e-3",
                     "seed=1", *fast, f"resume={sweep}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = results(sweep)
    assert len(found) == 4
    assert {(r["science"]["strategy"], r["science"]["lr"]) for r in found.values()} == {
        ("bitfit", 3e-3), ("bitfit", 2e-3), ("full", 3e-3), ("full", 2e-3)}
    assert all(r["status"] == "ok" for r in found.values())
    summary = json.loads((sweep / "summary.json").read_text())
    assert summary["counts"] == {"ok": 4, "pruned": 0, "failed": 0, "diverged": 0,
                                 "corrupt": 0, "missing": 0}
    assert "4 ok, 0 pruned, 0 failed, 0 diverged" in proc.stderr
    # Full fine-tuning keeps only the selected learning rate's weights; BitFit keeps both.
    kept = sorted(read_result(p.parent.parent / "result.json")["science"]["strategy"]
                  for p in sweep.rglob("weights/weights.json"))
    assert kept == ["bitfit", "bitfit", "full"]
    assert summary["weights_bytes"] > 0 and "kept weights" in proc.stderr


def test_diverging_combination_is_isolated_and_reported(run_train, tmp_path):
    sweep = tmp_path / "sweep"
    fast = [a for a in FAST if not a.startswith("lr=")]
    proc = run_train("-m", *fast, "lr=2e-3,1e30", "trainer.gradient_clip_val=null",
                     f"resume={sweep}")
    assert proc.returncode == 1
    assert "1 ok, 0 pruned, 0 failed, 1 diverged" in proc.stderr
    statuses = sorted(r["status"] for r in results(sweep).values())
    assert statuses == ["diverged", "ok"]
    from peftsweep.cli.report import main as report

    assert report([str(sweep), "--no-plots"]) == 0
    gaps = (sweep / "report" / "gaps.csv").read_text()
    assert "diverged" in gaps and "not finite" in gaps


def test_concurrent_sweeps_in_one_root_stay_apart(cache_dir, tmp_path):
    env = {**os.environ, **OFFLINE, "PEFTSWEEP_CACHE": str(cache_dir)}
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", *FAST, "seed=1,2",
           f"sweep_root={tmp_path}"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()[-2000:]
    sweeps = sorted(p.parent for p in tmp_path.rglob("summary.json"))
    assert len(sweeps) == 2 and sweeps[0] != sweeps[1]
    for sweep in sweeps:
        assert len(results(sweep)) == 2


def _wait_for(path_glob: Path, pattern: str, proc: subprocess.Popen, timeout: float) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = list(path_glob.glob(pattern))
        if found:
            return found[0]
        assert proc.poll() is None, "sweep ended before it could be interrupted"
        time.sleep(0.05)
    raise TimeoutError(pattern)


def csv_rows(job_dir: Path) -> list[dict]:
    with open(job_dir / "csv" / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_sigkill_then_rerun_resumes_and_matches(run_train, cache_dir, tmp_path):
    # The default loggers (TensorBoard + CSV): a resumed trial keeps every row of both.
    fixed = ["-m", "data.demo_size=400", "batch_size=32", "lr=2e-3", "epochs=5",
             "trainer.log_every_n_steps=5"]
    args = [*fixed, "seed=1,2"]
    sweep = tmp_path / "killed"
    env = {**os.environ, **OFFLINE, "PEFTSWEEP_CACHE": str(cache_dir)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args, f"resume={sweep}"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    finished = _wait_for(sweep, "*seed1*/result.json", proc, 300)
    _wait_for(sweep, "*seed2*/checkpoints/last.ckpt", proc, 300)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not list(sweep.glob("*seed2*/result.json")), "killed too late"
    finished_bytes = finished.read_bytes()

    rerun = run_train(*args, f"resume={sweep}")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert finished.read_bytes() == finished_bytes  # the finished trial was not re-run
    resumed = results(sweep)
    assert len(resumed) == 2
    killed = next(r for name, r in resumed.items() if "seed2" in name)
    assert killed["resumed_from_step"] > 0

    clean = run_train(*fixed, "seed=2", f"resume={tmp_path / 'clean'}")  # the killed one alone
    assert clean.returncode == 0
    reference = next(r for n, r in results(tmp_path / "clean").items() if "seed2" in n)
    assert killed["history"] == reference["history"]
    assert killed["test"] == reference["test"]
    assert killed["best"] == reference["best"]
    killed_dir = next(p.parent for p in sweep.rglob("result.json") if "seed2" in str(p))
    clean_dir = next(p.parent for p in (tmp_path / "clean").rglob("result.json")
                     if "seed2" in str(p))
    # Every row once, in order: the rows before the kill kept, the redone steps not twice.
    rows, expected = csv_rows(killed_dir), csv_rows(clean_dir)
    assert [r["step"] for r in rows] == [r["step"] for r in expected]
    assert any(int(r["step"]) < killed["resumed_from_step"] for r in rows)
    for row, want in zip(rows, expected, strict=True):
        assert row.keys() == want.keys()
        assert [k for k, v in row.items() if v] == [k for k, v in want.items() if v]
        assert [float(v) for v in row.values() if v] == pytest.approx(
            [float(v) for v in want.values() if v], rel=1e-6), row["step"]
    scalars, want_scalars = tensorboard_scalars(killed_dir), tensorboard_scalars(clean_dir)
    assert scalars.keys() == want_scalars.keys()
    for tag, points in want_scalars.items():
        assert [s for s, _ in scalars[tag]] == [s for s, _ in points], tag
        assert [v for _, v in scalars[tag]] == pytest.approx([v for _, v in points]), tag


def test_resume_names_results_made_under_an_older_identity(run_train, tmp_path):
    """A changed identity re-runs a trial; the user is told in one line, old files stay."""
    from peftsweep.compose.session import compose_config
    from peftsweep.spec.results import write_result

    sweep = tmp_path / "sweep"
    args = ["-m", "strategy=full", *FAST]
    cfg = compose_config(args[1:])
    old_dir = sweep / "full_old-identity"
    old_dir.mkdir(parents=True)
    write_result(old_dir, {"identity": "0" * 16, "status": "ok", "science": cfg.summary(),
                           "config": {}, "best": {}, "test": {}, "params": {}})
    before = (old_dir / "result.json").read_bytes()
    proc = run_train(*args, f"resume={sweep}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    notes = [line for line in proc.stderr.splitlines() if "older trial identity" in line]
    assert len(notes) == 1 and "1 finished trial(s)" in notes[0] and old_dir.name in notes[0]
    assert (old_dir / "result.json").read_bytes() == before
    assert len(results(sweep)) == 2
