"""Many trials, one backbone: run a pack of trials that share model, data and batch shape.

Each trial keeps what it would have alone: its lock, heartbeat, data order, initial
tensors (its twin), optimizer, schedule, clipping, early stopping, selection, result.json,
kept weights and checkpoint. A trial whose tensors packed layers cannot share comes back
in ``alone`` with the reason, for the caller to run by itself.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from filelock import FileLock, Timeout

from peftsweep.data.datamodule import ClassificationDataModule
from peftsweep.data.splits import test_split_note
from peftsweep.data.steps import optimizer_steps
from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.params.budget import sized, trial_strategy
from peftsweep.spec.config import TrialConfig, task_spec
from peftsweep.spec.families import FAMILIES
from peftsweep.spec.results import find_ok_result, set_aside_corrupt_result
from peftsweep.study.pruning import StudyReporter
from peftsweep.trial import memory, runtime, weights
from peftsweep.trial.checkpoints import CHECKPOINT_DIR
from peftsweep.trial.heartbeat import TrialHeartbeat
from peftsweep.trial.outcomes import examples_record
from peftsweep.trial.packed import dropout, loop
from peftsweep.trial.packed.csv_rows import CsvRows
from peftsweep.trial.packed.layers import pack_module
from peftsweep.trial.packed.member import Member
from peftsweep.trial.packed.state import PackState
from peftsweep.trial.packed.twin import CannotPack, build_twin
from peftsweep.trial.progress_file import LOCK_FILE
from peftsweep.trial.run import best_of, finish, trial_record
from peftsweep.trial.tracking import final_metrics, tensorboard_logger, trial_params

log = logging.getLogger(__name__)


@dataclass
class PackOutcome:
    results: dict[Path, dict[str, Any] | None] = field(default_factory=dict)
    """Job folder -> its result (None: another process runs it)."""
    alone: dict[Path, str] = field(default_factory=dict)
    """Job folder -> why it cannot share this pack's backbone."""


def run_pack(trials: list[tuple[TrialConfig, Path]],
             searches: dict[Path, dict[str, Any]] | None = None) -> PackOutcome:
    """Run ``trials`` (one pack key, see sweep/packing.py) sharing one backbone.

    ``searches``: job folder -> the search context of a search trial (the study it reports
    each validation to, as ``$PEFTSWEEP_SEARCH`` gives a trial alone)."""
    outcome = PackOutcome()
    with contextlib.ExitStack() as stack:
        claimed = _claim(trials, outcome, stack)
        if claimed:
            _run_claimed(claimed, outcome, stack, searches or {})
    return outcome


def _claim(trials, outcome: PackOutcome, stack: contextlib.ExitStack) -> list:
    """Trials not finished and not held elsewhere, each locked for the life of the pack."""
    claimed = []
    for cfg, job_dir in trials:
        job_dir.mkdir(parents=True, exist_ok=True)
        set_aside_corrupt_result(job_dir)
        identity = cfg.identity()
        done = find_ok_result(job_dir, identity)
        if done is not None:
            outcome.results[job_dir] = done
            continue
        try:
            lock = FileLock(str(job_dir / LOCK_FILE), timeout=2)
            lock.acquire()
        except Timeout:
            log.warning("trial %s is running in another process: skipped", identity)
            outcome.results[job_dir] = None
            continue
        stack.callback(lock.release)
        done = find_ok_result(job_dir, identity)  # finished while we waited for the lock
        if done is not None:
            outcome.results[job_dir] = done
            continue
        claimed.append((cfg, job_dir, identity))
    return claimed


def _run_claimed(claimed, outcome: PackOutcome, stack: contextlib.ExitStack,
                 searches: dict[Path, dict[str, Any]]) -> None:
    started = time.time()
    cfg0 = claimed[0][0]
    runtime.configure(cfg0)
    on_gpu = runtime.use_gpu(cfg0)
    from_start = memory.start(on_gpu)
    spec = task_spec(cfg0.data)
    tokenizer = load_tokenizer(cfg0.model, cfg0.cache_dir)
    data = ClassificationDataModule(
        cfg0.data, tokenizer, cfg0.cache_dir, batch_size=cfg0.batch_size,
        eval_batch_size=cfg0.trainer.eval_batch_size, seed=cfg0.seed,
        group_by_length=False, pad_to_multiple_of=8 if on_gpu else None)
    data.setup()
    steps = optimizer_steps(len(data.splits["train"]), cfg0.batch_size, cfg0.epochs, 1, 1)
    family = FAMILIES[cfg0.model.family]
    pl.seed_everything(cfg0.seed, workers=True, verbose=False)
    shared = build_backbone(cfg0.model, spec, tokenizer, cfg0.cache_dir)
    shared.requires_grad_(False)
    state = PackState()
    members = []
    for cfg, job_dir, identity in claimed:
        try:
            twin = build_twin(cfg, spec, tokenizer, family, trial_strategy(cfg), steps, shared)
        except CannotPack as why:
            outcome.alone[job_dir] = str(why)
            continue
        if members and _virtual(twin) != _virtual(members[0].twin):
            outcome.alone[job_dir] = (f"its virtual tokens ({_virtual(twin)}) differ from the "
                                      f"pack's ({_virtual(members[0].twin)})")
            continue
        heartbeat = stack.enter_context(TrialHeartbeat(job_dir, cfg.epochs))
        member = Member(cfg, job_dir, identity, twin, len(members), heartbeat, started)
        if job_dir in searches:
            member.reporter = StudyReporter(searches[job_dir])
        if cfg.logger.csv:
            member.csv = CsvRows(job_dir)
        members.append(member)
    if not members:
        return
    device = torch.device("cuda" if on_gpu else "cpu")
    _place(shared, members, state, device)
    for member in members:
        member.prepare(data.splits["train"].lengths, steps, cfg0.trainer.fused_adamw)
        member.load()
        if member.cfg.logger.tensorboard:
            member.tensorboard = tensorboard_logger(member.job_dir, member.resumed_from_step)
    pack = loop.Pack(shared, state, members, data.splits, data.collate, spec, device,
                     runtime.precision(cfg0), data.eval_batch_size, tokenizer.pad_token_id or 0)
    batches = len(members[0].sampler)
    interval = cfg0.trainer.val_check_interval
    every = max(1, int(batches * interval)) if isinstance(interval, float) else int(interval)
    setup_s = time.time() - started
    log.info("pack of %d trials on one %s backbone", len(members), cfg0.model.name)
    loop.train(pack, cfg0.epochs, batches, every, cfg0.trainer.log_every_n_steps)
    selected = [m for m in members if m.status in ("done", "stopped") and m.best_state]
    for member in members:
        if member.status in ("done", "stopped") and not member.best_state:
            member.status, member.error = "failed", "no validation gave a finite metric"
    loop.test_at_best(pack, selected, data.test_split_names)
    peak = memory.peak(on_gpu, from_start)
    for member in members:
        result = _result(member, pack, data, steps, setup_s, peak, searches.get(member.job_dir))
        _log_end(member, result)
        finish(member.job_dir, result, member.started)
        outcome.results[member.job_dir] = result


