"""Where a trial runs: device, precision, threads, and what to record about it."""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import sys
import warnings
from importlib import metadata

import torch

from peftsweep.spec.config import TrialConfig

RECORDED_ENV = ("CUDA_VISIBLE_DEVICES", "PEFTSWEEP_SLOT", "SLURM_JOB_ID", "SLURM_ARRAY_TASK_ID",
                "SLURM_RESTART_COUNT")
PACKAGES = ("torch", "pytorch-lightning", "transformers", "datasets", "peft", "torchmetrics",
            "hydra-core", "omegaconf", "peftsweep")


def use_gpu(cfg: TrialConfig) -> bool:
    wanted = cfg.trainer.accelerator
    return wanted in ("auto", "gpu", "cuda") and torch.cuda.is_available()


def precision(cfg: TrialConfig) -> str:
    if cfg.trainer.precision != "auto":
        return str(cfg.trainer.precision)
    if use_gpu(cfg) and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def configure(cfg: TrialConfig) -> None:
    # Explicit setting, then the parallel launcher's split, then the Slurm allocation.
    threads = (cfg.trainer.num_threads or int(os.environ.get("PEFTSWEEP_THREADS", 0) or 0)
               or int(os.environ.get("SLURM_CPUS_PER_TASK", 0) or 0))
    if threads:
        torch.set_num_threads(threads)


def describe(cfg: TrialConfig) -> dict:
    gpu = use_gpu(cfg)
    return {
        "device": torch.cuda.get_device_name(0) if gpu else "cpu",
        "precision": precision(cfg),
        "threads": torch.get_num_threads(),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "platform": platform.platform(),
        "env": {key: os.environ[key] for key in RECORDED_ENV if key in os.environ},
    }


def versions(packages: tuple[str, ...] = PACKAGES) -> dict:
    found = {"python": sys.version.split()[0]}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def quiet_libraries(search: bool = False) -> None:
    """Keep trial logs to what a user acts on (grid trials and search workers alike);
    ``search``: Optuna's notes too, even before it is imported."""
    import logging

    import transformers

    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Library warnings become log records: the job's train.log keeps them, the terminal
    # shows them only with verbose=true (conf/hydra/default.yaml).
    logging.captureWarnings(True)
    if search or "optuna" in sys.modules:  # its notes ("A new study created ...") too
        import optuna

        optuna.logging.disable_default_handler()
        optuna.logging.enable_propagation()
    transformers.logging.set_verbosity_error()  # e.g. the load report of a new head
    transformers.logging.disable_progress_bar()  # "Loading weights" bars, one per trial
    warnings.filterwarnings("ignore", message=".*`srun` command is available.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*litlogger.*")
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")  # raised by PEFT
    # A linear probe's frozen encoder runs in eval mode on purpose (models/module.py).
    warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode at the start.*")
    # Optuna's importances after a few trials; the report says when they cannot be told apart.
    warnings.filterwarnings("ignore", message=".*Parameter importances will be equal.*")
