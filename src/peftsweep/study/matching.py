"""Whether a finished trial is a point of this search, and what differs where it is not.

A trial belongs to a search when its searched values lie in the space and everything else
its identity hashes (model, data, strategy options, epochs, seed, trainer settings) is what
this search's trials get: the search's *fixed* settings. Warm starts hand such trials to a
new study; a resume compares the fixed settings it would run with against the study's.

A searched key that names a config group (``strategy``) is matched by content: the trial's
group must equal the group a choice composes to (minus the group's own searched keys), so
a preset (``lora_r2``) is recognised as itself and never passes for ``lora``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from peftsweep.compose.validate import validate
from peftsweep.errors import UserError
from peftsweep.spec.config import TrialConfig
from peftsweep.study.space import Param, active

MISSING = object()


@dataclass(frozen=True)
class Reference:
    """What this search's trials share, from its configs composed at the space's edges."""

    fixed: dict[str, Any]  # the science without the searched keys
    groups: dict[str, dict[Any, dict]]  # searched group -> choice -> its content
    seed: int  # the fixed seed (confirmation runs the next ones)
    metric: str  # the task's selection metric

    def to_json(self) -> dict[str, Any]:
        groups = {name: [[choice, tree] for choice, tree in choices.items()]
                  for name, choices in self.groups.items()}
        return {"fixed": self.fixed, "groups": groups, "seed": self.seed, "metric": self.metric}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Reference:
        groups = {name: {choice: tree for choice, tree in pairs}
                  for name, pairs in raw["groups"].items()}
        return cls(raw["fixed"], groups, int(raw["seed"]), raw["metric"])


def _path(name: str) -> list[str]:
    return name.split(".")


def _plain(tree: Any) -> Any:
    """JSON's view of a value (tuples as lists), so stored and fresh trees compare equal."""
    return json.loads(json.dumps(tree, default=str))


def without(tree: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A copy of a nested dict without the dotted keys ``names``."""
    out = copy.deepcopy(tree)
    for name in names:
        node, *parts = out, *_path(name)
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return out


def lookup(tree: dict[str, Any], name: str) -> Any:
    node: Any = tree
    for part in _path(name):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def _sub_keys(group: str, params: list[Param]) -> list[str]:
    """The group's own searched keys, relative to it (``strategy.r`` -> ``r``)."""
    return [p.name[len(group) + 1:] for p in params if p.name.startswith(f"{group}.")]


def _is_group(param: Param, science: dict[str, Any]) -> bool:
    return isinstance(lookup(science, param.name), dict)


def build_reference(params: list[Param], edges: list[dict[str, Any]],
                    configs: list[TrialConfig], metric: str) -> Reference:
    """The reference from the configs composed at the edge points ``edges``."""
    names = [p.name for p in params]
    first = _plain(configs[0].science())
    groups: dict[str, dict[Any, dict]] = {}
    for values, cfg in zip(edges, configs, strict=True):
        science = _plain(cfg.science())
        for param in params:
            if param.name in values and _is_group(param, science):
                content = without(lookup(science, param.name), _sub_keys(param.name, params))
                groups.setdefault(param.name, {})[values[param.name]] = content
    return Reference(without(first, names), groups, configs[0].seed, metric)


def difference(mine: Any, theirs: Any, prefix: str = "") -> tuple[str, str, str] | None:
    """(dotted key, mine, theirs) as JSON text, for the first key (sorted) where two nested
    dicts differ; None when they are equal."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for key in sorted(set(mine) | set(theirs)):
            found = difference(mine.get(key, MISSING), theirs.get(key, MISSING),
                               f"{prefix}{key}.")
            if found:
                return found
        return None
    if mine == theirs:
        return None
    mine_text, theirs_text = ("unset" if v is MISSING else json.dumps(v, default=str)
                              for v in (mine, theirs))
    return prefix.rstrip("."), mine_text, theirs_text


def result_science(result: dict[str, Any]) -> dict[str, Any]:
    """A result's science, rebuilt from its config; UserError if that is impossible or its
    identity does not come out the same (a result of another peftsweep version)."""
    config = {k: v for k, v in (result.get("config") or {}).items() if k != "strategy_label"}
    cfg = validate(config)
    if cfg.identity() != result.get("identity"):
        raise UserError("its identity does not come out the same (another peftsweep version)")
    return _plain(cfg.science())


def point_of(science: dict[str, Any], params: list[Param],
             reference: Reference) -> tuple[dict[str, Any] | None, str]:
    """The trial's point in the space, or None and why it is not one of this search's."""
    values: dict[str, Any] = {}
    for param in params:
        if not active(param, values):
            continue
        found = lookup(science, param.name)
        if found is MISSING:
            return None, f"it has no {param.name}"
        if isinstance(found, dict):
            content = without(found, _sub_keys(param.name, params))
            choice = next((c for c, tree in reference.groups.get(param.name, {}).items()
                           if tree == content), MISSING)
            if choice is MISSING:
                return None, f"its {param.name} is none of the space's choices"
            values[param.name] = choice
            continue
        inside, value = param.value_in_space(found)
        if not inside:
            return None, f"{param.name}={found} lies outside the space"
        values[param.name] = value
    found = difference(without(science, [p.name for p in params]), reference.fixed)
    if found:
        key, theirs, ours = found
        return None, f"other fixed settings ({key}: {theirs} in the trial, {ours} here)"
    return values, ""
