"""One trial on two CPU processes (DDP over gloo): sharded batches, synchronised metrics,
one result. The trials run in-process as rank 0; rank 1 is a real worker process."""

from __future__ import annotations

import numpy as np
import pytest

from peftsweep.data.batching import LengthGroupedBatchSampler
from peftsweep.spec.results import read_result
from peftsweep.trial import run as trial_module
from peftsweep.trial.distributed import RANK_DIR

from helpers import trial_config

LENGTHS = np.random.default_rng(0).integers(3, 60, size=203)


def shards(world: int, **kwargs) -> list[LengthGroupedBatchSampler]:
    return [LengthGroupedBatchSampler(LENGTHS, 8, seed=3, rank=rank, world_size=world, **kwargs)
            for rank in range(world)]


@pytest.mark.parametrize("group_batches", [1, 5])
def test_training_shards_are_even_and_cover_the_epoch(group_batches):
    samplers = shards(3, group_batches=group_batches)
    for sampler in samplers:
        sampler.set_epoch(2)
    batches = [list(sampler) for sampler in samplers]
    assert len({len(b) for b in batches}) == 1 == len({len(s) for s in samplers})
    assert len(batches[0]) == len(samplers[0]) == 9  # 26 batches of 8, filled to 27, over 3
    seen = [i for rank in batches for batch in rank for i in batch]
    assert set(seen) == set(range(len(LENGTHS)))
    assert len(seen) - len(LENGTHS) <= 8 * 2  # at most world - 1 repeated batches
    again = shards(3, group_batches=group_batches)[1]
    again.set_epoch(2)
    assert list(again) == batches[1]  # a function of (seed, epoch, rank) only


def test_ranks_of_one_step_see_similar_lengths():
    # Runs of neighbouring batches of one length group go to the ranks of one step.
    samplers = shards(2, group_batches=13)
    ranks = [list(s) for s in samplers]
    longest = [[LENGTHS[batch].max() for batch in rank] for rank in ranks]
    same_step = np.abs(np.subtract(*longest))
    next_step = np.abs(np.diff(longest[0]))  # the random order of runs, for comparison
    assert np.median(same_step) < np.median(next_step) / 2


def test_one_rank_keeps_the_single_device_order():
    alone = LengthGroupedBatchSampler(LENGTHS, 8, seed=3, group_batches=5)
    (one,) = shards(1, group_batches=5)
    assert [list(b) for b in alone] == [list(b) for b in one]


def test_evaluation_shards_count_every_example_once():
    samplers = shards(2, shuffle=False)
    seen = sorted(i for s in samplers for batch in s for i in batch)
    assert seen == list(range(len(LENGTHS)))
    assert [len(s) for s in samplers] == [len(list(s)) for s in samplers]


def config(*overrides: str):
    return trial_config("trainer.accelerator=cpu", *overrides)


def run(tmp_path, name: str, *overrides: str) -> dict:
    job_dir = tmp_path / name
    result = trial_module.run_trial(config(*overrides), job_dir)
    assert result["status"] == "ok", result["error"]
    on_disk = read_result(job_dir / "result.json")  # one result, rank 0's
    assert {**on_disk, "schema_version": None} == {**result, "schema_version": None}
    return result


@pytest.mark.integration
def test_two_processes_evaluate_exactly_like_one(tmp_path, cache_dir):
    # An lr far below float resolution leaves the initial weights as they are, so both runs
    # score the same model: sharded evaluation plus metric sync must then give the very same
    # numbers, which a rank scoring only its own half (or counting an example twice) would not.
    frozen = ["lr=1e-30", "epochs=1"]
    one = run(tmp_path, "one", *frozen, "batch_size=32")
    two_ranks = [*frozen, "batch_size=16", "trainer.devices=2", "trainer.keep_checkpoint=true"]
    two = run(tmp_path, "two", *two_ranks)
    assert two["history"] == one["history"]
    assert two["test"] == one["test"]
    assert two["world_size"] == 2
    assert (tmp_path / "two" / RANK_DIR / "rank1.log").exists()
    # Killed after its last checkpoint, before its result: both ranks resume from last.ckpt.
    (tmp_path / "two" / "result.json").unlink()
    resumed = run(tmp_path, "two", *two_ranks)
    assert resumed["resumed_from_step"] == two["history"][-1]["step"]
    assert resumed["history"] == two["history"] and resumed["test"] == two["test"]


