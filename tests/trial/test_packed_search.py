"""Search trials in a pack: each reports its own validations to its study and is pruned
alone, a real SQLite study deciding."""

from __future__ import annotations

import optuna

from peftsweep.trial.packed.run import run_pack

from helpers import trial_config

SMALL = ("data.demo_size=200", "epochs=2", "lr=1e-2")


def test_a_packed_search_trial_reports_each_validation_and_is_pruned_alone(tmp_path,
                                                                           cache_dir):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="packed", storage=url, direction="maximize")
    # A finished trial no accuracy can reach: the median pruner stops the next at once.
    study.add_trial(optuna.trial.create_trial(value=2.0, intermediate_values={1: 2.0, 2: 2.0}))
    behind = study.ask()
    context = {"storage": url, "study": "packed", "trial": behind.number, "pruner": "median",
               "startup": 1, "warmup": 0, "confirms": None}
    trials = [(trial_config("strategy=bitfit", *SMALL), tmp_path / "behind"),
              (trial_config("strategy=lora", *SMALL), tmp_path / "free")]
    outcome = run_pack(trials, searches={tmp_path / "behind": context})
    assert not outcome.alone
    pruned = outcome.results[tmp_path / "behind"]
    assert pruned["status"] == "pruned", pruned.get("error")
    assert pruned["pruned_at"]["validation"] == 1 and len(pruned["history"]) == 1
    assert pruned["failed_step"] == pruned["pruned_at"]["step"] > 0
    assert pruned["search"] == {"study": "packed", "trial": behind.number}
    reported = study.trials[behind.number].intermediate_values
    assert reported == {1: pruned["history"][0]["validation/accuracy"]}
    assert not (tmp_path / "behind" / "checkpoints").exists()
    free = outcome.results[tmp_path / "free"]  # the other trial of the pack trains on
    assert free["status"] == "ok" and len(free["history"]) == 2 and "search" not in free
    assert free["pack"]["size"] == 2
