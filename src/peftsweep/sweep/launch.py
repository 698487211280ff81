"""``peftsweep train [-m] key=value ...`` (also ``python train.py``): check, then launch.

The whole sweep is checked first (one line and exit 2 on bad input); then Hydra runs one
trial per combination (or a search's workers) through :func:`task`; the exit code says
whether any trial failed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from peftsweep.compose.nodes import register_nodes
from peftsweep.compose.session import conf_dir
from peftsweep.compose.validate import validate
from peftsweep.errors import UserError
from peftsweep.sweep import dry_run, placement, progress, summary
from peftsweep.sweep.naming import trial_folder_name
from peftsweep.sweep.pack_jobs import SPEC_KEY, run_pack_job
from peftsweep.sweep.plan import build_plan
from peftsweep.sweep.preflight import check_grid
from peftsweep.sweep.resolvers import register_resolvers
from peftsweep.sweep.search.preflight import check_search, normalize_overrides, search_requested
from peftsweep.sweep.search.warm_start import summary_line
from peftsweep.trial import runtime
from peftsweep.trial.checkpoints import check_resumable
from peftsweep.trial.run import run_trial

CONF_DIR = conf_dir()
HYDRA_FLAGS = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "--version"}
LAST_STATUS: dict[str, str] = {}
# Hydra composes train.yaml through these before any job starts.
register_nodes()
register_resolvers()


@hydra.main(config_path=str(CONF_DIR), config_name="train", version_base="1.3")
def task(cfg: DictConfig) -> str:
    """One job of a grid: place it, run its trial (or its pack), print its progress line."""
    placement.apply_from_hydra(cfg)  # before anything touches CUDA
    runtime.quiet_libraries()
    if SPEC_KEY in cfg:  # hydra.sweeper.pack_size: this job trains a pack
        return run_pack_job(cfg)
    job_dir = Path(HydraConfig.get().runtime.output_dir)
    result = run_trial(validate(cfg), job_dir)
    status = result["status"] if result else "skipped"
    LAST_STATUS["status"] = status
    progress.report_trial_end(job_dir, result)
    logging.getLogger(__name__).info("trial %s: %s (%s)", job_dir.name, status,
                                     (result or {}).get("error") or "no error")
    return status


def _split_argv(argv: list[str]) -> tuple[list[str], bool]:
    multirun = any(a in ("-m", "--multirun") for a in argv)
    overrides = [a for a in argv if not a.startswith("-")]
    return overrides, multirun


def run(argv: list[str] | None = None) -> int:
    """Check the sweep the arguments describe, then launch it; the process's exit code."""
    argv = normalize_overrides(list(sys.argv[1:] if argv is None else argv))
    overrides, multirun = _split_argv(argv)
    if not HYDRA_FLAGS & set(argv):
        try:
            if not _preflight(overrides, multirun):
                return 0  # a dry run: printed, nothing launched
        except UserError as err:
            print(f"peftsweep: error: {err}", file=sys.stderr)
            return 2
    sys.argv = [sys.argv[0], *argv]  # Hydra reads its command line from sys.argv
    # The sweepers log through Hydra's logging too.
    runtime.quiet_libraries(search=multirun and search_requested(overrides))
    task()
    return _exit_code(multirun)


def _preflight(overrides: list[str], multirun: bool) -> bool:
    """Check everything up front; False when it was a dry run. Raises UserError."""
    if multirun and search_requested(overrides):  # a search plans nothing up front
        search = check_search(overrides, CONF_DIR)
        if search.warm_start is not None:
            print(summary_line(search.warm_start, len(search.settings.warm_start_folders())),
                  file=sys.stderr)
        if search.dry_run:
            dry_run.print_search(search)
            return False
        print(f"peftsweep: {len(search.configs)} trial(s) checked", file=sys.stderr)
        return True
    grid = check_grid(overrides, multirun, CONF_DIR)
    if grid.resume and Path(grid.resume).is_dir():  # what a resume would load, checked now
        check_resumable([Path(grid.resume) / trial_folder_name(cfg) for cfg in grid.configs])
    print(f"peftsweep: {len(grid.configs)} trial(s) checked", file=sys.stderr)
    if grid.dry_run:
        dry_run.print_plan(build_plan(grid.jobs, grid.configs, grid.resume), grid.resume)
        return False
    _note_old_identities(grid.resume, grid.configs)
    return True


def _note_old_identities(resume: str | None, configs: list) -> None:
    if not resume or not Path(resume).is_dir():
        return
    old = summary.results_under_old_identities(Path(resume), configs)
    if old:
        print(f"peftsweep: note: {len(old)} finished trial(s) in {resume} (first: {old[0].name}) "
              "have these settings under an older trial identity; they are kept and run again "
              "under the new one", file=sys.stderr)


def _exit_code(multirun: bool) -> int:
    if multirun and summary.LAST_SUMMARY:
        counts = summary.LAST_SUMMARY["counts"]
        bad = counts["failed"] + counts["diverged"] + counts["corrupt"] + counts["missing"]
        print(f"peftsweep: sweep {summary.LAST_SUMMARY['sweep_dir']}: {counts['ok']} ok, "
              f"{counts.get('pruned', 0)} pruned, {counts['failed']} failed, "
              f"{counts['diverged']} diverged, {counts['missing']} missing; kept weights "
              f"{summary.LAST_SUMMARY.get('weights_bytes', 0) / 1e6:.1f} MB", file=sys.stderr)
        return 1 if bad else 0
    return 0 if LAST_STATUS.get("status") in ("ok", "skipped", None) else 1
