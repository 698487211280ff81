"""Tracking: TensorBoard HParams and MLflow runs, read back from what a trial wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from peftsweep.errors import ConfigError
from peftsweep.sweep.launch import CONF_DIR
from peftsweep.sweep.preflight import check_sweep
from peftsweep.trial import mlflow_runs, tracking
from peftsweep.trial.run import run_trial
from peftsweep.trial.sweep_of import SWEEP_MARKER

from helpers import FAST

QUIET = [a for a in FAST if not a.startswith("logger=")]


def config(*overrides: str):
    return check_sweep([*QUIET, *overrides], multirun=False, conf_dir=CONF_DIR)[0]


@pytest.fixture(scope="module")
def mlflow_trial(tmp_path_factory, cache_dir):
    """One demo trial with logger=mlflow (TensorBoard and CSV stay on) in a sweep folder."""
    pytest.importorskip("mlflow")
    sweep = tmp_path_factory.mktemp("sweep")
    (sweep / SWEEP_MARKER).write_text("{}\n")  # as every sweeper marks its folder
    # The checkpoint stays, so that the resume test below can continue the trial.
    cfg = config("logger=mlflow", "experiment_name=tracking-test",
                 "trainer.keep_checkpoint=true")
    result = run_trial(cfg, sweep / "full_trial")
    assert result["status"] == "ok", result["error"]
    return cfg, sweep, result


def hparams_plugin_data(job_dir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    events = EventAccumulator(str(job_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    content = events.PluginTagToContent("hparams")
    data = {tag.split("/")[-1]: plugin_data_pb2.HParamsPluginData.FromString(raw)
            for tag, raw in content.items()}
    return events, data


def test_tensorboard_hparams_hold_the_config_and_final_metrics(mlflow_trial):
    cfg, sweep, result = mlflow_trial
    events, data = hparams_plugin_data(sweep / "full_trial")
    assert set(data) == {"experiment", "session_start_info", "session_end_info"}
    hparams = data["session_start_info"].session_start_info.hparams
    assert hparams["lr"].number_value == pytest.approx(2e-3)
    assert hparams["strategy.name"].string_value == "full"
    assert hparams["model.name"].string_value == "tiny"
    assert hparams["seed"].number_value == 1
    assert hparams["identity"].string_value == cfg.identity()
    metric_names = {m.name.tag for m in data["experiment"].experiment.metric_infos}
    assert metric_names == {"hp/best_validation_accuracy", "hp/test_accuracy",
                            "hp/trainable_params"}
    # The HParams tab reads each metric's value from the scalars of the same tag.
    test_accuracy = events.Scalars("hp/test_accuracy")
    assert [e.value for e in test_accuracy] == [pytest.approx(result["test"]["accuracy"])]
    best = events.Scalars("hp/best_validation_accuracy")[-1].value
    assert best == pytest.approx(result["best"]["validation"]["accuracy"])
    assert len(events.Scalars("val/accuracy")) == len(result["history"])


def test_mlflow_run_per_trial_in_the_sweep_folder(mlflow_trial):
    from mlflow.entities import RunStatus
    from mlflow.tracking import MlflowClient

    cfg, sweep, result = mlflow_trial
    assert (sweep / tracking.MLFLOW_STORE).is_file()
    client = MlflowClient(f"sqlite:///{sweep / tracking.MLFLOW_STORE}")
    experiment = client.get_experiment_by_name("tracking-test")
    runs = client.search_runs([experiment.experiment_id],
                              f"tags.`{tracking.TRIAL_TAG}` = 'full_trial'")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == RunStatus.to_string(RunStatus.FINISHED)
    assert run.info.run_name == "full_trial"
    assert run.data.tags[tracking.IDENTITY_TAG] == cfg.identity()
    assert run.data.params["lr"] == "0.002" and run.data.params["strategy.name"] == "full"
    assert run.data.params["data.demo_size"] == "400"
    # Options left at null are not logged (trainer.eval_batch_size, data.hub_path, ...).
    assert "null" not in run.data.params.values()
    assert "trainer.eval_batch_size" not in run.data.params
    history = client.get_metric_history(run.info.run_id, "val/accuracy")
    # Lightning numbers a validation by the batches before it; the values are the history's.
    assert [m.value for m in history] == [
        pytest.approx(e["validation/accuracy"]) for e in result["history"]]
    assert run.data.metrics["hp/test_accuracy"] == pytest.approx(result["test"]["accuracy"])
    assert run.data.metrics["hp/trainable_params"] == result["params"]["trainable"]
    assert not list(sweep.glob("mlruns")) and not list(Path.cwd().glob("mlruns"))


def test_mlflow_tracking_uri_sends_runs_there_and_not_to_the_sweep(tmp_path, cache_dir):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    elsewhere = f"sqlite:///{tmp_path / 'server.db'}"
    cfg = config("logger=mlflow", f"logger.mlflow.tracking_uri='{elsewhere}'")
    job_dir = tmp_path / "sweep" / "job"
    job_dir.mkdir(parents=True)
    loggers = tracking.build_loggers(cfg, job_dir)
    assert [type(logger).__name__ for logger in loggers] == [
        "TensorBoardLogger", "ResumableCSVLogger", "MLFlowLogger"]
    runs = MlflowClient(elsewhere).search_runs(
        [MlflowClient(elsewhere).get_experiment_by_name("peftsweep").experiment_id])
    assert [r.data.tags[tracking.IDENTITY_TAG] for r in runs] == [cfg.identity()]
    assert not (tmp_path / "sweep" / tracking.MLFLOW_STORE).exists()


def test_unknown_mlflow_key_is_one_line_before_training(cache_dir):
    with pytest.raises(ConfigError) as err:
        config("logger=mlflow", "+logger.mlflow.uri=http://x")
    assert "logger.mlflow.uri" in str(err.value) and "tracking_uri" in str(err.value)
    assert "\n" not in str(err.value)


def test_default_logger_writes_no_mlflow_store(cache_dir, tmp_path):
    cfg = config("logger=default")
    assert cfg.logger.mlflow is None
    names = [type(logger).__name__ for logger in tracking.build_loggers(cfg, tmp_path / "job")]
    assert names == ["TensorBoardLogger", "ResumableCSVLogger"]
    assert not (tmp_path / tracking.MLFLOW_STORE).exists()


def test_a_sweep_is_one_parent_run_and_a_resumed_trial_continues_its_run(mlflow_trial):
    from mlflow.tracking import MlflowClient

    cfg, sweep, result = mlflow_trial
    client = MlflowClient(f"sqlite:///{sweep / tracking.MLFLOW_STORE}")
    experiment = client.get_experiment_by_name("tracking-test").experiment_id
    (parent,) = client.search_runs([experiment], f"tags.`{mlflow_runs.SWEEP_TAG}` = "
                                                 f"'{sweep.parent.name}/{sweep.name}' and "
                                                 f"attributes.run_name = '{sweep.parent.name}/"
                                                 f"{sweep.name}'")
    (child,) = client.search_runs([experiment], f"tags.`{tracking.TRIAL_TAG}` = 'full_trial'")
    assert child.data.tags[mlflow_runs.PARENT_TAG] == parent.info.run_id
    mlflow_runs.finish_sweep_run(sweep, {"ok": 1, "failed": 0})
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"
    rows = client.get_metric_history(child.info.run_id, "val/accuracy")
    # Killed after its last checkpoint, before its result: the trial resumes, into its run.
    (sweep / "full_trial" / "result.json").unlink()
    resumed = run_trial(cfg, sweep / "full_trial")
    assert resumed["resumed_from_step"] is not None
    assert resumed["test"] == result["test"]  # continued to the same numbers
    (again,) = client.search_runs([experiment], f"tags.`{tracking.TRIAL_TAG}` = 'full_trial'")
    assert again.info.run_id == child.info.run_id and again.info.status == "FINISHED"
    # Every earlier row is kept; the validations after the checkpoint are logged again.
    after = [(m.step, m.value) for m in client.get_metric_history(child.info.run_id,
                                                                  "val/accuracy")]
    assert [(m.step, m.value) for m in rows] == after[:len(rows)]
    assert len(after) == len(rows) + sum(
        e["step"] > resumed["resumed_from_step"] for e in result["history"])
    assert again.data.metrics["hp/test_accuracy"] == pytest.approx(resumed["test"]["accuracy"])
    # The resumed sweep's parent runs again until its end.
    assert client.get_run(parent.info.run_id).info.status == "RUNNING"


def test_a_resumed_tensorboard_file_is_read_after_the_killed_runs_file(tmp_path):
    from helpers import tensorboard_scalars

    killed = tracking.tensorboard_logger(tmp_path)
    for step in range(1, 6):
        killed.log_metrics({"train/loss": float(step)}, step=step)
    killed.finalize("success")
    # As a kill and resume in one second can leave it: the killed run's file sorting last
    # among files of that second (the counter after the pid sorts as text, not number).
    (old,) = (tmp_path / "tensorboard").glob("events.out.tfevents.*")
    stem = old.name.rsplit(".", 1)[0]
    old.rename(old.with_name(f"{stem}.99999999"))
    resumed = tracking.tensorboard_logger(tmp_path, resumed_step=3)
    for step in (4, 5, 6):
        resumed.log_metrics({"train/loss": 10.0 * step}, step=step)
    resumed.finalize("success")
    assert tensorboard_scalars(tmp_path)["train/loss"] == [
        (1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0), (5, 50.0), (6, 60.0)]
