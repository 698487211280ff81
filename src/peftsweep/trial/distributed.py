"""One trial on several devices (DDP): who starts the ranks, and how Lightning joins them.

``trainer.devices=N`` trains one trial on N processes (one per GPU, or N CPU
processes talking over gloo). The ranks come from one of two places:

- Slurm: a job with ``tasks_per_node=N`` (the Slurm launcher sets it from
  ``trainer.devices``) runs the trial in N tasks; Lightning's SLURMEnvironment
  reads their ranks from srun's variables.
- anywhere else: the trial's own process is rank 0 and starts ranks 1..N-1 as
  ``python -m peftsweep.trial.rank_worker`` processes with torch's usual variables
  (MASTER_ADDR, LOCAL_RANK, ...); Lightning's LightningEnvironment then joins
  them and launches nothing itself.

Lightning's own launchers are not used: ``ddp`` re-runs the command line per
rank (train.py: the sweep check, Hydra's job folders and, in a multirun, the
whole sweep), and ``ddp_spawn`` hands back only the weights, not the module's
history and test results that result.json is made of. Here every rank runs the
same trial code; only rank 0 takes the trial's lock and writes result.json.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import torch
from lightning_fabric.plugins.environments import LightningEnvironment, SLURMEnvironment

from peftsweep.spec.config import TrialConfig
from peftsweep.study.pruning import Pruned
from peftsweep.trial.rank_watch import READY_DIR_ENV, RankWatch, WatchedDDP

log = logging.getLogger(__name__)

RANK_DIR = ".ranks"  # in the job folder: the config handed to the workers and their logs
RANK_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "NODE_RANK", "LOCAL_RANK", "RANK")
WORKER_EXIT_TIMEOUT_S = 120


def slurm_ranks() -> bool:
    """Whether srun started this process as one of several tasks of a job step."""
    return SLURMEnvironment.detect() and int(os.environ.get("SLURM_NTASKS", "1")) > 1


def launched_rank() -> int:
    """This process's global rank when a launcher started the ranks; 0 otherwise."""
    if slurm_ranks():
        return int(os.environ.get("SLURM_PROCID", "0"))
    return int(os.environ.get("RANK", "0"))


def trainer_kwargs(cfg: TrialConfig, on_gpu: bool) -> dict:
    """Accelerator, devices and strategy for pl.Trainer."""
    accelerator = "gpu" if on_gpu else "cpu"
    devices = cfg.trainer.devices
    # Our batch sampler shards itself by rank; Lightning must not swap in a DistributedSampler.
    kwargs = {"accelerator": accelerator, "devices": devices, "use_distributed_sampler": False}
    if devices == 1 and not slurm_ranks():
        return kwargs
    environment = SLURMEnvironment() if slurm_ranks() else LightningEnvironment()
    kwargs["strategy"] = WatchedDDP(cluster_environment=environment,
                                    process_group_backend="nccl" if on_gpu else "gloo")
    return kwargs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def local_ranks(cfg: TrialConfig, job_dir: Path) -> Iterator[None]:
    """Run the body as rank 0 while ranks 1..N-1 run the same trial in worker processes.

    Nothing happens for one device or when a launcher (Slurm) already started the ranks.
    """
    world = cfg.trainer.devices
    if world == 1 or slurm_ranks() or "LOCAL_RANK" in os.environ:
        yield
        return
    folder = Path(job_dir) / RANK_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.pkl").write_bytes(pickle.dumps(cfg))
    for stale in folder.glob("rank*.ready"):  # left by an earlier run of this trial
        stale.unlink()
    variables = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
                 "WORLD_SIZE": str(world), "NODE_RANK": "0"}
    threads = _threads_per_rank(cfg, world)
    saved_env = {key: os.environ.get(key) for key in RANK_VARIABLES}
    saved_threads = torch.get_num_threads()
    workers = {rank: _start_worker(folder, job_dir, {**variables, "LOCAL_RANK": str(rank),
                                                     "RANK": str(rank)}, threads)
               for rank in range(1, world)}
    os.environ.update({**variables, "LOCAL_RANK": "0", "RANK": "0"})
    if threads:
        torch.set_num_threads(threads)
    failed = True
    try:
        with RankWatch(workers, folder) as watch:
            try:
                yield
            except Pruned:
                raise
            except Exception as err:
                watch.explain(err)
                raise
        failed = False
    except Pruned:
        failed = False  # every rank stops at rank 0's decision: they end on their own
        raise
    finally:
        _restore(saved_env)
        torch.set_num_threads(saved_threads)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()  # the next trial may use other ranks
        _finish_workers(list(workers.values()), folder, kill=failed)


def _threads_per_rank(cfg: TrialConfig, world: int) -> int | None:
    # The ranks share this machine's cores unless the user said how many threads each gets.
    if cfg.trainer.num_threads:
        return cfg.trainer.num_threads
    return max(1, torch.get_num_threads() // world)


def _start_worker(folder: Path, job_dir: Path, variables: dict, threads: int | None):
    env = {**os.environ, **variables, READY_DIR_ENV: str(folder)}
    if threads:
        env["PEFTSWEEP_THREADS"] = str(threads)
    with open(folder / f"rank{variables['RANK']}.log", "w") as out:  # the child keeps a handle
        return subprocess.Popen([sys.executable, "-m", "peftsweep.trial.rank_worker", str(job_dir)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _finish_workers(workers: list[subprocess.Popen], folder: Path, kill: bool) -> None:
    """Wait for the workers; when rank 0 failed they may be blocked on it, so end them."""
    for worker in workers:
        if kill:
            worker.kill()
        try:
            code = worker.wait(timeout=WORKER_EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            worker.kill()
            code = worker.wait()
        if code and not kill:
            log.warning("a DDP worker exited with %s; see %s", code, folder)


def worker_config(job_dir: Path) -> TrialConfig:
    return pickle.loads((Path(job_dir) / RANK_DIR / "config.pkl").read_bytes())
