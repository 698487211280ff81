"""``hydra.sweeper.pack_size=K``: each job of the launcher (Slurm, local_parallel, basic)
trains a pack of up to K grid trials on one backbone.

The grid sweeper sets up every trial's folder as Hydra does, groups the trials that share a
backbone and a loop (sweep/packing.py), writes each pack's members to
``.packs/pack-<hash>.json`` in the sweep folder and launches one job per pack, with the
launcher's own resources (a Slurm job's GPUs, memory and walltime are the pack's). A trial
that packs with no other is launched as its own job, and the progress log says why. A pack
job trains as ``hydra/launcher=packed`` does; a job requeued after a timeout or preemption
skips its finished trials and resumes the others from their pack checkpoints.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hydra.core.utils import configure_log, setup_globals
from omegaconf import DictConfig

from peftsweep.compose.validate import validate
from peftsweep.spec.config import TrialConfig
from peftsweep.spec.results import atomic_write_text
from peftsweep.sweep.packing import plan_packs, run_here, say_alone, set_up_job

PACKS_DIR = ".packs"
SPEC_KEY = "pack_spec"
BAD_STATUSES = ("failed", "diverged")  # what fail_fast stops on, worst first


def pack_jobs(hydra_context, config: DictConfig, pending: list[list[str]], pack_size: int
              ) -> list[list[str]]:
    """The launcher's jobs for the ``pending`` trials: one per pack, the rest as they are."""
    setup_globals()
    trials = [set_up_job(hydra_context, config, list(o), i).return_value
              for i, o in enumerate(pending)]
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    overrides = {job_dir: list(o) for o, (_, job_dir) in zip(pending, trials, strict=True)}
    chunks, alone = plan_packs(trials, pack_size)
    jobs = []
    for chunk in chunks:
        if len(chunk) == 1:
            cfg, job_dir = chunk[0]
            alone[job_dir] = (cfg, "no other trial of this launch shares its backbone and loop")
            continue
        spec = _write_spec(Path(str(config.hydra.sweep.dir)), chunk)
        jobs.append([*overrides[chunk[0][1]], f"+{SPEC_KEY}={spec}",
                     f"hydra.sweep.subdir={PACKS_DIR}/{spec.stem}"])
    for job_dir, (_, why) in alone.items():
        say_alone(job_dir, why)
        jobs.append(overrides[job_dir])
    return jobs


def run_pack_job(cfg: DictConfig) -> str:
    """Task of one pack job: train its members; the worst status among them."""
    spec = json.loads(Path(str(cfg[SPEC_KEY])).read_text(encoding="utf-8"))
    trials = [(validate(t["config"]), Path(t["job_dir"])) for t in spec["trials"]]
    # Planned again: after a requeue, members that stopped at other points pack apart.
    chunks, alone = plan_packs(trials, len(trials))
    statuses = [r["status"] if r else "skipped" for r in run_here(chunks, alone).values()]
    return next((s for s in BAD_STATUSES if s in statuses),
                "ok" if "ok" in statuses else statuses[0])


def _write_spec(sweep_dir: Path, chunk: list[tuple[TrialConfig, Path]]) -> Path:
    """The pack's members (folder and config), named after its folders: the same pack
    launched again writes the same file."""
    members = [{"job_dir": str(job_dir), "config": _composed(cfg)} for cfg, job_dir in chunk]
    digest = hashlib.sha256("\n".join(m["job_dir"] for m in members).encode()).hexdigest()
    path = sweep_dir / PACKS_DIR / f"pack-{digest[:12]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"trials": members}, indent=1) + "\n")
    return path


def _composed(cfg: TrialConfig) -> dict:
    """The config as :func:`validate` takes it back (the label is derived, not given)."""
    out = cfg.to_dict()
    out.pop("strategy_label")
    return out
