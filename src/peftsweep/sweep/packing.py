"""``hydra/launcher=packed``: the grid's trials in packs that share one backbone.

Every job is first set up by Hydra as usual (its folder, its saved config); then trials
that share model, data, batch size, epochs and the trainer settings of one loop form packs
of at most ``pack_size`` (trial/packed/). With ``workers=1`` each pack trains in this
process; with more, packs (and trials alone) go to that many worker processes, placed as
local_parallel places trials (one GPU each, or the cores split). A trial that cannot join
a pack runs alone, after the packs, and the progress log says why.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, run_job, setup_globals
from omegaconf import DictConfig, open_dict

from peftsweep.compose.validate import validate
from peftsweep.params.budget import trial_strategy
from peftsweep.spec.config import TrialConfig
from peftsweep.spec.schema import identity_part
from peftsweep.strategies import frozen_backbone, trains_every_weight, virtual_input
from peftsweep.sweep import placement, progress
from peftsweep.trial import runtime
from peftsweep.trial.checkpoints import last_checkpoint
from peftsweep.trial.packed.member import PACK_CHECKPOINT
from peftsweep.trial.packed.run import run_pack
from peftsweep.trial.packed.twin import EVERY_WEIGHT, PROBE
from peftsweep.trial.run import run_trial

log = logging.getLogger(__name__)
# Trainer settings each packed trial keeps for itself; every other one must match.
OWN_SETTINGS = ("weight_decay", "warmup_steps", "warmup_ratio", "gradient_clip_val",
                "early_stopping_patience", "keep_checkpoint", "keep_weights", "full_weights",
                "log_every_n_steps")


def pack_key(cfg: TrialConfig, job_dir: Path) -> str | None:
    """Trials with one key share a backbone and a loop; None: this trial runs alone."""
    if why_alone(cfg, job_dir):
        return None
    trainer = {k: v for k, v in identity_part(cfg.trainer).items() if k not in OWN_SETTINGS}
    shared = {"model": identity_part(cfg.model), "data": identity_part(cfg.data),
              "batch_size": cfg.batch_size, "epochs": cfg.epochs, "trainer": trainer,
              "accelerator": cfg.trainer.accelerator, "threads": cfg.trainer.num_threads,
              "eval_batch_size": cfg.trainer.eval_batch_size, "cache_dir": cfg.cache_dir,
              # A random initialisation is drawn per seed: no two seeds share its weights.
              "seed": None if cfg.model.pretrained else cfg.seed,
              # Virtual tokens lengthen every row: only trials with the same ones share.
              "virtual": virtual_input(trial_strategy(cfg)),
              "resume_at": _resume_position(job_dir)}
    return json.dumps(shared, sort_keys=True, default=str)


def why_alone(cfg: TrialConfig, job_dir: Path) -> str | None:
    """Why a trial cannot join any pack (before its model is built), or None."""
    if cfg.trainer.devices > 1:
        return "it trains on several devices (DDP)"
    if cfg.trainer.accumulate_grad_batches > 1:
        return "it accumulates gradients over batches"
    if cfg.logger.mlflow is not None or cfg.logger.wandb is not None:
        return "packs write no tracker runs (logger=mlflow or wandb)"
    if last_checkpoint(job_dir).is_file():
        return "it resumes from its own checkpoint, written alone"
    strategy = trial_strategy(cfg)
    if trains_every_weight(strategy):
        return EVERY_WEIGHT
    if frozen_backbone(strategy):
        return PROBE
    return None


def _resume_position(job_dir: Path) -> tuple[int, int] | None:
    """Where a killed pack left this trial: trials resume together only from one point."""
    path = job_dir / "checkpoints" / PACK_CHECKPOINT
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state["epoch"], state["batches_done"]


def collect(cfg: DictConfig) -> tuple[TrialConfig, Path]:
    """The task each job runs under this launcher: only say what it is and where."""
    runtime.quiet_libraries()
    return validate(cfg), Path(HydraConfig.get().runtime.output_dir)


def _place_worker(lock_dir: str, workers: int, accelerator: str | None) -> None:
    """A worker process's one slot for its life: its GPU, or its share of the cores."""
    gpus = placement.usable_gpus(accelerator)
    slot = placement.claim_slot(Path(lock_dir), os.getpid() % workers, workers)
    placement.apply(placement.for_slot(slot, len(gpus), workers, placement.n_cpus()), gpus)
    runtime.quiet_libraries()
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][worker %(process)d] %(message)s")


