"""``dry_run=true``: the checked grid, what would run and what a resume skips; nothing trained.

The sweep is composed and checked exactly as before a real launch (preflight);
only the launch is left out, so no sweep folder is made. A search prints its settings,
its space and how many trials a resume finds instead: its points are not known up front.
"""

from __future__ import annotations

import sys
from pathlib import Path

from peftsweep.spec.results import iter_result_paths
from peftsweep.study.storage import redact
from peftsweep.sweep.plan import PlannedTrial
from peftsweep.sweep.search.preflight import CheckedSearch


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
    sampler = f"{s.sampler}{' (multivariate)' if s.multivariate else ''}"
    print(f"search: {s.n_trials} trial(s), sampler {sampler}, pruner {s.pruner}, "
          f"{s.workers} worker(s), storage {redact(s.storage) or '<sweep>/study.db'}")
    objectives = f"val {check.reference.metric} (max)" + (f", {s.cost} (min)" if s.cost else "")
    extras = [f"objectives {objectives}"]
    if s.timeout:
        extras.append(f"timeout {s.timeout:g} s")
    if s.confirm.top_k:
        extras.append(f"then the {s.confirm.top_k} best configuration(s) to {s.confirm.seeds} "
                      f"seeds (up to {s.extra_trials} more trial(s))")
    print("  " + "; ".join(extras))
    for param in check.params:
        print(f"  {param.describe()}")
    found = len(list(iter_result_paths(Path(check.resume)))) if check.resume else 0
    where = (f"resume of {check.resume} ({found} trial(s) with a result, counted in the budget)"
             if check.resume else "a new sweep folder")
    print(f"peftsweep: dry run: a search of {s.n_trials} trial(s); {len(check.configs)} edge "
          f"point(s) of its space composed and checked ({where}); nothing trained",
          file=sys.stderr)
