"""One search worker: ask the study for trials (search.pack of them at once), run them as a
grid would, tell, repeat.

Workers share nothing but the study's database and the sweep folder, so any number of
them (processes here, Slurm jobs elsewhere) pull trials without waiting for each other.
``python -m peftsweep.sweep.search.worker <spec.json>`` runs one; see sweeper.py for the spec.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock

from peftsweep.spec.layout import SEARCH_ASK_LOCK
from peftsweep.spec.search import parse_settings
from peftsweep.study.space import parse_space
from peftsweep.sweep.search import asking, on_disk, packs
from peftsweep.trial import runtime

log = logging.getLogger(__name__)


def run_worker(spec: dict[str, Any]) -> dict[str, int]:
    """Pull trials until the study's budget is spent; return this worker's status counts."""
    runtime.quiet_libraries()
    settings = parse_settings(spec["settings"])
    params = parse_space(settings.space)
    study, storage = asking.load_study(spec, settings, params)
    lock = FileLock(str(Path(spec["sweep_dir"]) / SEARCH_ASK_LOCK))
    with lock:
        asking.adopt_running(study, storage, spec["study"])
    counts: dict[str, int] = {}
    while True:
        with lock:  # count and ask as one step, so parallel workers never overshoot n_trials
            asked = asking.ask_many(study, storage, settings, spec, params, settings.pack)
        if not asked:
            on_disk.mark_done(Path(spec["sweep_dir"]))
            return counts
        for status in packs.run_asked(study, storage, settings, spec, asked):
            counts[status] = counts.get(status, 0) + 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s")
    spec = json.loads(Path(argv[0]).read_text())
    counts = run_worker(spec)
    log.info("worker %s done: %s", os.environ.get("PEFTSWEEP_SLOT", "0"), counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
