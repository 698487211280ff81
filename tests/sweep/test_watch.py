"""Watching a sweep without training: progress lines, peftsweep-status, the summary, dry run."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import re
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

from peftsweep.spec.results import write_result
from peftsweep.sweep import progress
from peftsweep.sweep import status as status_module
from peftsweep.sweep import summary as sweep
from peftsweep.sweep.launch import run as cli
from peftsweep.sweep.plan import PlannedTrial, trial_folder_name, write_plan
from peftsweep.trial.progress_file import FRESH_S, LOCK_FILE, PROGRESS_FILE

from helpers import FAST, ROOT, trial_config

LINE = re.compile(r"^peftsweep: \[(\d+)/(\d+)\] seed=\d+: (ok, val accuracy \d\.\d{4}|failed "
                  r"\(boom\)), \d+s \| (\d+) left, ETA (\d+m?\d*s|done), (\d+) failed$")


def planned(count: int, finished: tuple[int, ...] = ()) -> list[PlannedTrial]:
    return [PlannedTrial(i, f"{i:016x}", f"trial{i}", [f"seed={i}"], f"seed={i}", i in finished)
            for i in range(count)]


def fake_result(trial: PlannedTrial, status: str = "ok") -> dict:
    ok = status == "ok"
    return {"identity": trial.identity, "status": status, "error": None if ok else "boom",
            "failed_step": None, "science": {}, "config": {},
            "metric": {"name": "accuracy", "mode": "max"},
            "best": {"step": 13, "epoch": 0, "validation": {"accuracy": 0.75}},
            "test": {"accuracy": 0.7}, "params": {"trainable": 1, "total": 1},
            "timing": {"wall_s": 2.0}}


def finish(sweep_dir: Path, trial: PlannedTrial, status: str = "ok") -> str | None:
    job_dir = sweep_dir / trial.folder
    result = fake_result(trial, status)
    write_result(job_dir, result)
    return progress.report_trial_end(job_dir, result)


def test_progress_lines_count_from_the_plan(tmp_path, capfd):
    trials = planned(4, finished=(0,))
    write_plan(tmp_path, trials)
    first = finish(tmp_path, trials[1])
    second = finish(tmp_path, trials[2], "failed")
    assert LINE.match(first.strip()).group(1, 2, 4, 6) == ("2", "4", "2", "0")
    assert LINE.match(second.strip()).group(1, 2, 4, 6) == ("3", "4", "1", "1")
    assert "ETA unknown" not in first  # one trial of this launch finished: a pace exists
    assert capfd.readouterr().err == first + second
    assert (tmp_path / progress.PROGRESS_LOG).read_text() == first + second


def test_progress_lines_stay_whole_and_numbered_across_processes(tmp_path):
    trials = planned(6)
    write_plan(tmp_path, trials)
    with multiprocessing.get_context("fork").Pool(6) as pool:
        pool.starmap(finish, [(tmp_path, t) for t in trials])
    lines = (tmp_path / progress.PROGRESS_LOG).read_text().splitlines()
    assert sorted(int(LINE.match(line).group(1)) for line in lines) == [1, 2, 3, 4, 5, 6]


def test_a_new_launch_counts_afresh(tmp_path):
    trials = planned(2)
    write_plan(tmp_path, trials)
    finish(tmp_path, trials[0])
    write_plan(tmp_path, [dataclasses.replace(trials[0], finished=True), trials[1]])
    assert "[2/2]" in finish(tmp_path, trials[1])


def status_sweep(tmp_path: Path) -> tuple[Path, list[PlannedTrial]]:
    """done, failed, running (lock held), running (fresh heartbeat), interrupted, pending."""
    trials = planned(6)
    write_plan(tmp_path, trials)
    finish(tmp_path, trials[0])
    finish(tmp_path, trials[1], "failed")
    now = time.time()
    beats = {2: (1, now - 10 * FRESH_S), 3: (0, now), 4: (2, now - 10 * FRESH_S)}
    for index, (epoch, updated) in beats.items():
        job_dir = tmp_path / trials[index].folder
        job_dir.mkdir(exist_ok=True)
        (job_dir / PROGRESS_FILE).write_text(json.dumps(
            {"epoch": epoch, "max_epochs": 4, "step": 10, "updated_at": updated}))
    return tmp_path, trials


def run_status(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "peftsweep", "status", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_status_shows_every_planned_trial(tmp_path):
    sweep_dir, trials = status_sweep(tmp_path)
    # Another process holds trial 2's lock, as a running trial does.
    with FileLock(str(sweep_dir / trials[2].folder / LOCK_FILE)):
        proc = run_status(str(sweep_dir), "--json")
        text = run_status(str(sweep_dir))
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    states = [(row["state"], row["detail"]) for row in status["trials"]]
    assert states == [("done", "val accuracy 0.7500"), ("failed", "boom"),
                      ("running", "epoch 2/4"), ("running", "epoch 1/4"),
                      ("interrupted", ""), ("pending", "")]
    assert status["counts"] == {"done": 1, "running": 2, "failed": 1, "diverged": 0,
                                "pruned": 0, "interrupted": 1, "pending": 1}
    assert re.fullmatch(r"\d+m?\d*s", status["eta"])
    last = text.stdout.strip().splitlines()[-1]
    assert "6 trial(s): 1 done, 2 running, 1 failed, 1 interrupted, 1 pending; ETA" in last
    # Lock released and heartbeat stale: no longer running.
    after = json.loads(run_status(str(sweep_dir), "--json").stdout)
    assert after["trials"][2]["state"] == "interrupted"


def test_status_eta_before_any_trial_ends_comes_from_the_epoch_pace(tmp_path):
    trials = planned(2)
    write_plan(tmp_path, trials)
    now = time.time()
    (tmp_path / trials[0].folder).mkdir()
    (tmp_path / trials[0].folder / PROGRESS_FILE).write_text(json.dumps(
        {"epoch": 1, "epochs_done": 1, "first_epoch": 0, "max_epochs": 4, "step": 13,
         "fit_started_at": now - 20, "updated_at": now}))
    status = status_module.sweep_status(tmp_path, now=now)
    # 20 s per epoch; 3 epochs left here and 4 for the pending trial, one trial at a time.
    assert status["eta"] == "~2m20s"
    assert [row["state"] for row in status["trials"]] == ["running", "pending"]


def test_status_of_a_folder_without_plan_is_one_line_exit_2(tmp_path):
    proc = run_status(str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.startswith("peftsweep: error: ") and proc.stderr.count("\n") == 1


def test_summary_counts_planned_trials_without_result_as_missing(tmp_path):
    sweep_dir, _ = status_sweep(tmp_path)
    summary = sweep.summarize(sweep_dir)
    assert summary["counts"] == {"ok": 1, "pruned": 0, "failed": 1, "diverged": 0, "corrupt": 0,
                                 "missing": 4}
    assert sum("missing" in line for line in summary["problems"]) == 4


def test_dry_run_prints_plan_and_writes_nothing(cache_dir, tmp_path, capsys):
    sweep_dir = tmp_path / "sweep"
    finished_cfg = trial_config("seed=1")
    done = PlannedTrial(0, finished_cfg.identity(), trial_folder_name(finished_cfg), [], "", True)
    write_result(sweep_dir / done.folder, fake_result(done))
    before = sorted(p.relative_to(sweep_dir) for p in sweep_dir.rglob("*"))
    code = cli(["-m", *FAST, "seed=1,2,3", "dry_run=true", f"resume={sweep_dir}"])
    out, err = capsys.readouterr()
    assert code == 0
    assert re.findall(r"^(\S+).*seed=(\d)", out, re.M) == [("skip", "1"), ("run", "2"),
                                                             ("run", "3")]
    assert "3 trial(s) planned, 2 would run, 1 finished already" in err
    assert sorted(p.relative_to(sweep_dir) for p in sweep_dir.rglob("*")) == before
    assert cli([*FAST, "dry_run=true", f"resume={tmp_path / 'new'}"]) == 0
    assert not (tmp_path / "new").exists()


def test_bad_sweep_switch_is_one_line_exit_2(cache_dir, capsys):
    assert cli([*FAST, "fail_fast=maybe"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("peftsweep: error: ") and "fail_fast" in err and "\n" not in err
