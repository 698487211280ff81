"""Where each trial of a local parallel sweep runs: which GPU, which slot, how many threads.

`assign` is pure and deterministic: job k prefers slot ``k % workers``; slot s uses GPU
``s % n_gpus`` (consecutive jobs spread over the GPUs first, so a short sweep never piles onto
GPU 0) and ``n_cpus // workers`` torch threads.

`apply_from_hydra` does this for the job Hydra is about to run under
``hydra/launcher=local_parallel``. joblib reuses its worker processes, and CUDA cannot be
re-pointed once a process has used it, so a worker claims one slot for its whole life (an
flock) and keeps it for every later trial it runs; its first trial's job number decides which.
The environment is set before the trial touches CUDA, and result.json records it.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
LAUNCHER = "local_parallel"
# Without a GPU, each trial gets this many cores by default (tiny models gain little beyond).
CPU_CORES_PER_WORKER = 4
_HELD: dict[str, Any] = {}  # this process's slot claim: lock dir, slot, open lock file


@dataclass(frozen=True)
class Placement:
    gpu: int | None  # index into the visible GPUs; None: run on CPU
    slot: int  # 0 .. workers-1, unique among the trials running at the same time
    threads: int  # torch CPU threads for the trial


def worker_count(workers: int | None, n_gpus: int, trials_per_gpu: int, n_cpus: int) -> int:
    """How many trials run at once: `workers` if set, else fill the GPUs (or the cores)."""
    if workers:
        return int(workers)
    if n_gpus:
        return n_gpus * max(1, int(trials_per_gpu))
    return max(1, n_cpus // CPU_CORES_PER_WORKER)


def for_slot(slot: int, n_gpus: int, n_workers: int, n_cpus: int) -> Placement:
    return Placement(gpu=slot % n_gpus if n_gpus else None, slot=slot,
                     threads=max(1, n_cpus // n_workers))


def assign(job_num: int, n_gpus: int, trials_per_gpu: int = 1, n_workers: int | None = None,
           n_cpus: int = 1) -> Placement:
    """The placement of job `job_num` (Hydra's hydra.job.num); see the module docstring."""
    n_workers = worker_count(n_workers, n_gpus, trials_per_gpu, n_cpus)
    return for_slot(job_num % n_workers, n_gpus, n_workers, n_cpus)


def environment(placement: Placement, gpu_ids: Sequence[str]) -> dict[str, str]:
    env = {"PEFTSWEEP_SLOT": str(placement.slot), "PEFTSWEEP_THREADS": str(placement.threads)}
    if placement.gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu_ids[placement.gpu]
    return env


def apply(placement: Placement, gpu_ids: Sequence[str]) -> dict[str, str]:
    """Export the placement; must run before this process first uses CUDA."""
    env = environment(placement, gpu_ids)
    os.environ.update(env)
    return env


@functools.cache
def visible_gpus() -> tuple[str, ...]:
    """GPU ids this machine offers, found without touching CUDA in this process.

    Cached: the first call (before `apply` narrows CUDA_VISIBLE_DEVICES) sees the full list.
    """
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = tuple(d.strip() for d in listed.split(",") if d.strip())
        # "-1" and Slurm's "NoDevFiles" hide every GPU.
        return () if not ids or ids[0] in ("-1", "NoDevFiles") else ids
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ()
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(str(i) for i, line in enumerate(
        line for line in out.splitlines() if line.startswith("GPU ")))


def usable_gpus(accelerator: str | None) -> tuple[str, ...]:
    # trainer.accelerator=cpu: no pinning, even where GPUs exist.
    return () if accelerator == "cpu" else visible_gpus()


def n_cpus() -> int:
    return len(os.sched_getaffinity(0))


def _workers_resolver(workers: int | None, trials_per_gpu: int, accelerator: str) -> int:
    """local_parallel.yaml's n_jobs: ``parallel.workers``, or the default from the machine."""
    return worker_count(workers, len(usable_gpus(accelerator)), trials_per_gpu, n_cpus())


def slot_lock_dir(sweep_dir: str) -> Path:
    # Local temp, not the (maybe NFS) sweep folder: flock is only reliable on local disks.
    digest = hashlib.sha1(str(Path(sweep_dir).resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"peftsweep-slots-{os.getuid()}-{digest}"


def claim_slot(lock_dir: Path, preferred: int, n_slots: int) -> int:
    """Lock a free slot for the rest of this process's life, trying `preferred` first.

    A process that already holds a slot keeps it (its CUDA context is tied to that GPU).
    """
    if _HELD.get("dir") == lock_dir:
        return _HELD["slot"]
    order = [(preferred + i) % n_slots for i in range(n_slots)]
    if _HELD:  # a new sweep in a reused worker: stay on the same GPU if that slot is free
        order = list(dict.fromkeys([_HELD.pop("slot") % n_slots, *order]))
        os.close(_HELD.pop("fd"))
        _HELD.clear()
    lock_dir.mkdir(parents=True, exist_ok=True)
    for slot in order:
        fd = os.open(lock_dir / f"slot{slot}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _HELD.update(dir=lock_dir, slot=slot, fd=fd)
        return slot
    # Only with more processes than slots (n_jobs raised by hand): share rather than hang.
    log.warning("all %d slots busy: job shares slot %d", n_slots, preferred)
    return preferred


def apply_from_hydra(cfg: DictConfig) -> Placement | None:
    """Place the current Hydra job when it runs under local_parallel; else do nothing."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hydra_cfg = HydraConfig.get()
    # A single run (no -m) never goes through the launcher.
    if hydra_cfg.mode != RunMode.MULTIRUN or hydra_cfg.runtime.choices.get(
            "hydra/launcher") != LAUNCHER:
        return None
    gpu_ids = usable_gpus(OmegaConf.select(cfg, "trainer.accelerator"))
    cpus = n_cpus()
    n_workers = int(hydra_cfg.launcher.n_jobs)
    preferred = assign(int(hydra_cfg.job.num), len(gpu_ids), n_workers=n_workers, n_cpus=cpus)
    slot = claim_slot(slot_lock_dir(hydra_cfg.sweep.dir), preferred.slot, n_workers)
    placement = for_slot(slot, len(gpu_ids), n_workers, cpus)
    env = apply(placement, gpu_ids)
    log.info("job %s: slot %d, %s, %d threads", hydra_cfg.job.num, slot,
             f"GPU {env['CUDA_VISIBLE_DEVICES']}" if placement.gpu is not None else "CPU",
             placement.threads)
    return placement


# Cached in the config, which the workers receive pickled: they all see the count joblib used.
OmegaConf.register_new_resolver("peftsweep_workers", _workers_resolver, use_cache=True,
                                replace=True)
