"""A DDP rank other than 0: ``python -m peftsweep.trial.rank_worker JOB_DIR`` (see distributed.py).

It runs the same trial as rank 0 (from the config rank 0 left in the job folder)
and writes nothing but its log; rank 0 writes the result.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from pathlib import Path

from peftsweep.trial.distributed import worker_config
from peftsweep.trial.run import follow_rank_zero


def _exit_with_rank_zero() -> None:
    # Rank 0 (our parent) killed: nobody would ever end a rank waiting for it.
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] "
                        "%(message)s")
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    job_dir = Path(argv[0])
    threading.Thread(target=_exit_with_rank_zero, name="parent-watch", daemon=True).start()
    follow_rank_zero(worker_config(job_dir), job_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
