"""A search you can trust, without training: confirmation planning, the timeout over resumes,
samplers, warm-start matching, resume refusals (one line, exit 2, the study untouched) and
the report's rule for confirmed configurations. Real Optuna studies (SQLite on disk)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import optuna  # the search extra, installed by make install
import pytest

from peftsweep.compose.session import compose_config
from peftsweep.errors import ConfigError
from peftsweep.spec.layout import SEARCH_CLOCK, SEARCH_SPEC
from peftsweep.spec.results import write_result
from peftsweep.spec.search import parse_settings
from peftsweep.study.matching import point_of, result_science
from peftsweep.study.samplers import build_sampler, check_sampler
from peftsweep.study.space import parse_space, suggest
from peftsweep.sweep.search import clock, confirm, warm_start
from peftsweep.sweep.search.asking import next_trial
from peftsweep.sweep.search.preflight import check_search, normalize_overrides
from peftsweep.sweep.search.resume_check import check_resume

from helpers import CONF, FAST, make_result, write_sweep

optuna.logging.set_verbosity(optuna.logging.WARNING)
DEMO = ["hydra/sweeper=search", "search=demo", *FAST]  # lr 1e-5..1e-2, bs 16|32, full|bitfit


@pytest.fixture(scope="module")
def demo_search(cache_dir):
    """The demo preset checked once: its settings, space and reference."""
    return check_search(DEMO, CONF)


def _result(cfg, val: float, trainable: int = 1000) -> dict:
    return {"identity": cfg.identity(), "status": "ok", "error": None, "failed_step": None,
            "science": cfg.summary(), "config": cfg.to_dict(),
            "metric": {"name": "accuracy", "mode": "max"},
            "best": {"step": 10, "epoch": 1, "validation": {"accuracy": val}},
            "test": {"accuracy": val}, "params": {"trainable": trainable, "total": 9000},
            "timing": {"train_s": 2.0}, "finished_at": "2026-12-01T10:00:00+00:00"}


# ---- settings and samplers ----

def test_settings_resolve_the_pruner_and_refuse_what_optuna_cannot_do():
    assert parse_settings({"space": {}}).pruner == "median"
    assert parse_settings({"cost": "trainable_params"}).pruner == "none"
    with pytest.raises(ConfigError, match="search.pruner: Optuna cannot prune a two-objective"):
        parse_settings({"cost": "train_s", "pruner": "median"})
    with pytest.raises(ConfigError, match="search.multivariate: only the tpe sampler"):
        parse_settings({"sampler": "gp", "multivariate": True})
    with pytest.raises(ConfigError, match="search.sampler: cmaes optimises one objective"):
        parse_settings({"sampler": "cmaes", "cost": "peak_memory"})
    with pytest.raises(ConfigError, match="search.confirm.seeds: must be >= 2"):
        parse_settings({"confirm": {"top_k": 2, "seeds": 1}})
    assert parse_settings({"warm_start": "a, b"}).warm_start_folders() == ["a", "b"]
    assert normalize_overrides(["search.warm_start=x/a,/y/b", "lr=1"]) == [
        "search.warm_start=['x/a','/y/b']", "lr=1"]


def test_cmaes_refuses_a_categorical_space_and_every_sampler_proposes_points():
    numeric = parse_space({"lr": {"type": "float", "low": 1e-5, "high": 1e-2, "log": True},
                           "strategy.r": {"type": "int", "low": 2, "high": 16}})
    mixed = parse_space({"lr": {"type": "float", "low": 1e-5, "high": 1e-2, "log": True},
                         "strategy": {"type": "categorical", "choices": ["full", "lora"]},
                         "strategy.r": {"type": "int", "low": 2, "high": 16,
                                        "when": {"strategy": "lora"}}})
    with pytest.raises(ConfigError, match="cmaes searches numeric ranges only, and "
                                          "search.space.strategy is categorical"):
        check_sampler(parse_settings({"sampler": "cmaes"}), mixed)
    kinds = {"gp": "GPSampler", "cmaes": "CmaEsSampler", "nsga2": "NSGAIISampler",
             "nsga3": "NSGAIIISampler", "tpe": "TPESampler"}
    for sampler, kind in kinds.items():
        params = numeric if sampler == "cmaes" else mixed
        settings = parse_settings({"sampler": sampler, "n_trials": 8, "seed": 0,
                                   "multivariate": sampler == "tpe"})
        study = optuna.create_study(sampler=build_sampler(settings, params))
        assert type(study.sampler).__name__ == kind
        for _ in range(4):  # past the random start-up for the model-based samplers
            trial = study.ask()
            values = suggest(params, trial)
            study.tell(trial, -abs(values["lr"] - 1e-3))
        assert 1e-5 <= values["lr"] <= 1e-2
    tpe = build_sampler(parse_settings({"multivariate": True}), mixed)
    assert tpe._multivariate and tpe._group  # a conditional space is modelled in groups


# ---- confirmation and the timeout, asked of a real study ----

def _spec(sweep_dir: Path, settings, seed: int = 1) -> dict:
    import dataclasses

    return {"sweep_dir": str(sweep_dir), "launched_at": time.time(),
            "settings": dataclasses.asdict(settings), "reference": {"seed": seed}}


def _finish(study, params, values: list) -> None:
    for value in values:
        trial = study.ask()
        suggest(params, trial)
        study.tell(trial, value)


def test_the_best_configurations_are_queued_at_the_next_seeds(tmp_path):
    settings = parse_settings({"n_trials": 4, "seed": 0, "confirm": {"top_k": 2, "seeds": 3},
                               "space": {"lr": {"type": "float", "low": 1e-5, "high": 1e-2}}})
    params = parse_space(settings.space)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    _finish(study, params, [0.6, 0.9, 0.7])
    spec = _spec(tmp_path, settings, seed=5)
    fourth = next_trial(study, storage, settings, spec)  # the budget is not spent yet
    assert confirm.is_searched(fourth)
    suggest(params, fourth)
    study.tell(fourth, 0.8)
    asked = []
    for _ in range(4):  # 2 configurations x 2 more seeds, then nothing
        trial = next_trial(study, storage, settings, spec)
        values = suggest(params, trial)
        asked.append((trial.user_attrs["confirms"], trial.user_attrs["seed"], values["lr"]))
        study.tell(trial, 0.5)
    by_number = {t.number: t.params["lr"] for t in study.trials}
    assert [(n, s) for n, s, _ in asked] == [(1, 6), (1, 7), (3, 6), (3, 7)]  # 0.9, then 0.8
    assert all(lr == by_number[n] for n, _, lr in asked)
    assert next_trial(study, storage, settings, spec) is None


def test_with_a_cost_the_pareto_front_is_confirmed_first():
    settings = parse_settings({"cost": "trainable_params", "confirm": {"top_k": 2}})
    study = optuna.create_study(directions=["maximize", "minimize"])
    params = parse_space({"lr": {"type": "float", "low": 0.0, "high": 1.0}})
    for lr, values in ((0.1, [0.9, 500]), (0.2, [0.95, 900]), (0.3, [0.7, 100]),
                       (0.4, [0.8, 950])):
        study.enqueue_trial({"lr": lr})
        trial = study.ask()
        suggest(params, trial)
        study.tell(trial, values)
    # The front (0.95@900, 0.9@500, 0.7@100) by metric; 0.8@950 is dominated.
    assert [t.number for t in confirm.ranked(study.trials, settings)] == [1, 0, 2, 3]


def test_a_resumed_search_counts_the_time_earlier_launches_spent(tmp_path):
    settings = parse_settings({"n_trials": 10, "timeout": 60, "space": {
        "lr": {"type": "float", "low": 1e-5, "high": 1e-2}}})
    params = parse_space(settings.space)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    (tmp_path / SEARCH_CLOCK).parent.mkdir()
    earlier = time.time() - 3600
    clock.record(tmp_path, earlier, earlier + 45)  # a first launch spent 45 s, then was killed
    spec = _spec(tmp_path, settings)
    assert clock.spent(tmp_path, spec["launched_at"], spec["launched_at"] + 10) == \
        pytest.approx(55)
    trial = next_trial(study, storage, settings, spec)  # 45 s + a moment: still in time
    suggest(params, trial)
    study.tell(trial, 0.5)
    spec["launched_at"] -= 20  # this launch has now run 20 s: 65 s in all
    assert next_trial(study, storage, settings, spec) is None
    assert len(study.trials) == 1
    saved = json.loads((tmp_path / SEARCH_CLOCK).read_text())
    assert saved[repr(earlier)] == 45 and saved[repr(spec["launched_at"])] >= 20


# ---- warm start and resume: which finished trials belong to this search ----

def test_finished_trials_match_by_space_and_fixed_settings(demo_search):
    params, reference = demo_search.params, demo_search.reference
    inside = compose_config([*FAST, "lr=3e-4", "batch_size=16", "strategy=bitfit"])
    values, why = point_of(result_science(_result(inside, 0.7)), params, reference)
    assert values == {"lr": 3e-4, "batch_size": 16, "strategy": "bitfit"} and why == ""
    cases = {("lr=0.5",): "lr=0.5 lies outside the space",
             ("batch_size=64",): "batch_size=64 lies outside the space",
             ("epochs=3",): "other fixed settings (epochs: 3 in the trial, 2 here)",
             ("strategy=bitfit_biases",): "its strategy is none of the space's choices",
             ("seed=2",): "other fixed settings (seed: 2 in the trial, 1 here)"}
    for overrides, expected in cases.items():
        cfg = compose_config([*FAST, "lr=3e-4", "batch_size=16", *overrides])
        assert point_of(result_science(_result(cfg, 0.7)), params, reference) == (None, expected)


def test_warm_start_hands_matching_trials_over_once_with_their_source(demo_search, tmp_path):
    match = [compose_config([*FAST, f"lr={lr}", "strategy=full"]) for lr in (1e-4, 1e-3)]
    other = compose_config([*FAST, "lr=1e-3", "epochs=3"])
    source = tmp_path / "grid"
    for cfg, val in zip([*match, other], (0.6, 0.8, 0.9), strict=True):
        write_result(source / cfg.identity(), _result(cfg, val))
    write_result(source / "failed", make_result("full", 1e-3, 32, 1, status="failed"))
    folders = warm_start.check_folders([str(source)])
    handover = warm_start.gather(folders, demo_search.params, demo_search.reference,
                                 demo_search.settings)
    assert sorted(c.objectives[0] for c in handover.trials) == [0.6, 0.8]
    assert handover.skipped == {"other fixed settings": 1,
                                "not finished (failed, diverged or pruned)": 1}
    line = warm_start.summary_line(handover, 1)
    assert line.startswith("peftsweep: warm start: 2 trial(s) of 1 sweep(s) handed to the "
                           "study; 2 skipped: ") and "epochs: 3 in the trial, 2 here" in line
    study = optuna.create_study(direction="maximize")
    assert warm_start.hand_over(study, handover, demo_search.params) == 2
    assert warm_start.hand_over(study, handover, demo_search.params) == 0  # never twice
    trial = study.trials[0]
    assert trial.user_attrs["source_sweep"] == str(source.resolve())
    assert trial.user_attrs["source_job"] in {c.identity() for c in match}
    assert trial.params["strategy"] == "full" and not confirm.is_searched(trial)
    with pytest.raises(ConfigError, match="search.warm_start: no such sweep folder"):
        warm_start.check_folders([str(tmp_path / "nowhere")])


def _recorded_search(tmp_path: Path, demo_search) -> Path:
    """A sweep folder as a search launch leaves it: spec with reference, a study."""
    import dataclasses

    sweep = tmp_path / "sweep"
    (sweep / SEARCH_SPEC).parent.mkdir(parents=True)
    spec = {"settings": dataclasses.asdict(demo_search.settings),
            "reference": demo_search.reference.to_json(), "launched_at": 0.0}
    (sweep / SEARCH_SPEC).write_text(json.dumps(spec))
    study = optuna.create_study(storage=f"sqlite:///{sweep / 'study.db'}", study_name="s",
                                direction="maximize")
    _finish(study, demo_search.params, [0.5])
    return sweep


def test_resume_compares_the_recorded_study_with_this_launch(demo_search, tmp_path):
    sweep = _recorded_search(tmp_path, demo_search)
    settings, params, reference = demo_search.settings, demo_search.params, demo_search.reference
    check_resume(sweep, settings, params, reference)  # the same search: fine
    import dataclasses

    more = dataclasses.replace(settings, n_trials=50, workers=3, timeout=10.0)
    check_resume(sweep, more, params, reference)  # budget and workers may change
    with pytest.raises(ConfigError, match=r"search.space: differs from the study in .* "
                                          r"\(changed: batch_size\)"):
        other = dict(settings.space, batch_size={"type": "categorical", "choices": [16, 64]})
        check_resume(sweep, settings, parse_space(other), reference)
    with pytest.raises(ConfigError, match="search.sampler: random now, tpe in the study"):
        check_resume(sweep, dataclasses.replace(settings, sampler="random"), params, reference)
    with pytest.raises(ConfigError, match="search.cost: train_s now, null in the study"):
        check_resume(sweep, dataclasses.replace(settings, cost="train_s", pruner="none"), params,
                     reference)


BAD_RESUMES = [
    ("epochs=3", "epochs: 3 now, 2 in the study in"),
    ("search.space.batch_size.choices=[16,64]", "search.space: differs from the study"),
    ("search.sampler=random", "search.sampler: random now, tpe in the study"),
    ("data.demo_size=500", "data.demo_size: 500 now, 400 in the study"),
]


@pytest.mark.parametrize("override, message", BAD_RESUMES)
def test_a_changed_resume_stops_in_one_line_and_leaves_the_study(demo_search, tmp_path, capsys,
                                                                 override, message):
    from peftsweep.sweep import launch as train

    sweep = _recorded_search(tmp_path, demo_search)
    before = hashlib.sha256((sweep / "study.db").read_bytes()).hexdigest()
    files = sorted(p.name for p in sweep.rglob("*"))
    code = train.run(["-m", *DEMO, f"resume={sweep}", override])
    errors = [line for line in capsys.readouterr().err.splitlines()
              if line.startswith("peftsweep: error")]
    assert code == 2 and len(errors) == 1 and message in errors[0], errors
    assert hashlib.sha256((sweep / "study.db").read_bytes()).hexdigest() == before
    assert sorted(p.name for p in sweep.rglob("*")) == files


# ---- the report: confirmed configurations are selected on their seed mean ----

def test_a_lucky_single_seed_point_does_not_beat_a_confirmed_configuration(tmp_path):
    from peftsweep import load_sweep
    from peftsweep.report.selection import selected

    def searched(lr, seed, val, trial, confirms=None):
        result = make_result("full", lr, 16, seed, val=val, test=val - 0.01)
        result["search"] = {"study": "s", "trial": trial,
                            **({"confirms": confirms} if confirms is not None else {})}
        return result

    results = [searched(1e-3, 1, 0.90, 0), searched(3e-4, 1, 0.86, 1),
               searched(1e-4, 1, 0.93, 2),  # ran once: not confirmed, the luckiest
               searched(1e-3, 2, 0.80, 3, confirms=0), searched(1e-3, 3, 0.82, 4, confirms=0),
               searched(3e-4, 2, 0.85, 5, confirms=1), searched(3e-4, 3, 0.87, 6, confirms=1)]
    sweep = write_sweep(tmp_path / "search", results)
    (sweep / SEARCH_SPEC).parent.mkdir()
    (sweep / SEARCH_SPEC).write_text(json.dumps({"settings": {
        "n_trials": 3, "confirm": {"top_k": 2, "seeds": 3}, "space": {}}}))
    loaded = load_sweep(sweep)
    (chosen,) = loaded.selection().to_dict("records")
    assert chosen["lr"] == 3e-4 and chosen["seeds"] == 3 and chosen["confirmed"]
    assert chosen["val_mean"] == pytest.approx(0.86)  # over 1e-3's 0.84 and 1e-4's 0.93 x 1
    (exported,) = selected(sweep)
    assert exported.job_dir.name == chosen["job_dir"]  # the export takes the same one
    assert exported.result["science"]["lr"] == 3e-4
    written = loaded.report(tmp_path / "report", plots=False)
    assert "Selection confirmed over 3 seeds" in written.markdown
    page = (tmp_path / "report" / "index.html").read_text()
    assert '<h2 id="confirmation">' in page and "search (1 seed)" in page
    confirmation = (tmp_path / "report" / "confirmation.csv").read_text().splitlines()
    assert len(confirmation) == 3 and confirmation[1].startswith("tiny,demo,full,True,0.0003,")
