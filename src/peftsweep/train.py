"""Entry point: ``python train.py [-m] key=value ...``.

The whole sweep is checked first (one line and exit 2 on bad input); then Hydra
runs one trial per combination; the exit code says whether any trial failed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from peftsweep import dry_run, placement, progress, runtime, sweep
from peftsweep.compose import conf_dir  # importing it registers the schema nodes
from peftsweep.errors import UserError
from peftsweep.preflight import check_sweep
from peftsweep.search.preflight import check_search, search_requested
from peftsweep.trial import run_trial
from peftsweep.validate import validate

CONF_DIR = conf_dir()
LAST_STATUS: dict[str, str] = {}


@hydra.main(config_path=str(CONF_DIR), config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> str:
    placement.apply_from_hydra(cfg)  # before anything touches CUDA
    runtime.quiet_libraries()
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


def cli(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides, multirun = _split_argv(argv)
    hydra_flags = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "--version"}
    if not hydra_flags & set(argv):
        try:
            if multirun and search_requested(overrides):  # a search plans nothing up front
                search = check_search(overrides, CONF_DIR)
                if search.dry_run:
                    dry_run.print_search(search)
                    return 0
                configs, dry_run_only, plan, resume = search.configs, False, [], None
            else:
                configs = check_sweep(overrides, multirun, CONF_DIR)
                dry_run_only, plan, resume = dry_run.plan_sweep(overrides, multirun, CONF_DIR,
                                                                configs)
        except UserError as err:
            print(f"peftsweep: error: {err}", file=sys.stderr)
            return 2
        print(f"peftsweep: {len(configs)} trial(s) checked", file=sys.stderr)
        if dry_run_only:
            dry_run.print_plan(plan, resume)
            return 0
        if not search_requested(overrides):  # a search composes only its edges up front
            _note_old_identities(overrides, configs)
    sys.argv = [sys.argv[0], *argv]
    main()
    return _exit_code(multirun)


def _note_old_identities(overrides: list[str], configs: list) -> None:
    resume = next((o.split("=", 1)[1] for o in overrides if o.startswith("resume=")), None)
    if not resume or not Path(resume).is_dir():
        return
    old = sweep.results_under_old_identities(Path(resume), configs)
    if old:
        print(f"peftsweep: note: {len(old)} finished trial(s) in {resume} (first: {old[0].name}) "
              "have these settings under an older trial identity; they are kept and run again "
              "under the new one", file=sys.stderr)


def _exit_code(multirun: bool) -> int:
    if multirun and sweep.LAST_SUMMARY:
        counts = sweep.LAST_SUMMARY["counts"]
        bad = counts["failed"] + counts["diverged"] + counts["corrupt"] + counts["missing"]
        print(f"peftsweep: sweep {sweep.LAST_SUMMARY['sweep_dir']}: {counts['ok']} ok, "
              f"{counts.get('pruned', 0)} pruned, {counts['failed']} failed, "
              f"{counts['diverged']} diverged, {counts['missing']} missing; kept weights "
              f"{sweep.LAST_SUMMARY.get('weights_bytes', 0) / 1e6:.1f} MB", file=sys.stderr)
        return 1 if bad else 0
    return 0 if LAST_STATUS.get("status") in ("ok", "skipped", None) else 1
