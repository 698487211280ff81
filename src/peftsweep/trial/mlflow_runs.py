"""MLflow runs of a sweep: a parent run per sweep, one nested run per trial, resumable.

The first trial of a sweep creates the sweep's parent run (under a lock in the sweep
folder, where its id is kept in ``mlflow_sweep.json``); every trial's run is nested under
it through MLflow's ``mlflow.parentRunId`` tag, so the MLflow UI folds a sweep into one
row. A trial keeps its run id in ``<job>/mlflow_run.json``: resumed from its checkpoint,
it logs into the same run, whose earlier rows stay; run again from scratch, it starts a
new run. The sweep's end marks the parent finished.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from filelock import FileLock
from pytorch_lightning.loggers import MLFlowLogger

from peftsweep.spec.config import MlflowConfig
from peftsweep.spec.results import atomic_write_json
from peftsweep.trial.sweep_of import sweep_name, sweep_of

MLFLOW_STORE = "mlflow.db"
RUN_FILE = "mlflow_run.json"
SWEEP_RUN_FILE = "mlflow_sweep.json"
IDENTITY_TAG = "peftsweep.identity"
TRIAL_TAG = "peftsweep.trial"
SWEEP_TAG = "peftsweep.sweep"
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own: the UI nests the run under its parent


def client(uri: str):
    """MLflow's client, its log records routed through ours (the job's log, not the terminal)."""
    # MLflow's usage telemetry would reach the network; a user may still turn it on.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    library = logging.getLogger("mlflow")
    library.handlers.clear()  # its own stderr handler prints "Creating ... tables" per trial
    library.propagate = True
    return MlflowClient(uri)


def local_store_uri(folder: Path) -> str:
    """The default MLflow store: one SQLite file per sweep, beside its job folders."""
    return f"sqlite:///{Path(folder).resolve() / MLFLOW_STORE}"


def store_of(options: MlflowConfig, job_dir: Path) -> tuple[str, str | None]:
    """The tracking URI and, for the local store, where artifacts go."""
    if options.tracking_uri:
        return options.tracking_uri, None
    folder = Path(job_dir).resolve().parent
    return local_store_uri(folder), (folder / "mlartifacts").as_uri()


def experiment_id(uri: str, name: str, artifacts: str | None) -> str:
    mlflow = client(uri)
    found = mlflow.get_experiment_by_name(name)
    return found.experiment_id if found else mlflow.create_experiment(
        name, artifact_location=artifacts)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _live_run(uri: str, record: dict) -> str | None:
    """The recorded run id if it is in this store; None otherwise (another store, deleted)."""
    from mlflow.exceptions import MlflowException

    if record.get("tracking_uri") != uri or not record.get("run_id"):
        return None
    try:
        run = client(uri).get_run(record["run_id"])
    except MlflowException:
        return None
    return run.info.run_id if run.info.lifecycle_stage == "active" else None


def sweep_run(uri: str, experiment: str, sweep_dir: Path) -> str:
    """The sweep's parent run, created by whichever trial comes first; running again."""
    record_path = Path(sweep_dir) / SWEEP_RUN_FILE
    with FileLock(str(record_path) + ".lock"):
        run_id = _live_run(uri, _read(record_path))
        mlflow = client(uri)
        if run_id is None:
            name = sweep_name(sweep_dir)
            run_id = mlflow.create_run(experiment, run_name=name,
                                       tags={SWEEP_TAG: name}).info.run_id
            atomic_write_json(record_path, {"tracking_uri": uri, "run_id": run_id})
        elif mlflow.get_run(run_id).info.status != "RUNNING":  # a resumed sweep
            mlflow.update_run(run_id, status="RUNNING")
    return run_id


def finish_sweep_run(sweep_dir: Path, counts: dict[str, int]) -> None:
    """Mark the parent run finished (failed if a trial failed) with the sweep's counts."""
    record = _read(Path(sweep_dir) / SWEEP_RUN_FILE)
    run_id = _live_run(record.get("tracking_uri"), record) if record else None
    if run_id is None:
        return
    mlflow = client(record["tracking_uri"])
    for status, count in counts.items():
        mlflow.log_metric(run_id, f"trials_{status}", float(count))
    bad = counts.get("failed", 0) + counts.get("diverged", 0) + counts.get("missing", 0)
    mlflow.set_terminated(run_id, "FAILED" if bad else "FINISHED")


def trial_logger(options: MlflowConfig, job_dir: Path, identity: str,
                 resuming: bool) -> MLFlowLogger:
    """The trial's MLflow logger: its earlier run when ``resuming``, else a new one."""
    job_dir = Path(job_dir)
    uri, artifacts = store_of(options, job_dir)
    if options.tracking_uri is None:
        # Parallel trials would otherwise race to create the schema and the experiment.
        with FileLock(str(job_dir.resolve().parent / f"{MLFLOW_STORE}.lock")):
            experiment = experiment_id(uri, options.experiment_name, artifacts)
    else:
        experiment = experiment_id(uri, options.experiment_name, None)
    tags = {IDENTITY_TAG: identity, TRIAL_TAG: job_dir.name}
    sweep = sweep_of(job_dir)
    if sweep is not None:
        tags.update({PARENT_TAG: sweep_run(uri, experiment, sweep),
                     SWEEP_TAG: sweep_name(sweep)})
    run_id = _live_run(uri, _read(job_dir / RUN_FILE)) if resuming else None
    if run_id is not None:
        client(uri).update_run(run_id, status="RUNNING")
    logger = MLFlowLogger(experiment_name=options.experiment_name, run_name=job_dir.name,
                          tracking_uri=uri, artifact_location=artifacts, tags=tags,
                          run_id=run_id)
    atomic_write_json(job_dir / RUN_FILE, {"tracking_uri": uri, "run_id": logger.run_id})
    return logger
