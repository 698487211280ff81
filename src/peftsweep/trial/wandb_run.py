"""W&B runs: one per trial, grouped by sweep, resumable, finished with the trial's status.

Each trial is a run named after its job folder, in the group of its sweep
(``<date>/<time>-<suffix>``) with the strategy as job type; its config is the trial's
science keys (flat, as every tracker gets them) and, under ``config``, the whole resolved
config, options left at null omitted. Validations are logged as Lightning logs them, the
final numbers and the status go into the run's summary. Offline by default: runs stay in
``<sweep>/wandb`` (``wandb sync`` uploads them), nothing leaves the machine. A trial keeps
its run id in ``<job>/wandb_run.json``; resumed from its checkpoint it continues that run
(an offline resume is a second run folder with the same id, the first one untouched).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from peftsweep.spec.config import TrialConfig, WandbConfig
from peftsweep.spec.results import atomic_write_json
from peftsweep.trial.sweep_of import sweep_name, sweep_of

RUN_FILE = "wandb_run.json"
WANDB_DIR = "wandb"


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _recorded_id(job_dir: Path) -> str | None:
    try:
        return json.loads((job_dir / RUN_FILE).read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError):
        return None


def trial_logger(options: WandbConfig, cfg: TrialConfig, params: dict[str, Any],
                 job_dir: Path, resuming: bool):
    """The trial's WandbLogger: its earlier run when ``resuming``, else a new one."""
    # W&B's banner, sync hints and notes would add lines per trial (its own log keeps
    # them); WANDB_SILENT=false brings them back.
    os.environ.setdefault("WANDB_SILENT", "true")
    import wandb  # the optional extra: peftsweep[wandb]
    from pytorch_lightning.loggers import WandbLogger

    wandb.setup()  # reads WANDB_SILENT now, before the run's settings are checked
    if wandb.run is not None:  # a trial before this one in the process that did not finish
        wandb.finish(exit_code=1)
    job_dir = Path(job_dir)
    sweep = sweep_of(job_dir)
    save_dir = sweep or job_dir.resolve().parent  # W&B writes into its wandb/ there
    run_id = (_recorded_id(job_dir) if resuming else None) or secrets.token_hex(6)
    logger = WandbLogger(
        name=job_dir.name, id=run_id, project=options.project, entity=options.entity,
        group=sweep_name(sweep) if sweep else None, job_type=cfg.strategy["name"],
        tags=list(options.tags or []), save_dir=str(save_dir),
        mode=os.environ.get("WANDB_MODE") or options.mode,
        config={**params, "config": without_nulls(cfg.to_dict())},
        settings=wandb.Settings(console="off"))  # our terminal lines stay ours
    atomic_write_json(job_dir / RUN_FILE, {"run_id": run_id, "project": options.project})
    return logger


def finish_run(result: dict[str, Any]) -> None:
    """End the trial's W&B run, if one is open, with its status (failed: exit code 1)."""
    wandb = sys.modules.get("wandb")
    if wandb is None or wandb.run is None:
        return
    wandb.run.summary.update({"status": result["status"], "error": result.get("error")})
    wandb.finish(exit_code=0 if result["status"] in ("ok", "pruned") else 1)
