"""Rank 0 watches the rank processes it started, so that a dead rank fails its trial at once.

Left alone, rank 0 would find out only through the collective it is blocked in:
gloo notices a closed socket at once, but the rendezvous (a rank that died while
loading) and NCCL wait for the process group's timeout, 30 minutes by default.
The watch polls the workers; when one is gone it names it (rank, signal or exit
code, log file), and, on GPUs,
aborts the NCCL communicators so that the blocked step returns with an error.
A rendezvous is entered only once every rank is ready for it (see WatchedDDP).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import torch
from pytorch_lightning.strategies import DDPStrategy

POLL_S = 0.2
READY_DIR_ENV = "PEFTSWEEP_RANK_DIR"  # where a started rank says it is ready to connect
# How long a failed rank 0 looks for a dead worker: the worker's exit reaches us a little
# after the closed socket that made rank 0 fail.
EXPLAIN_WAIT_S = 3.0

_current: RankWatch | None = None  # the watch of the trial this process runs now


class RankDied(RuntimeError):
    """A DDP rank process ended before the trial did."""


class RankWatch:
    def __init__(self, workers: dict[int, subprocess.Popen], folder: Path):
        self._workers = workers
        self._folder = folder
        self._died = threading.Event()
        self._stopped = threading.Event()
        self._reason: str | None = None
        self._thread = threading.Thread(target=self._poll, name="rank-watch", daemon=True)

    def __enter__(self) -> RankWatch:
        global _current
        _current = self
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        global _current
        _current = None
        self._stopped.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stopped.wait(POLL_S):
            for rank, worker in self._workers.items():
                code = worker.poll()
                if code is not None and code != 0:
                    self._reason = _describe(rank, code, self._folder)
                    self._died.set()
                    _abort_nccl()
                    return

    def wait_until_ready(self) -> None:
        ready = [self._folder / f"rank{rank}.ready" for rank in self._workers]
        while not all(path.exists() for path in ready):
            self.raise_if_dead()
            time.sleep(POLL_S)

    def reason(self, wait_s: float = 0.0) -> str | None:
        self._died.wait(wait_s)
        return self._reason

    def raise_if_dead(self) -> None:
        if self._died.is_set():
            raise RankDied(self._reason)

    def explain(self, err: BaseException) -> None:
        """Raise RankDied in place of ``err`` when a dead rank is why rank 0 failed."""
        if isinstance(err, RankDied):
            return
        if (reason := self.reason(EXPLAIN_WAIT_S)) is not None:
            raise RankDied(f"{reason}; rank 0 then failed with {type(err).__name__}") from err


def _describe(rank: int, code: int, folder: Path) -> str:
    if code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"exited with code {code}"
    return f"DDP rank {rank} {how} (its log: {folder / f'rank{rank}.log'})"


def _abort_nccl() -> None:
    # gloo already fails on the closed socket; NCCL kernels would spin until the timeout.
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized() and dist.get_backend() == "nccl":
        dist.distributed_c10d._abort_process_group()


class WatchedDDP(DDPStrategy):
    """DDP whose rank 0 enters the rendezvous only once every rank is ready for it.

    A rank that dies while loading would leave rank 0 in the rendezvous until the
    timeout; so each rank started by ``local_ranks`` leaves a ready file just before
    its rendezvous, and rank 0 waits for those while watching the processes.
    """

    def setup_distributed(self) -> None:
        folder = os.environ.get(READY_DIR_ENV)
        if _current is not None:
            _current.wait_until_ready()
        elif folder:
            (Path(folder) / f"rank{os.environ.get('RANK', '0')}.ready").touch()
        super().setup_distributed()
