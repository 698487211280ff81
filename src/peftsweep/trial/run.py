"""One trial: build, fit, test at the best checkpoint, write result.json.

A trial whose identity already has an ok result in its job folder is skipped;
an unfinished one resumes from its last checkpoint; a failed or diverged one is
recorded as such (with the error and step) instead of stopping the sweep.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from filelock import FileLock, Timeout

from peftsweep.data.datamodule import ClassificationDataModule
from peftsweep.data.splits import test_split_note
from peftsweep.data.steps import optimizer_steps
from peftsweep.errors import UserError
from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.models.checkpointing import enable_gradient_checkpointing
from peftsweep.models.features import base_model
from peftsweep.models.module import Diverged, SequenceClassifier
from peftsweep.params.budget import sized, trial_strategy
from peftsweep.params.count import count_parameters
from peftsweep.spec.config import TrialConfig, task_spec
from peftsweep.spec.families import FAMILIES
from peftsweep.spec.results import find_ok_result, set_aside_corrupt_result, write_result
from peftsweep.strategies import apply_strategy, frozen_backbone, step_hook
from peftsweep.study.pruning import Pruned, context
from peftsweep.trial import (
    distributed,
    feature_cache,
    memory,
    runtime,
    stopping,
    wandb_run,
    weights,
)
from peftsweep.trial.checkpoints import resume_checkpoint
from peftsweep.trial.heartbeat import TrialHeartbeat
from peftsweep.trial.outcomes import test_examples
from peftsweep.trial.progress_file import LOCK_FILE
from peftsweep.trial.tracking import log_trial_end
from peftsweep.trial.training import PhaseTimer, build_trainer

log = logging.getLogger(__name__)


def run_trial(cfg: TrialConfig, job_dir: Path) -> dict[str, Any] | None:
    """Run (or skip) one trial; return its result, or None if another process holds it."""
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    identity = cfg.identity()
    if distributed.launched_rank() > 0:  # a Slurm task other than rank 0
        if find_ok_result(job_dir, identity) is None:
            follow_rank_zero(cfg, job_dir)
        return None
    set_aside_corrupt_result(job_dir)
    done = find_ok_result(job_dir, identity)
    if done is not None:
        log.info("trial %s already finished in %s: skipped", identity, job_dir)
        return done
    try:
        # A short wait, not 0: `peftsweep-status` probes the lock for an instant.
        with FileLock(str(job_dir / LOCK_FILE), timeout=2):
            # Whoever held the lock may have just finished this very trial (two search
            # trials at one point): its result stands, the trial is not trained again.
            done = find_ok_result(job_dir, identity)
            if done is not None:
                return done
            with TrialHeartbeat(job_dir, cfg.epochs) as heartbeat:
                return _run_locked(cfg, job_dir, identity, heartbeat)
    except Timeout:
        log.warning("trial %s is running in another process: skipped", identity)
        return None


def _run_locked(cfg: TrialConfig, job_dir: Path, identity: str,
                heartbeat: TrialHeartbeat) -> dict[str, Any]:
    started = time.time()
    runtime.configure(cfg)
    base = trial_record(cfg, identity)
    # The trainer, once built (where a failure happened); the heartbeat, to watch the fit.
    progress: dict[str, Any] = {"heartbeat": heartbeat}
    try:
        with distributed.local_ranks(cfg, job_dir):
            outcome = _fit_and_test(cfg, job_dir, started, progress)
        result = {**base, "status": "ok", "error": None, "failed_step": None, **outcome}
    except Pruned as err:  # not a failure: the search stopped a trial that was behind
        result = {**base, "status": "pruned", "error": None, "failed_step": err.record["step"],
                  "pruned_at": err.record, "history": list(progress["module"].history)}
    except Diverged as err:
        result = {**base, "status": "diverged", "error": str(err), "failed_step": err.step}
    except UserError as err:
        result = {**base, "status": "failed", "error": str(err), "failed_step": None}
    except Exception as err:  # noqa: BLE001 - one bad trial must not stop the sweep
        log.exception("trial %s failed", identity)
        step = getattr(progress.get("trainer"), "global_step", None)
        result = {**base, "status": "failed", "error": f"{type(err).__name__}: {err}",
                  "failed_step": step}
    finish(job_dir, result, started)
    wandb_run.finish_run(result)  # the W&B run ends with the trial's status
    return result


def trial_record(cfg: TrialConfig, identity: str,
                 search: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every result.json starts with: who the trial is and where it ran (``search``:
    the trial's search context, by default the one ``$PEFTSWEEP_SEARCH`` gives)."""
    base = {"identity": identity, "science": cfg.summary(), "config": cfg.to_dict(),
            "runtime": runtime.describe(cfg), "versions": runtime.versions()}
    search = context() if search is None else search
    if search is not None:  # a confirmation trial also names the one it confirms
        base["search"] = {key: search[key] for key in ("study", "trial", "confirms")
                          if search.get(key) is not None}
    return base


def finish(job_dir: Path, result: dict[str, Any], started: float) -> None:
    """Stamp the wall time and write result.json (a trial that did not succeed keeps no
    checkpoints or weights: it restarts from scratch, as they led to its failure)."""
    result["timing"] = {**result.get("timing", {}), "wall_s": round(time.time() - started, 3)}
    result["finished_at"] = runtime.utc_now()
    if result["status"] != "ok":
        shutil.rmtree(job_dir / "checkpoints", ignore_errors=True)
        shutil.rmtree(job_dir / weights.WEIGHTS_DIR, ignore_errors=True)
    write_result(job_dir, result)


