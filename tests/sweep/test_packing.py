"""hydra/launcher=packed end to end: packs formed, the rest alone with the reason, resumed."""

from __future__ import annotations

import json
import os

import pytest

from peftsweep.spec.results import read_result


@pytest.mark.integration
def test_a_packed_grid_packs_what_shares_and_runs_the_rest_alone(run_train, tmp_path):
    sweep = tmp_path / "sweep"
    args = ("-m", "experiment=demo", "hydra/launcher=packed", "hydra.launcher.pack_size=2",
            "strategy=bitfit,lora,full", "lr=1e-3,3e-3", "seed=1", "data.demo_size=200",
            "epochs=2", f"hydra.sweep.dir={sweep}")
    proc = run_train(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [read_result(p) for p in sweep.glob("*/result.json")]
    assert len(results) == 6 and {r["status"] for r in results} == {"ok"}
    packed = [r for r in results if "pack" in r]
    # Four trials share a backbone, in packs of at most two; full fine-tuning runs alone.
    assert sorted(r["science"]["strategy"] for r in packed) == ["bitfit", "bitfit", "lora",
                                                                 "lora"]
    assert {r["pack"]["size"] for r in packed} == {2}
    log = (sweep / "progress.log").read_text()
    assert log.count("runs alone: it trains every weight") == 2
    assert "[6/6]" in log
    summary = json.loads((sweep / "summary.json").read_text())
    assert summary["counts"]["ok"] == 6
    again = run_train(*args)  # everything finished: nothing runs again
    assert again.returncode == 0 and "0 to run" in again.stderr


@pytest.mark.integration
def test_packs_and_lone_trials_share_out_over_worker_processes(run_train, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_train("-m", "experiment=demo", "hydra/launcher=packed", "hydra.launcher.workers=2",
                     "hydra.launcher.pack_size=2", "strategy=bitfit,lora,full", "lr=1e-3,3e-3",
                     "seed=1", "data.demo_size=200", "epochs=2", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [read_result(p) for p in sweep.glob("*/result.json")]
    assert len(results) == 6 and {r["status"] for r in results} == {"ok"}
    packed = sorted(r["science"]["strategy"] for r in results if "pack" in r)
    assert packed == ["bitfit", "bitfit", "lora", "lora"], packed
    # Packs and the full trials a pack handed back ran in two worker processes, each in
    # its own slot with its share of the cores.
    assert len({r["runtime"]["pid"] for r in results}) == 2
    slots = {r["runtime"]["env"].get("PEFTSWEEP_SLOT") for r in results}
    assert slots == {"0", "1"}, slots
    cores = len(os.sched_getaffinity(0))
    assert {r["runtime"]["threads"] for r in results} == {max(1, cores // 2)}
    log = (sweep / "progress.log").read_text()
    assert "[6/6]" in log and log.count("runs alone: it trains every weight") == 2


def test_virtual_tokens_of_one_kind_and_length_share_a_pack_key(tmp_path):
    from peftsweep.sweep.packing import pack_key

    from helpers import trial_config

    def key(*overrides: str) -> str | None:
        return pack_key(trial_config(*overrides), tmp_path / "job")

    assert key("strategy=lora") == key("strategy=bitfit") == key("strategy=ia3")
    assert key("strategy=prompt_tuning") == key("strategy=p_tuning") != key("strategy=lora")
    assert key("strategy=prefix") != key("strategy=prompt_tuning")
    assert key("strategy=prefix", "strategy.num_virtual_tokens=8") != key("strategy=prefix")


@pytest.mark.integration
def test_each_local_parallel_job_trains_a_pack(run_train, tmp_path):
    # hydra.sweeper.pack_size with joblib's workers: each job a pack, the packs side by side.
    sweep = tmp_path / "sweep"
    args = ("-m", "experiment=demo", "hydra/launcher=local_parallel", "parallel.workers=2",
            "hydra.sweeper.pack_size=2", "strategy=bitfit,lora", "lr=1e-3,3e-3", "seed=1",
            "data.demo_size=200", "epochs=2", f"hydra.sweep.dir={sweep}")
    proc = run_train(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [read_result(p) for p in sweep.glob("*/result.json")]
    assert len(results) == 4 and {r["status"] for r in results} == {"ok"}
    packs: dict[tuple, set] = {}
    for result in results:
        assert result["pack"]["size"] == 2
        packs.setdefault(tuple(sorted(result["pack"]["trials"])), set()).add(
            result["runtime"]["pid"])
    # Two packs of two, each trained by one process, the two in different processes.
    assert len(packs) == 2 and all(len(pids) == 1 for pids in packs.values())
    assert len(set.union(*packs.values())) == 2
    assert len(list((sweep / ".packs").glob("pack-*.json"))) == 2
    again = run_train(*args)  # everything finished: nothing runs again
    assert again.returncode == 0 and "0 to run" in again.stderr
