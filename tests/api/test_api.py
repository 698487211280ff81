"""The library face: docs/api.md's example runs on a real sweep, and agrees with the commands."""

from __future__ import annotations

import re

import pytest

import peftsweep
from peftsweep.cli import main
from peftsweep.errors import UserError
from peftsweep.report.selection import selected
from peftsweep.sweep.launch import run

from helpers import FAST, ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory, cache_dir):
    folder = tmp_path_factory.mktemp("api") / "sweep"
    fast = [a for a in FAST if not a.startswith("lr=")]
    assert run(["-m", *fast, "strategy=bitfit,full", "lr=2e-3,5e-3", "seed=1,2",
                f"resume={folder}"]) == 0
    return folder


def docs_example() -> str:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_the_docs_example_runs(sweep_dir, capsys):
    code = re.sub(r'^SWEEP = ".*?"', f'SWEEP = "{sweep_dir}"', docs_example(), flags=re.M)
    assert f'SWEEP = "{sweep_dir}"' in code
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own docs
    assert len(namespace["trials"]) == 8
    assert set(namespace["selection"]["strategy"]) == {"bitfit", "full"}
    assert (sweep_dir / "report" / "report.md").is_file()
    assert len(namespace["exports"]) == 2 and all(p.is_dir() for p in namespace["exports"])
    assert namespace["status"]["counts"]["done"] == 8
    assert "Sweep(" in capsys.readouterr().out


def test_trials_hold_the_science_keys_and_the_numbers(sweep_dir):
    trials = peftsweep.load_sweep(sweep_dir).trials
    for column in ("job_dir", "status", "model", "data", "strategy", "lr", "batch_size",
                   "seed", "epochs", "pretrained", "val/accuracy", "test/accuracy",
                   "params_trainable", "wall_s"):
        assert column in trials.columns, column
    assert sorted(set(trials["lr"])) == [2e-3, 5e-3]
    assert (trials["status"] == "ok").all()
    assert trials["test/accuracy"].between(0, 1).all()
    full = trials[trials["strategy"] == "full"]["params_trainable"]
    bitfit = trials[trials["strategy"] == "bitfit"]["params_trainable"]
    assert bitfit.max() < full.min()


def test_selection_is_what_the_report_and_export_pick(sweep_dir, capsys):
    sweep = peftsweep.load_sweep(sweep_dir)
    chosen = sweep.selection()
    assert main(["report", str(sweep_dir), "--no-plots"]) == 0
    report = capsys.readouterr().out
    for _, row in chosen.iterrows():
        assert f"| {row['strategy']} " in report
    picked = {c.job_dir.name for c in selected(sweep_dir)}
    assert set(chosen["job_dir"]) == picked


def test_a_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="no such sweep folder"):
        peftsweep.load_sweep(tmp_path / "nope")
    with pytest.raises(UserError, match="no finished"):
        peftsweep.load_sweep(tmp_path).selection()
