"""One command: ``peftsweep <command>`` lists its commands, each old script name still works."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from peftsweep.cli import COMMANDS, main

from helpers import OFFLINE, ROOT

BIN = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **OFFLINE})


def test_help_lists_every_command_with_a_line():
    out = run(str(BIN / "peftsweep"), "--help")
    assert out.returncode == 0, out.stderr
    listed = [line.split()[0] for line in out.stdout.splitlines()
              if line.startswith("    ") and line.split()[0] in COMMANDS]
    assert listed == list(COMMANDS)
    assert set(COMMANDS) == {"train", "report", "status", "dashboard", "export", "predict",
                             "evaluate", "params", "inspect"}
    for command, help_line in COMMANDS.items():
        assert help_line.split()[0] in out.stdout.split(command, 1)[1]


def test_every_old_script_name_is_its_command():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")
               if ep.name.startswith("peftsweep")}
    assert scripts["peftsweep"] == "peftsweep.cli:main"
    for command in COMMANDS:
        assert scripts[f"peftsweep-{command}"] == f"peftsweep.cli.{command}:main"


@pytest.mark.parametrize("command", ["status", "report"])
def test_an_old_script_prints_what_the_command_prints(command):
    new = run(str(BIN / "peftsweep"), command, "--help")
    old = run(str(BIN / f"peftsweep-{command}"), "--help")
    assert new.returncode == old.returncode == 0, old.stderr
    assert old.stdout == new.stdout
    assert f"usage: peftsweep {command}" in new.stdout


def test_python_dash_m_is_the_command_too(tmp_path):
    missing = tmp_path / "nowhere"
    out = run(sys.executable, "-m", "peftsweep", "status", str(missing))
    assert out.returncode == 2
    assert out.stderr.startswith("peftsweep: error: ")
    assert len(out.stderr.strip().splitlines()) == 1


def test_train_takes_exactly_what_train_py_takes(run_train, tmp_path):
    """`peftsweep train` and `python train.py` reject the same bad override the same way."""
    bad = ["strategy=lora", "strategy.r=abc", f"resume={tmp_path / 's'}"]
    via_script = run_train(*bad)
    code = main(["train", *bad])
    assert via_script.returncode == code == 2
    assert "strategy.r: must be an integer, got 'abc'" in via_script.stderr
    assert not (tmp_path / "s").exists()