def set_up_job(hydra_context, config: DictConfig, overrides: list[str], index: int
               ) -> JobReturn:
    """Hydra's set-up of one grid job (its folder, its saved config), without training:
    the job's return value is its (TrialConfig, job folder)."""
    config = hydra_context.config_loader.load_sweep_config(config, overrides)
    with open_dict(config):
        config.hydra.job.id = index
        config.hydra.job.num = index
    ret = run_job(hydra_context=hydra_context, task_function=collect, config=config,
                  job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")
    if ret.status != JobStatus.COMPLETED:
        raise ret._return_value  # a job that cannot even be composed stops the sweep
    return ret


def plan_packs(trials: list[tuple[TrialConfig, Path]], pack_size: int
               ) -> tuple[list[list], dict[Path, tuple[TrialConfig, str]]]:
    """Packs of at most ``pack_size`` trials of one key, and the trials that run alone."""
    packs: dict[str, list] = {}
    alone: dict[Path, tuple[TrialConfig, str]] = {}
    for cfg, job_dir in trials:
        key = pack_key(cfg, job_dir)
        if key is None:
            alone[job_dir] = (cfg, why_alone(cfg, job_dir))
        else:
            packs.setdefault(key, []).append((cfg, job_dir))
    chunks = [members[start:start + pack_size] for members in packs.values()
              for start in range(0, len(members), pack_size)]
    return chunks, alone


def run_here(chunks: list[list], alone: dict[Path, tuple[TrialConfig, str]]
             ) -> dict[Path, Any]:
    """Each pack in this process, then the trials alone (those a pack handed back too)."""
    results: dict[Path, Any] = {}
    for chunk in chunks:
        alone.update(_packed(chunk, run_pack(chunk), results))
    for job_dir, (cfg, why) in alone.items():
        say_alone(job_dir, why)
        results[job_dir] = run_trial(cfg, job_dir)
        progress.report_trial_end(job_dir, results[job_dir])
    return results


def default_pack_size(cfg: TrialConfig) -> int:
    """16 trials on a GPU; 4 on a CPU, where a larger stacked batch costs more per row than
    the start-up it saves (docs/benchmarks.md, packed trials)."""
    return 16 if runtime.use_gpu(cfg) else 4


class PackedLaunch:
    def __init__(self, pack_size: int | None = None, workers: int = 1):
        for key, value in (("pack_size", pack_size or 1), ("workers", workers)):
            if int(value) < 1:
                raise ValueError(f"hydra.launcher.{key} must be >= 1, got {value}")
        self.pack_size = int(pack_size) if pack_size else None
        self.workers = int(workers)
        self.config: DictConfig | None = None
        self.hydra_context = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
               ) -> list[JobReturn]:
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        jobs = [set_up_job(self.hydra_context, self.config, list(o), initial_job_idx + i)
                for i, o in enumerate(job_overrides)]
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        trials = [ret.return_value for ret in jobs]
        results = self._run(trials)
        for ret, (_, job_dir) in zip(jobs, trials, strict=True):
            result = results.get(job_dir)
            ret.return_value = result["status"] if result else "skipped"
        return jobs

    def _run(self, trials: list[tuple[TrialConfig, Path]]) -> dict[Path, Any]:
        if not trials:
            return {}
        size = self.pack_size or default_pack_size(trials[0][0])
        chunks, alone = plan_packs(trials, size)
        if self.workers > 1 and len(chunks) + len(alone) > 1:
            return self._run_in_workers(chunks, alone)
        return run_here(chunks, alone)

    def _run_in_workers(self, chunks: list[list], alone: dict) -> dict[Path, Any]:
        """Packs and lone trials over ``workers`` processes, each taking the next when free."""
        first_cfg, first_dir = chunks[0][0] if chunks else next(
            (cfg, d) for d, (cfg, _) in alone.items())
        lock_dir = placement.slot_lock_dir(str(first_dir.parent))
        results: dict[Path, Any] = {}
        with ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_place_worker,
                                 initargs=(str(lock_dir), self.workers,
                                           first_cfg.trainer.accelerator)) as pool:
            pending = {pool.submit(run_pack, chunk): chunk for chunk in chunks}

            def submit_alone(job_dir: Path, cfg: TrialConfig, why: str) -> None:
                say_alone(job_dir, why)
                pending[pool.submit(run_trial, cfg, job_dir)] = job_dir

            for job_dir, (cfg, why) in alone.items():
                submit_alone(job_dir, cfg, why)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    unit = pending.pop(future)
                    if isinstance(unit, Path):
                        results[unit] = future.result()
                        progress.report_trial_end(unit, results[unit])
                        continue
                    for job_dir, (cfg, why) in _packed(unit, future.result(), results).items():
                        submit_alone(job_dir, cfg, why)
        return results


def _packed(chunk: list, outcome, results: dict[Path, Any]) -> dict[Path, tuple]:
    """Record a pack's results; its trials handed back to run alone, with the reason."""
    for job_dir, result in outcome.results.items():
        results[job_dir] = result
        progress.report_trial_end(job_dir, result)
    configs = {d: c for c, d in chunk}
    return {d: (configs[d], why) for d, why in outcome.alone.items()}


def say_alone(job_dir: Path, why: str) -> None:
    progress.emit(job_dir.parent, f"peftsweep: {job_dir.name} runs alone: {why}\n")