def follow_rank_zero(cfg: TrialConfig, job_dir: Path) -> None:
    """A DDP rank other than 0: train and test alongside rank 0, which alone writes."""
    runtime.configure(cfg)
    try:
        _fit_and_test(cfg, Path(job_dir), time.time(), {})
    except Pruned as err:  # rank 0 decided and told every rank; it writes the result
        log.info("trial pruned by rank 0's decision: %s", err)


def _fit_and_test(cfg: TrialConfig, job_dir: Path, started: float,
                  progress: dict[str, Any]) -> dict[str, Any]:
    on_gpu = runtime.use_gpu(cfg)
    memory_from_start = memory.start(on_gpu)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    spec = task_spec(cfg.data)
    tokenizer = load_tokenizer(cfg.model, cfg.cache_dir)
    datamodule = ClassificationDataModule(
        cfg.data, tokenizer, cfg.cache_dir, batch_size=cfg.batch_size,
        eval_batch_size=cfg.trainer.eval_batch_size, seed=cfg.seed,
        group_by_length=cfg.trainer.group_by_length, pad_to_multiple_of=8 if on_gpu else None)
    datamodule.setup()
    family = FAMILIES[cfg.model.family]
    strategy = trial_strategy(cfg)  # with a budget: the capacity it sized
    steps = optimizer_steps(len(datamodule.splits["train"]), cfg.batch_size, cfg.epochs,
                            cfg.trainer.accumulate_grad_batches, cfg.trainer.devices)
    model = apply_strategy(build_backbone(cfg.model, spec, tokenizer, cfg.cache_dir),
                           strategy, family, total_steps=steps)
    if cfg.trainer.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    params = count_parameters(model)
    # A linear probe: the encoder frozen in eval mode, and trained on its features.
    frozen = (base_model(model),) if frozen_backbone(strategy) else ()
    features = (feature_cache.attach(cfg, model, datamodule, on_gpu)
                if feature_cache.uses_features(cfg, strategy) else None)
    module = SequenceClassifier(model, spec, cfg.lr, cfg.trainer.weight_decay,
                                cfg.trainer.warmup_steps, cfg.trainer.warmup_ratio,
                                cfg.trainer.fused_adamw, cfg.trainer.log_every_n_steps,
                                after_step=step_hook(model, strategy), keep_in_eval=frozen)
    module.set_test_splits(datamodule.test_split_names)
    timer = PhaseTimer()
    resume_path, resumed_step = resume_checkpoint(job_dir)
    trainer, best_ckpt = build_trainer(cfg, job_dir, spec.main_metric, timer, resumed_step)
    progress.update(trainer=trainer, module=module)
    if "heartbeat" in progress:  # rank 0 only: other DDP ranks write nothing
        trainer.callbacks.append(progress["heartbeat"])
    setup_s = time.time() - started
    if resume_path:
        log.info("resuming from %s (step %s)", resume_path, resumed_step)
    # Plain data only: a checkpoint that names code is refused (trial/checkpoints.py).
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_path, weights_only=True)
    history = list(module.history)
    stopped = stopping.record(trainer)  # before test(), which restores callback states
    best = best_of(history, spec.main_metric)
    eval_started = time.time()
    trainer.test(module, datamodule=datamodule, ckpt_path=best_ckpt.best_model_path or None,
                 verbose=False, weights_only=True)
    # The module now holds the best checkpoint's weights (restored by test); rank 0 writes.
    kept = (weights.keep(module.model, job_dir, cfg.trainer.keep_weights,
                         cfg.trainer.full_weights, params) if trainer.is_global_zero else None)
    if not cfg.trainer.keep_checkpoint and trainer.is_global_zero:
        shutil.rmtree(job_dir / "checkpoints", ignore_errors=True)
    # None: resumed from a checkpoint written after the last epoch, nothing left to train.
    first = trainer.current_epoch if timer.first_epoch is None else timer.first_epoch
    samples = len(datamodule.splits["train"]) * (trainer.current_epoch - first)
    outcome = {
        "metric": {"name": spec.main_metric, "mode": "max"},
        "best": best,
        "test": dict(module.test_results),
        "test_split": test_split_note(cfg.data, spec),
        "history": history,
        "resumed_from_step": resumed_step,
        **stopped,
        "params": params,
        **({"budget": sizing.record()} if (sizing := sized(cfg)) else {}),
        **({"features": features} if features else {}),
        **test_examples(module, datamodule, trainer.world_size),
        "optimizer_steps": steps,  # planned: schedules (warmup, AdaLoRA's) read it
        "batches": datamodule.batching,
        "weights": kept,
        "world_size": trainer.world_size,  # DDP ranks; samples/s counts all of them
        "peak_memory": memory.peak(on_gpu, memory_from_start),
        "timing": {"setup_s": round(setup_s, 3), "train_s": round(timer.train_s, 3),
                   "eval_s": round(timer.val_s + time.time() - eval_started, 3),
                   "train_samples_per_s": round(samples / max(timer.train_s, 1e-9), 2)},
    }
    log_trial_end(trainer.loggers, cfg, outcome, trainer.global_step)
    return outcome


def best_of(history: list[dict], metric: str) -> dict[str, Any]:
    """The first evaluation with the highest metric, as ModelCheckpoint chooses it."""
    key = f"validation/{metric}"
    if not history:
        raise RuntimeError("no validation ran: nothing to select the best checkpoint from")
    best = max(history, key=lambda entry: (_finite_or_low(entry[key]), -entry["step"]))
    return {"step": best["step"], "epoch": best["epoch"],
            "validation": {k.split("/", 1)[1]: v for k, v in best.items() if "/" in k}}


def _finite_or_low(value: float) -> float:
    return value if math.isfinite(value) else -math.inf
