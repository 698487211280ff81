"""Where a trial's numbers go besides result.json: TensorBoard, CSV, MLflow and W&B.

Every logger gets the per-step training loss and every validation through
Lightning. At the trial's end each also gets the trial's hyper-parameters (the
flat science config) with its final numbers, so that TensorBoard's HParams tab
and MLflow's run table compare a whole sweep. MLflow writes to a local SQLite
store in the sweep folder unless ``logger.mlflow.tracking_uri`` names a server:
nothing leaves the machine by default; its runs (parent per sweep, resume) are
:mod:`.mlflow_runs`, W&B's :mod:`.wandb_run`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import (
    Logger,
    MLFlowLogger,
    TensorBoardLogger,
    WandbLogger,
)

from peftsweep.spec.config import TrialConfig
from peftsweep.trial import wandb_run
from peftsweep.trial.distributed import launched_rank
from peftsweep.trial.log_rows import ResumableCSVLogger
from peftsweep.trial.mlflow_runs import IDENTITY_TAG, MLFLOW_STORE, TRIAL_TAG, trial_logger

__all__ = ["IDENTITY_TAG", "MLFLOW_STORE", "TRIAL_TAG", "build_loggers", "log_trial_end",
           "tensorboard_logger"]


def build_loggers(cfg: TrialConfig, job_dir: Path,
                  resumed_step: int | None = None) -> list[Logger]:
    """The trial's loggers; ``resumed_step`` (continuing from a checkpoint of that step):
    each continues what it wrote up to that step, and trackers continue their runs."""
    job_dir = Path(job_dir)
    identity = cfg.identity()
    loggers: list[Logger] = []
    resuming = resumed_step is not None
    if cfg.logger.tensorboard:
        loggers.append(tensorboard_logger(job_dir, resumed_step))
    if cfg.logger.csv:
        loggers.append(ResumableCSVLogger(job_dir, resumed_step))
    if launched_rank() > 0:  # DDP: the trackers' runs belong to rank 0 alone
        return loggers
    if cfg.logger.mlflow is not None:
        mlflow = trial_logger(cfg.logger.mlflow, job_dir, identity, resuming)
        # Now rather than at the end, so that a run that fails still says what it was.
        mlflow.log_hyperparams(trial_params(cfg))
        loggers.append(mlflow)
    if cfg.logger.wandb is not None:
        loggers.append(wandb_run.trial_logger(cfg.logger.wandb, cfg, trial_params(cfg),
                                              job_dir, resuming))
    return loggers


def tensorboard_logger(job_dir: Path, resumed_step: int | None = None) -> TensorBoardLogger:
    """``<job>/tensorboard``, continued after ``resumed_step`` when given."""
    # No placeholder hp_metric: the real metrics are written at the trial's end.
    # purge_step: TensorBoard hides what the killed run logged after the checkpoint.
    if resumed_step is not None:
        _wait_past_earlier_events(job_dir / "tensorboard")
    return TensorBoardLogger(
        str(job_dir), name="tensorboard", version="", default_hp_metric=False,
        **({"purge_step": resumed_step + 1} if resumed_step is not None else {}))


def _wait_past_earlier_events(folder: Path) -> None:
    """Sleep, if need be, into a later second than every event file already in ``folder``."""
    # TensorBoard reads a folder's event files in name order, and a name starts with the
    # second its writer was made in, then the pid and a counter that do not sort as
    # numbers. A resumed writer made in the same second as the killed one's file could be
    # read first, and its purge of the redone steps would then hide nothing.
    seconds = [int(part) for path in folder.glob("events.out.tfevents.*")
               if (part := path.name.split(".")[3]).isdigit()]
    if seconds:
        time.sleep(max(0.0, max(seconds) + 1 - time.time()))


def flat_params(cfg: TrialConfig) -> dict[str, Any]:
    """The science config as dotted keys (``model.name``, ``strategy.r``, ``lr``); options
    left at null are not listed (they would only widen every tracker's table)."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif value is None:
            return
        elif isinstance(value, (list, tuple)):
            # TensorBoard's HParams take numbers, strings and booleans only.
            flat[prefix] = ",".join(map(str, value))
        else:
            flat[prefix] = value

    walk("", cfg.science())
    return flat


def final_metrics(outcome: dict[str, Any]) -> dict[str, float]:
    """The numbers a sweep is compared on: best validation, test there, trainable size."""
    metrics = {f"hp/best_validation_{name}": value
               for name, value in outcome["best"]["validation"].items()}
    metrics.update({f"hp/test_{name.replace('/', '_')}": value
                    for name, value in outcome["test"].items()})
    metrics["hp/trainable_params"] = float(outcome["params"]["trainable"])
    return metrics


def trial_params(cfg: TrialConfig) -> dict[str, Any]:
    return {**flat_params(cfg), "identity": cfg.identity()}


def log_trial_end(loggers: list[Logger], cfg: TrialConfig, outcome: dict[str, Any],
                  step: int) -> None:
    """Hyper-parameters with the final metrics, once the test has run."""
    params = trial_params(cfg)
    metrics = final_metrics(outcome)
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            # The HParams session (config + metric names) and the metrics as scalars.
            logger.log_hyperparams(params, metrics, step=step)
        elif isinstance(logger, WandbLogger):  # its config went in at the start
            logger.log_metrics(metrics, step=step)
            logger.experiment.summary.update(metrics)
        else:
            if not isinstance(logger, MLFlowLogger):  # its params went in at the start
                logger.log_hyperparams(params)
            logger.log_metrics(metrics, step=step)
        logger.save()
