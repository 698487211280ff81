"""``dry_run=true``: the checked grid, what would run and what a resume skips; nothing trained.

The sweep is composed and checked exactly as before a real launch (preflight);
only the launch is left out, so no sweep folder is made. A search prints its settings,
its space and how many trials a resume finds instead: its points are not known up front.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from peftsweep.config import TrialConfig
from peftsweep.errors import UserError
from peftsweep.plan import PlannedTrial, build_plan
from peftsweep.preflight import expand
from peftsweep.results import iter_result_paths
from peftsweep.search.preflight import CheckedSearch
from peftsweep.search.storage import redact


def plan_sweep(overrides: list[str], multirun: bool, conf_dir: Path,
               configs: list[TrialConfig]) -> tuple[bool, list[PlannedTrial], str | None]:
    """Whether this is a dry run, the plan, and the folder a resume would use (else None)."""
    try:
        with initialize_config_dir(str(conf_dir), version_base="1.3"):
            jobs = expand(overrides, multirun, conf_dir)
            first = compose("train", overrides=list(jobs[0]))
    except (HydraException, OmegaConfBaseException) as err:
        raise UserError(str(err).strip().splitlines()[0]) from err
    resume = first.get("resume")
    return bool(first.dry_run), build_plan(jobs, configs, resume), resume


def print_plan(plan: list[PlannedTrial], sweep_dir: str | None) -> None:
    to_run = [t for t in plan if not t.finished]
    for trial in plan:
        action = "skip (finished)" if trial.finished else "run"
        print(f"{action:16} {trial.label}  -> {trial.folder}")
    where = f"resume of {sweep_dir}" if sweep_dir else "a new sweep folder"
    print(f"peftsweep: dry run: {len(plan)} trial(s) planned, {len(to_run)} would run, "
          f"{len(plan) - len(to_run)} finished already ({where}); nothing trained",
          file=sys.stderr)


def print_search(check: CheckedSearch) -> None:
    s = check.settings
    print(f"search: {s.n_trials} trial(s), sampler {s.sampler}, pruner {s.pruner}, "
          f"{s.workers} worker(s), storage {redact(s.storage) or '<sweep>/study.db'}")
    for param in check.params:
        print(f"  {param.describe()}")
    found = len(list(iter_result_paths(Path(check.resume)))) if check.resume else 0
    where = (f"resume of {check.resume} ({found} trial(s) with a result, counted in the budget)"
             if check.resume else "a new sweep folder")
    print(f"peftsweep: dry run: a search of {s.n_trials} trial(s); {len(check.configs)} edge "
          f"point(s) of its space composed and checked ({where}); nothing trained",
          file=sys.stderr)
