"""`peftsweep dashboard SWEEP`: optuna-dashboard on a search sweep's study, over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from peftsweep.cli import main
from peftsweep.spec.layout import SEARCH_SPEC
from peftsweep.spec.results import write_result
from peftsweep.study.dashboard import name_objective

from helpers import ROOT, make_result

optuna = pytest.importorskip("optuna")
pytest.importorskip("optuna_dashboard")
STUDY = "2026-12-03/10-00-00-abcdef"


@pytest.fixture
def search_sweep(tmp_path) -> Path:
    """A search sweep as the sweeper leaves it: its spec, a study with two trials, results."""
    sweep = tmp_path / "sweep"
    (sweep / SEARCH_SPEC).parent.mkdir(parents=True)
    url = f"sqlite:///{sweep / 'study.db'}"
    study = optuna.create_study(storage=url, study_name=STUDY, direction="maximize")
    lr = optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True)
    for value, trial_lr in ((0.7, 1e-3), (0.8, 1e-2)):
        study.add_trial(optuna.trial.create_trial(params={"lr": trial_lr},
                                                  distributions={"lr": lr}, value=value))
    (sweep / SEARCH_SPEC).write_text(json.dumps({"storage": url, "study": STUDY}))
    write_result(sweep / "job0", make_result("lora", 1e-3, 8, 1, val=0.7, test=0.6,
                                             metric="mcc"))
    return sweep


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str, deadline: float):
    """GET url as JSON, retrying while the server starts (until ``deadline``)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_dashboard_serves_the_sweeps_study_with_its_objective_named(search_sweep):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "peftsweep", "dashboard", str(search_sweep),
                             "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        studies = get_json(f"http://127.0.0.1:{port}/api/studies", deadline)["study_summaries"]
        assert [s["study_name"] for s in studies] == [STUDY]
        detail = get_json(f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}"
                          "?after=0", deadline)
        assert detail["objective_names"] == ["val/mcc"]  # set from the sweep's results
        assert sorted(t["values"][0] for t in detail["trials"]) == [0.7, 0.8]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"at http://127.0.0.1:{port}/" in err


def test_a_named_objective_is_left_as_it_is(search_sweep):
    url = f"sqlite:///{search_sweep / 'study.db'}"
    with pytest.warns(optuna.exceptions.ExperimentalWarning):
        optuna.load_study(study_name=STUDY, storage=url).set_metric_names(["val_accuracy"])
    assert name_objective(url, STUDY, "val/mcc") == ["val_accuracy"]


def test_a_folder_that_is_not_a_search_is_one_line_and_exit_2(tmp_path, capsys):
    grid = tmp_path / "grid"
    grid.mkdir()
    assert main(["dashboard", str(grid)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("peftsweep: error: SWEEP: ")
    assert "is not a search" in err[0]
