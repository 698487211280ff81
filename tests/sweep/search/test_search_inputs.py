"""Search inputs without a real search: the space, the settings, secrets, progress lines, the
dry run, bad input (one line, exit 2, nothing written) and every preset at its edges."""

from __future__ import annotations

import os
import time

import optuna  # the search extra, installed by make install
import pytest

from peftsweep.errors import ConfigError
from peftsweep.spec.search import parse_settings
from peftsweep.study.space import edge_assignments, parse_space
from peftsweep.study.storage import PASSWORD_ENV, redact, scrub, take_password
from peftsweep.sweep.search.trial_lines import counts, point_label, trial_line

from helpers import FAST, ROOT, SEARCH

# ---- the space and the settings (no training) ----

@pytest.mark.parametrize("space, problem", [
    ({"lr": {"type": "float", "low": 1e-2, "high": 1e-5}}, "empty or reversed range"),
    ({"lr": {"type": "float", "low": 1e-3, "high": 1e-3}}, "empty or reversed range"),
    ({"lr": {"type": "float", "low": 0, "high": 1e-3, "log": True}}, "bounds > 0"),
    ({"batch_size": {"type": "categorical", "choices": []}}, "at least one choice"),
    ({"lr": {"type": "normal"}}, "unknown value 'normal'"),
    ({"strategy.r": {"type": "int", "low": 2, "high": 8, "when": {"strategy": "lora"}}},
     "not an earlier entry"),
    ({}, "is empty"),
])
def test_bad_spaces_name_the_key_and_the_problem(space, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_space(space)


def test_settings_reject_a_zero_budget_and_unknown_choices():
    with pytest.raises(ConfigError, match="search.n_trials: must be > 0"):
        parse_settings({"n_trials": 0, "space": {}})
    with pytest.raises(ConfigError, match="search.pruner: unknown value 'asha'"):
        parse_settings({"pruner": "asha"})
    assert parse_settings({"sampler": "random"}).sampler == "random"


def test_edges_compose_every_choice_and_the_conditional_key():
    params = parse_space({
        "lr": {"type": "float", "low": 1e-5, "high": 1e-2, "log": True},
        "strategy": {"type": "categorical", "choices": ["full", "lora"]},
        "strategy.r": {"type": "int", "low": 2, "high": 16, "when": {"strategy": "lora"}}})
    edges = edge_assignments(params)
    assert {e["lr"] for e in edges} == {1e-5, 1e-2}
    assert {e["strategy"] for e in edges} == {"full", "lora"}
    assert {e.get("strategy.r") for e in edges if e["strategy"] == "lora"} >= {2, 16}
    assert all("strategy.r" not in e for e in edges if e["strategy"] == "full")


def test_a_password_in_the_url_moves_to_the_environment(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    url = "postgresql://me:s3cr3t-pw@db.example:5432/studies"
    assert take_password(url) == "postgresql://me:***@db.example:5432/studies"
    assert os.environ[PASSWORD_ENV] == "s3cr3t-pw"
    assert "s3cr3t-pw" not in redact(url)
    assert scrub(f"search.storage={url}") == "search.storage=postgresql://me:***@db.example" \
                                             ":5432/studies"


def test_progress_lines_count_the_study_up_to_the_trial():
    study = optuna.create_study(direction="maximize")
    launched = time.time() - 60
    first = study.ask()
    study.tell(first, 0.5)
    pruned = study.ask()
    study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    failed = study.ask()
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    study.ask()  # still running: not counted
    trials = study.get_trials(deepcopy=False)
    assert counts(trials, launched, first.number) == {"done": 1, "failed": 0, "this_launch": 1}
    done = counts(trials, launched, failed.number)
    assert done == {"done": 3, "failed": 1, "this_launch": 3}
    assert counts(trials, time.time() + 60, failed.number)["this_launch"] == 0
    result = {"status": "pruned", "pruned_at": {"validation": 2, "value": 0.61234},
              "timing": {"wall_s": 75.0}}
    line = trial_line(10, done, launched, point_label({"lr": 3.1234e-4, "strategy": "full"}),
                      result, now=launched + 60)
    assert line == ("peftsweep: [3/10] lr=0.000312 strategy=full: pruned at validation 2 "
                    "(val 0.6123), 1m15s | 7 left, ETA 2m20s, 1 failed\n")


def test_a_search_dry_run_prints_the_space_and_trains_nothing(search_conf, tmp_path, capsys,
                                                                monkeypatch):
    from peftsweep.sweep import launch as train

    monkeypatch.setattr(train, "CONF_DIR", search_conf)
    root = tmp_path / "multirun"
    code = train.run([*SEARCH, "search.n_trials=5", "dry_run=true", f"sweep_root={root}"])
    out = capsys.readouterr()
    assert code == 0, out.err[-2000:]
    assert "search: 5 trial(s), sampler random, pruner median" in out.out
    assert "lr             categorical [0.003, 1e-06, 2e-06]" in out.out
    assert "dry run: a search of 5 trial(s); 3 edge point(s)" in out.err
    assert not root.exists()


# ---- bad input through train.py: one line, exit 2, nothing written ----

BAD_INPUT = [
    ("search.n_trials=0", "search.n_trials: must be > 0"),
    ("search.space.lr.choices=[]", "search.space.lr.choices: a categorical needs at least"),
    ("+search.space.no_such_key={type:int,low:1,high:3}", "no_such_key"),
    ("search.storage=sqlite:////no/such/folder/study.db", "search.storage: cannot open"),
    ("search.cost=train_s", "search.pruner: Optuna cannot prune a two-objective study"),
    ("search.sampler=cmaes", "search.sampler: cmaes searches numeric ranges only"),
    ("search.multivariate=true", "search.multivariate: only the tpe sampler"),
    ("search.confirm.seeds=1", "search.confirm.seeds: must be >= 2"),
    ("search.timeout=0", "search.timeout: must be > 0"),
    ("search.warm_start=/no/such/sweep,/nor/this", "search.warm_start: no such sweep folder"),
    ("search.storage=postgresql://u:pw-not-shown@127.0.0.1:1/db",
     "search.storage: cannot connect to postgresql://u:***@127.0.0.1:1/db"),
]


@pytest.mark.parametrize("override, message", BAD_INPUT)
def test_bad_search_input_stops_before_training(search_conf, tmp_path, capsys, monkeypatch,
                                                override, message):
    """The CLI in this process (it stops before Hydra starts); one case also as a process."""
    from peftsweep.sweep import launch as train

    monkeypatch.setattr(train, "CONF_DIR", search_conf)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    code = train.run([*SEARCH, override, f"sweep_root={tmp_path / 'multirun'}"])
    out = capsys.readouterr()
    errors = [line for line in out.err.splitlines() if line.startswith("peftsweep: error")]
    assert code == 2 and len(errors) == 1 and message in errors[0], out.err[-2000:]
    assert "pw-not-shown" not in out.out + out.err
    assert not (tmp_path / "multirun").exists()


def test_bad_search_input_exits_2_from_the_command_line(run_train, search_conf, tmp_path):
    override, message = BAD_INPUT[-1]
    proc = run_train(*SEARCH, override, f"sweep_root={tmp_path / 'multirun'}")
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert "pw-not-shown" not in proc.stdout + proc.stderr
    assert not (tmp_path / "multirun").exists()


@pytest.mark.parametrize("preset", sorted(p.stem for p in (ROOT / "conf" / "search").glob(
    "*.yaml") if not p.stem.startswith("_")))
def test_every_search_preset_composes_at_its_edges(cache_dir, preset):
    from peftsweep.sweep.search.preflight import check_search

    configs = check_search(["hydra/sweeper=search", f"search={preset}", *FAST],
                           ROOT / "conf").configs
    assert len({c.identity() for c in configs}) >= 2  # choices and bounds really vary