@pytest.mark.integration
def test_two_processes_train_close_to_one(tmp_path, cache_dir):
    # 2 ranks x 16 examples average their gradients: the same step size and number of steps
    # as 1 x 32, but not the same 32 examples per step (each rank takes its own length-grouped
    # batch, and the two batches of one step hold other examples than the one-device batch),
    # so the runs are close, not equal.
    learns = ["data.demo_size=800", "epochs=3", "lr=3e-3"]
    one = run(tmp_path, "one", *learns, "batch_size=32")
    two = run(tmp_path, "two", *learns, "batch_size=16", "trainer.devices=2")
    assert [h["step"] for h in two["history"]] == [h["step"] for h in one["history"]]
    assert two["timing"]["train_samples_per_s"] > 0
    for key in ("validation/accuracy",):
        assert abs(two["history"][-1][key] - one["history"][-1][key]) <= 0.15
    assert abs(two["test"]["accuracy"] - one["test"]["accuracy"]) <= 0.15
    again = trial_module.run_trial(config(*learns, "batch_size=16", "trainer.devices=2"),
                                   tmp_path / "two")
    # Finished: skipped like a one-device trial (the result as it lies on disk).
    assert again["finished_at"] == two["finished_at"] and again["test"] == two["test"]


@pytest.mark.integration
def test_a_pruned_ddp_trial_stops_every_rank_at_rank_0s_decision(tmp_path, cache_dir,
                                                                  monkeypatch):
    import json
    import time

    import optuna  # the search extra, installed by make install

    from peftsweep.study.pruning import CONTEXT_ENV

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    # An earlier trial that was perfect at every validation: the median pruner stops ours
    # at its first validation.
    study.add_trial(optuna.trial.create_trial(
        value=1.0, params={}, distributions={},
        intermediate_values={step: 1.0 for step in range(1, 10)}))
    trial = study.ask()
    monkeypatch.setenv(CONTEXT_ENV, json.dumps({
        "storage": url, "study": "s", "trial": trial.number, "pruner": "median",
        "startup": 0, "warmup": 0}))
    started = time.time()
    result = trial_module.run_trial(config("epochs=5", "batch_size=16", "trainer.devices=2"),
                                    tmp_path / "job")
    elapsed = time.time() - started
    assert result["status"] == "pruned" and result["pruned_at"]["validation"] == 1
    assert read_result(tmp_path / "job" / "result.json")["status"] == "pruned"
    # Rank 1 did not ask the study: it stopped at the decision rank 0 broadcast, on its own
    # (rank 0 waits for it rather than killing it), and every rank ended in seconds, not at
    # the end of 5 epochs or a collective's timeout.
    log = (tmp_path / "job" / RANK_DIR / "rank1.log").read_text()
    assert "trial pruned by rank 0's decision: pruned at step" in log, log[-2000:]
    assert "Traceback" not in log
    assert elapsed < 60
    stored = optuna.load_study(study_name="s", storage=url).trials[trial.number]
    assert list(stored.intermediate_values) == [1]  # reported once, by rank 0


def kill_rank_1_after(seconds: float, killed: dict) -> None:
    """Kill -9 the rank 1 process ``seconds`` after it starts; note when in ``killed``."""
    import os
    import signal
    import subprocess
    import time

    while not (pids := subprocess.run(["pgrep", "-f", "peftsweep.trial.rank_worker"],
                                      capture_output=True, text=True).stdout.split()):
        time.sleep(0.05)
    time.sleep(seconds)
    killed["at"] = time.time()
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)


@pytest.mark.integration
@pytest.mark.parametrize("when_s", [0.5, 12.0], ids=["while-loading", "while-training"])
def test_a_dead_rank_fails_its_trial_at_once_and_the_next_trial_runs(tmp_path, cache_dir,
                                                                     when_s):
    # Killed while loading, rank 1 never reaches the rendezvous that rank 0 waits in; killed
    # while training, it leaves rank 0 inside a collective. Either way the trial fails in
    # seconds (not at the 30-minute timeout) and names the rank, and this process can go on
    # to the next trial of its sweep.
    import threading
    import time

    killed: dict = {}
    threading.Thread(target=kill_rank_1_after, args=(when_s, killed), daemon=True).start()
    long = ["data.demo_size=4000", "epochs=20", "batch_size=16", "trainer.devices=2"]
    result = trial_module.run_trial(config(*long), tmp_path / "dead")
    assert time.time() - killed["at"] < 60
    assert result["status"] == "failed"
    assert result["error"].startswith("RankDied: DDP rank 1 was killed by SIGKILL"), result
    assert read_result(tmp_path / "dead" / "result.json")["status"] == "failed"
    run(tmp_path, "next", "epochs=1", "batch_size=16", "trainer.devices=2")
