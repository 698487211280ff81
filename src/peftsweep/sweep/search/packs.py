"""A worker's trials at once (``search.pack=K``): those that share model, data and batch
shape train in one pack on one backbone, the rest alone, and each is told on its own.

Every trial keeps what it has alone: its heartbeat from the moment it is asked, its job
folder, its reports to the study at each validation (and so its pruning), its result.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from peftsweep.spec.search import SearchSettings
from peftsweep.sweep.packing import pack_key, why_alone
from peftsweep.sweep.search.one_trial import Prepared, heartbeat, note_told, prepare, run_one, tell
from peftsweep.trial.packed.run import run_pack

log = logging.getLogger(__name__)


def run_asked(study, storage, settings: SearchSettings, spec: dict[str, Any],
              asked: list[tuple[Any, dict]]) -> list[str]:
    """Run the asked trials and tell the study of each; their statuses."""
    with contextlib.ExitStack() as stack:
        for trial, _ in asked:
            stack.enter_context(heartbeat(storage, spec["study"], trial))
        prepared = [prepare(spec, settings, trial, values) for trial, values in asked]
        results = _run(prepared) if len(prepared) > 1 else {
            prepared[0].job_dir: run_one(prepared[0])}
        statuses = [tell(study, p.trial, results[p.job_dir], settings) for p in prepared]
    for p, status in zip(prepared, statuses, strict=True):
        note_told(study, p.trial, spec, p.values, results[p.job_dir], status)
    return statuses


def _run(prepared: list[Prepared]) -> dict:
    """Job folder -> result. Two trials at one point share a folder, as they would alone."""
    unique = {p.job_dir: p for p in prepared}
    packs: dict[str, list[Prepared]] = {}
    alone: dict[Any, str] = {}
    for job_dir, p in unique.items():
        key = pack_key(p.cfg, job_dir)
        if key is None:
            alone[job_dir] = why_alone(p.cfg, job_dir)
        else:
            packs.setdefault(key, []).append(p)
    results: dict = {}
    for members in packs.values():
        if len(members) == 1:
            alone[members[0].job_dir] = "no other asked trial shares its backbone and batches"
            continue
        with _train_logs(members):
            outcome = run_pack([(p.cfg, p.job_dir) for p in members],
                               searches={p.job_dir: p.context for p in members})
        results.update(outcome.results)
        alone.update(outcome.alone)
    for job_dir, why in alone.items():
        log.info("search trial %d runs alone: %s", unique[job_dir].trial.number, why)
        results[job_dir] = run_one(unique[job_dir])
    return results


@contextlib.contextmanager
def _train_logs(members: list[Prepared]):
    """The pack's log in every member's train.log, as a trial alone has its own."""
    handlers = [logging.FileHandler(p.job_dir / "train.log") for p in members]
    for handler in handlers:
        logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
            handler.close()