def _place(shared, members: list[Member], state: PackState, device: torch.device) -> None:
    """Each member's tensors into the shared backbone's packed layers, all on ``device``
    before any optimizer state is made or loaded (it then lives beside its tensor)."""
    for member in members:
        for path, tensors in member.twin.parts.items():
            pack_module(shared, path, state, len(members)).set_slot(member.slot, tensors)
    dropout.install(shared, state)
    shared.to(device)  # moves the packed layers' own tensors in place
    for member in members:
        if member.twin.prompt is not None:
            member.twin.prompt.encoder.to(device)


def _virtual(twin) -> str | None:
    return twin.prompt.kind if twin.prompt is not None else None


def _log_end(member: Member, result: dict[str, Any]) -> None:
    """The ``hp/`` row of a trial that ended ok, as trial/tracking.py writes it alone."""
    metrics = final_metrics(result) if result["status"] == "ok" else None
    if member.csv is not None:
        if metrics:
            member.csv.add({"step": member.step, **metrics})
        member.csv.flush()
    if member.tensorboard is not None:
        if metrics:
            member.tensorboard.log_hyperparams(trial_params(member.cfg), metrics,
                                               step=member.step)
        member.tensorboard.finalize("success")


def _result(member: Member, pack: loop.Pack, data, steps: int, setup_s: float,
            peak: dict, search: dict[str, Any] | None) -> dict[str, Any]:
    cfg = member.cfg
    base = {**trial_record(cfg, member.identity, search),
            "pack": {"size": len(pack.members), "slot": member.slot,
                     "trials": [m.identity for m in pack.members]}}
    if member.status == "pruned":
        return {**base, "status": "pruned", "error": None,
                "failed_step": member.pruned_at["step"], "pruned_at": member.pruned_at,
                "history": member.history}
    if member.status in ("diverged", "failed"):
        return {**base, "status": member.status, "error": member.error,
                "failed_step": member.failed_step}
    tested = pack.test[member.slot]
    test = {}
    for split, (values, _, _) in sorted(tested.items()):
        prefix = "" if split == "test" else f"{split.removeprefix('test_')}/"
        test.update({f"{prefix}{k}": v for k, v in values.items()})
    found = {split: (labels, preds) for split, (_, labels, preds) in tested.items()
             if labels is not None}
    lengths = {split: data.splits[split].lengths for split in found}
    samples = len(data.splits["train"]) * pack.epochs_trained
    kept = None
    chosen = weights.policy(cfg.trainer.keep_weights, cfg.trainer.full_weights,
                            member.twin.params)
    if chosen != "none":
        kept = weights.keep_state({n: p.detach().cpu().contiguous().clone()
                                   for n, p in member.twin.named.items()},
                                  member.twin.frozen_fingerprint, member.job_dir, chosen)
    if not cfg.trainer.keep_checkpoint:
        shutil.rmtree(member.job_dir / CHECKPOINT_DIR, ignore_errors=True)
    return {
        **base, "status": "ok", "error": None, "failed_step": None,
        "metric": {"name": pack.task.main_metric, "mode": "max"},
        "best": best_of(member.history, pack.task.main_metric),
        "test": test, "test_split": test_split_note(cfg.data, pack.task),
        "history": member.history, "resumed_from_step": member.resumed_from_step,
        **({"stopped_early_at": member.stopped_at} if member.stopped_at else {}),
        "params": member.twin.params,
        **({"budget": sizing.record()} if (sizing := sized(cfg)) else {}),
        **(examples_record(found, lengths) if found else {}),
        "optimizer_steps": steps, "batches": member.batching, "weights": kept,
        "world_size": 1, "peak_memory": peak,
        "timing": {"setup_s": round(setup_s, 3), "train_s": round(pack.train_s, 3),
                   "eval_s": round(pack.eval_s, 3),
                   "train_samples_per_s": round(samples / max(pack.train_s, 1e-9), 2)},
    }
