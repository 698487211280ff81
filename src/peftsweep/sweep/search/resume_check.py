"""A resumed search must be the same search: refused, in one line, when it is not.

``resume=<sweep>`` continues the study found there. Its trials were drawn from one space by
one sampler, scored on one objective (and cost), and trained with one set of fixed settings
(everything the trial identity hashes but the searched keys: epochs, model, data, strategy
options, trainer settings, seed). Mixing trials of another space confuses Optuna (a changed
choice list ends in "CategoricalDistribution does not support dynamic value space"), and
mixing other fixed settings makes the study compare unlike trials without a word. So any
such change stops the launch before the study is opened; the budget (``n_trials``,
``timeout``, ``confirm``), the workers, the pruner and the storage may change.

The fixed settings are compared against the reference the study's launch recorded in
``.search/spec.json``; a spec without one (older sweeps) is compared through its finished
trials instead.
"""

from __future__ import annotations

import json
from pathlib import Path

from peftsweep.errors import ConfigError, UserError
from peftsweep.spec.layout import SEARCH_SPEC
from peftsweep.spec.results import CorruptResult, iter_result_paths, read_result
from peftsweep.spec.search import SearchSettings, parse_settings
from peftsweep.study.matching import Reference, difference, point_of, result_science
from peftsweep.study.space import Param, parse_space

NEW_SWEEP = "a new sweep folder (no resume=)"


def recorded_spec(sweep_dir: Path) -> dict | None:
    try:
        return json.loads((Path(sweep_dir) / SEARCH_SPEC).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _space_change(old: list[Param], new: list[Param]) -> str:
    before, after = {p.name: p for p in old}, {p.name: p for p in new}
    parts = [f"{verb}: {', '.join(names)}" for verb, names in (
        ("added", [n for n in after if n not in before]),
        ("removed", [n for n in before if n not in after]),
        ("changed", [n for n in after if n in before and after[n] != before[n]]))
        if names]
    return "; ".join(parts) or "the order of its keys"


def check_resume(sweep_dir: Path, settings: SearchSettings, params: list[Param],
                 reference: Reference) -> None:
    """ConfigError naming what changed between the study in ``sweep_dir`` and this launch."""
    spec = recorded_spec(sweep_dir)
    if spec is None:
        return  # no search ran here yet: nothing to continue
    old = parse_settings(spec["settings"])
    old_params = parse_space(old.space)
    where = f"the study in {sweep_dir}"
    if old_params != params:
        raise ConfigError("search.space", f"differs from {where} "
                          f"({_space_change(old_params, params)})", f"its space, or {NEW_SWEEP}")
    for key, mine, theirs in (("sampler", settings.sampler, old.sampler),
                              ("multivariate", settings.multivariate, old.multivariate),
                              ("cost", settings.cost, old.cost)):
        if mine != theirs:
            raise ConfigError(f"search.{key}", f"{_show(mine)} now, {_show(theirs)} in {where}",
                              f"{_show(theirs)}, or {NEW_SWEEP}")
    if "reference" in spec:
        _compare_reference(Reference.from_json(spec["reference"]), reference, where)
    else:
        _compare_results(sweep_dir, params, reference, where)


def _show(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


def _refuse(key: str, then: str, now: str, where: str) -> ConfigError:
    return ConfigError(key, f"{now} now, {then} in {where}: a resumed search keeps its "
                       "fixed settings", f"{then}, or {NEW_SWEEP}")


def _compare_reference(old: Reference, new: Reference, where: str) -> None:
    found = difference(old.fixed, new.fixed)
    if found:
        key, then, now = found
        raise _refuse(key, then, now, where)
    for group, choices in new.groups.items():
        for choice, content in choices.items():
            before = old.groups.get(group, {}).get(choice)
            found = difference(before, content) if before is not None else None
            if found:
                key, then, now = found
                raise _refuse(f"{group}.{key}" if key else group, then, now,
                              f"{where} ({group}={choice})")


def _compare_results(sweep_dir: Path, params: list[Param], reference: Reference,
                     where: str) -> None:
    """Without a recorded reference: the first finished trial must be a point of this search."""
    for path in iter_result_paths(sweep_dir):
        try:
            result = read_result(path)
            science = result_science(result) if result["status"] == "ok" else None
        except (CorruptResult, UserError):
            continue
        if science is None:
            continue
        values, why = point_of(science, params, reference)
        if values is None:
            raise ConfigError("resume", f"{path.parent.name} in {where} is not a trial of this "
                              f"search: {why}", f"the study's settings, or {NEW_SWEEP}")
        return
