"""Warm start: the finished trials of earlier sweeps, handed to a new study before it asks.

``search.warm_start=<sweep>[,<sweep>...]`` reads the result files of grids or searches. A
trial is handed over when it finished (``ok``), its searched values lie in this space, and
its other settings are this search's (:mod:`peftsweep.study.matching`): it is then added
to the study as a completed trial (``optuna.trial.create_trial``, ``study.add_trials``)
with its source sweep and job folder as user attributes. The rest are skipped and counted
by reason. Warm-started trials inform the sampler; they do not use the budget, and their
results stay in their own sweep (this sweep's report does not list them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peftsweep.errors import ConfigError, UserError
from peftsweep.spec.results import CorruptResult, iter_result_paths, read_result
from peftsweep.spec.search import SearchSettings
from peftsweep.study.matching import Reference, point_of, result_science
from peftsweep.study.objectives import told_values
from peftsweep.study.space import Param
from peftsweep.sweep.search.confirm import SOURCE_JOB, SOURCE_SWEEP, is_warm_start


@dataclass(frozen=True)
class Candidate:
    sweep: str
    job: str
    values: dict[str, Any]  # the point in the space
    objectives: list[float]


@dataclass
class Handover:
    trials: list[Candidate] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason kind -> count
    examples: dict[str, str] = field(default_factory=dict)  # reason kind -> first case

    def skip(self, kind: str, example: str) -> None:
        self.skipped[kind] += 1
        self.examples.setdefault(kind, example)


def check_folders(folders: list[str]) -> list[Path]:
    """The folders as paths; ConfigError for one that is missing or holds no result."""
    paths = []
    for folder in folders:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise ConfigError("search.warm_start", f"no such sweep folder: {folder}",
                              "sweep folders of earlier grids or searches")
        if next(iter_result_paths(path), None) is None:
            raise ConfigError("search.warm_start", f"{folder} holds no result.json: not a "
                              "sweep folder, or one whose trials never finished")
        paths.append(path.resolve())
    return paths


def _kind(reason: str) -> str:
    """The reason's kind, to count by: other fixed settings, or outside the space."""
    return "other fixed settings" if reason.startswith("other fixed") else "outside the space"


def gather(folders: list[Path], params: list[Param], reference: Reference,
           settings: SearchSettings, own: Path | None = None) -> Handover:
    """Every result under the folders, sorted into handed over and skipped."""
    out, seen = Handover(), set()
    for folder in folders:
        if own is not None and folder == Path(own).resolve():
            out.skip("this sweep's own trials (already in its study)", str(folder))
            continue
        for path in iter_result_paths(folder):
            if "report" in path.relative_to(folder).parts[:-1]:
                continue
            _sort(folder, path, params, reference, settings, out, seen)
    return out


def _sort(folder: Path, path: Path, params: list[Param], reference: Reference,
          settings: SearchSettings, out: Handover, seen: set[str]) -> None:
    where = str(path.parent)
    try:
        result = read_result(path)
    except CorruptResult:
        out.skip("unreadable result", where)
        return
    if result["status"] != "ok":
        out.skip("not finished (failed, diverged or pruned)", where)
        return
    if result["identity"] in seen:
        out.skip("the same trial twice", where)
        return
    try:
        science = result_science(result)
    except UserError as err:
        out.skip(f"config not rebuilt: {str(err).split(': ', 1)[-1][:80]}", where)
        return
    values, why = point_of(science, params, reference)
    if values is None:
        kind = _kind(why)
        detail = why.removeprefix(kind).strip(" ()")
        out.skip(kind, f"{path.parent.name}: {detail}")
        return
    objectives = told_values(result, settings)
    if objectives is None:
        out.skip(f"no {settings.cost} in its result", where)
        return
    seen.add(result["identity"])
    out.trials.append(Candidate(str(folder), path.parent.name, values, objectives))


def hand_over(study, handover: Handover, params: list[Param]) -> int:
    """Add the candidates the study does not hold yet; the number added."""
    import optuna

    by_name = {param.name: param for param in params}
    held = {(t.user_attrs[SOURCE_SWEEP], t.user_attrs[SOURCE_JOB])
            for t in study.get_trials(deepcopy=False) if is_warm_start(t)}
    new = [optuna.trial.create_trial(
        values=c.objectives, params=c.values,
        distributions={name: by_name[name].distribution() for name in c.values},
        user_attrs={SOURCE_SWEEP: c.sweep, SOURCE_JOB: c.job, "status": "ok"})
        for c in handover.trials if (c.sweep, c.job) not in held]
    study.add_trials(new)
    return len(new)


def summary_line(handover: Handover, folders: int, added: int | None = None) -> str:
    handed = len(handover.trials) if added is None else added
    line = f"peftsweep: warm start: {handed} trial(s) of {folders} sweep(s) handed to the study"
    if handover.skipped:
        reasons = "; ".join(f"{n} {kind} (first: {handover.examples[kind]})"
                            for kind, n in handover.skipped.most_common())
        line += f"; {sum(handover.skipped.values())} skipped: {reasons}"
    return line
