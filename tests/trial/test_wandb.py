"""logger=wandb: one offline W&B run per trial, read back with wandb's own reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peftsweep.sweep.launch import CONF_DIR
from peftsweep.sweep.preflight import check_sweep
from peftsweep.trial import wandb_run
from peftsweep.trial.run import run_trial
from peftsweep.trial.sweep_of import SWEEP_MARKER

from helpers import FAST

QUIET = [a for a in FAST if not a.startswith("logger=")]


def wandb_cli() -> str:
    return str(Path(sys.executable).with_name("wandb"))


def inspect(run_dir: Path, *flags: str):
    """`wandb leet inspect --json`: the records of a run's .wandb log, or its summary."""
    out = subprocess.run([wandb_cli(), "leet", "inspect", "--json", *flags, str(run_dir)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out) if "--summary" in flags else [json.loads(line)
                                                           for line in out.splitlines()]


@pytest.fixture(scope="module")
def wandb_trial(tmp_path_factory, cache_dir):
    pytest.importorskip("wandb")
    saved = os.environ.get("WANDB_MODE")
    os.environ["WANDB_MODE"] = "offline"  # no account, nothing leaves the machine
    sweep = tmp_path_factory.mktemp("wandb-sweep")
    (sweep / SWEEP_MARKER).write_text("{}\n")
    cfg = check_sweep([*QUIET, "logger=wandb", "strategy=lora", "trainer.keep_checkpoint=true"],
                      multirun=False, conf_dir=CONF_DIR)[0]
    result = run_trial(cfg, sweep / "lora_trial")
    yield cfg, sweep, result
    if saved is None:
        os.environ.pop("WANDB_MODE", None)
    else:
        os.environ["WANDB_MODE"] = saved


def run_dirs(sweep: Path) -> list[Path]:
    return sorted((sweep / wandb_run.WANDB_DIR).glob("offline-run-*"))


def test_one_offline_run_per_trial_grouped_by_sweep(wandb_trial):
    cfg, sweep, result = wandb_trial
    assert result["status"] == "ok", result["error"]
    (run_dir,) = run_dirs(sweep)
    records = inspect(run_dir)
    (run,) = [r["run"] for r in records if r["type"] == "run"]
    assert run["run_id"] == json.loads((sweep / "lora_trial" / wandb_run.RUN_FILE)
                                       .read_text())["run_id"]
    assert run["run_group"] == f"{sweep.parent.name}/{sweep.name}"
    assert run["job_type"] == "lora" and run["display_name"] == "lora_trial"
    config = run["config"]["update"]
    assert config["lr"] == cfg.lr and config["strategy.r"] == cfg.strategy["r"]
    assert config["identity"] == cfg.identity()
    assert config["config"]["model"]["name_or_path"] == "builtin:demo"  # the resolved config
    assert "eval_batch_size" not in config["config"]["trainer"]  # null: not logged
    history = [r["history"]["item"] for r in records if r["type"] == "history"]
    validations = [row["val/accuracy"] for row in history if "val/accuracy" in row]
    assert validations == pytest.approx([e["validation/accuracy"] for e in result["history"]])
    summary = inspect(run_dir, "--summary")
    assert summary["state"] == "finished" and summary["exit_code"] == 0
    assert summary["summary"]["status"] == "ok"
    assert summary["summary"]["hp/test_accuracy"] == pytest.approx(result["test"]["accuracy"])


def test_a_resumed_trial_continues_its_run(wandb_trial):
    cfg, sweep, result = wandb_trial
    (first,) = run_dirs(sweep)
    before = {p: p.read_bytes() for p in first.glob("*.wandb")}
    # Killed after its last checkpoint, before its result: it resumes, into the same run.
    (sweep / "lora_trial" / "result.json").unlink()
    resumed = run_trial(cfg, sweep / "lora_trial")
    assert resumed["resumed_from_step"] is not None and resumed["test"] == result["test"]
    runs = run_dirs(sweep)
    assert len(runs) == 2 and {r.name.rsplit("-", 1)[1] for r in runs} == {
        first.name.rsplit("-", 1)[1]}
    assert {p: p.read_bytes() for p in first.glob("*.wandb")} == before  # rows kept
    (run,) = [r["run"] for r in inspect(runs[1]) if r["type"] == "run"]
    assert run["resume"] is True
    summary = inspect(runs[1], "--summary")
    assert summary["summary"]["status"] == "ok" and summary["exit_code"] == 0
