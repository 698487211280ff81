"""How a config dataclass declares its keys, and the one place they are checked.

Every config group (top level, model, data, trainer, logger, parallel, each
strategy's options) is a frozen dataclass whose fields carry their type,
default, help text and allowed values (:func:`option`). Building one from
user values (:func:`build`) rejects unknown keys, checks every field against
its declaration and then runs the class's own cross-field checks, so the same
rules and the same one-line messages apply to every group.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from peftsweep.errors import ConfigError


class InvalidOption(ValueError):
    """A field of a config dataclass breaks its declaration; ``key`` is relative to the group."""

    def __init__(self, key: str, problem: str, allowed: str | None = None):
        super().__init__(f"{key}: {problem}" + (f" (allowed: {allowed})" if allowed else ""))
        self.key, self.problem, self.allowed = key, problem, allowed


def option(default: Any = dataclasses.MISSING, help: str = "", *, choices: tuple | None = None,
           gt: float | None = None, ge: float | None = None, lt: float | None = None,
           le: float | None = None, runtime: bool = False, omit_default: bool = False,
           finite: bool = True) -> Any:
    """A declared config key.

    ``runtime``: the key changes how a trial runs but not its results, so it stays out of
    the trial identity. ``omit_default``: a key added after results already exist joins
    the identity only when set away from its default, so adding it re-runs nothing.
    ``finite``: every number the key holds (in lists and mappings too) must be finite;
    false only where infinity or NaN means something to the key.
    """
    metadata = {"help": help, "choices": choices, "gt": gt, "ge": ge, "lt": lt, "le": le,
                "runtime": runtime, "omit_default": omit_default, "finite": finite}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class Schema:
    """Base of every config dataclass: checks its fields, then its own ``check``."""

    def __post_init__(self) -> None:
        hints = type_hints(type(self))
        for f in dataclasses.fields(self):
            check_value(f, hints[f.name], getattr(self, f.name))
        self.check()

    def check(self) -> None:
        """Cross-field constraints of the group; raise InvalidOption."""


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _members(hint: Any) -> tuple[Any, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint) or hint
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, (list, tuple)) and all(_matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, Mapping)
    return isinstance(value, origin)


_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
          list: "a list", dict: "a mapping", type(None): "null"}


def describe(hint: Any) -> str:
    """'an integer or null' for ``int | None``: what a user may write."""
    names = []
    for member in _members(hint):
        origin = typing.get_origin(member) or member
        if origin is list and typing.get_args(member):
            item = _NAMES.get(typing.get_args(member)[0], "values")
            names.append(f"a list of {item.removeprefix('a ').removeprefix('an ')}s")
        elif isinstance(origin, type) and issubclass(origin, Schema):
            names.append(f"a mapping of {', '.join(f.name for f in dataclasses.fields(origin))}")
        else:
            names.append(_NAMES.get(origin, getattr(origin, "__name__", str(origin))))
    return " or ".join(names)


def allowed(f: dataclasses.Field, hint: Any) -> str:
    """The allowed values of a field, in words, for error messages and help."""
    meta = f.metadata
    if meta.get("choices"):
        choices = [_render(c) for c in meta["choices"]]
        if type(None) in _members(hint):
            choices.append("null")
        return ", ".join(choices)
    bounds = [f"{op} {_render(meta[key])}" for key, op in
              (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")) if meta.get(key) is not None]
    text = describe(hint)
    if meta.get("finite", True):
        text = text.replace("a number", "a finite number")
    return f"{text} {' and '.join(bounds)}" if bounds else text


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def check_value(f: dataclasses.Field, hint: Any, value: Any) -> None:
    if not any(_matches(value, member) for member in _members(hint)):
        raise InvalidOption(f.name, f"must be {describe(hint)}, got {value!r}", allowed(f, hint))
    if value is None:
        return
    meta = f.metadata
    if meta.get("finite", True) and (bad := _non_finite(value, f.name)) is not None:
        raise InvalidOption(bad[0], f"must be finite, got {bad[1]!r}",
                            allowed(f, hint) if bad[0] == f.name else "a finite number")
    if meta.get("choices") is not None and value not in meta["choices"]:
        raise InvalidOption(f.name, f"unknown value {value!r}", allowed(f, hint))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for key, ok, op in (("gt", value > (meta.get("gt") or 0), ">"),
                            ("ge", value >= (meta.get("ge") or 0), ">="),
                            ("lt", value < (meta.get("lt") or 0), "<"),
                            ("le", value <= (meta.get("le") or 0), "<=")):
            if meta.get(key) is not None and not ok:
                raise InvalidOption(f.name, f"must be {op} {_render(meta[key])}, got {value!r}",
                                    allowed(f, hint))


def _non_finite(value: Any, key: str) -> tuple[str, float] | None:
    """The first infinity or NaN in the value (nested lists and mappings included), with
    its key (``model.arch.layer_norm_eps``, ``strategy.values[1]``); None if there is none."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (key, value)
    if isinstance(value, Mapping):
        items = ((f"{key}.{k}", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{key}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    return next(filter(None, (_non_finite(v, k) for k, v in items)), None)


def build(cls: type, values: Mapping[str, Any] | None, prefix: str) -> Any:
    """``cls(**values)`` with every problem raised as a one-line ConfigError under ``prefix``."""
    values = dict(values or {})
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(_key(prefix, unknown[0]), "unknown key", ", ".join(names) or "no keys")
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in values
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(_key(prefix, missing[0]), "missing value")
    hints = type_hints(cls)
    for name, value in values.items():
        nested = _nested_schema(hints[name])
        if nested is not None and isinstance(value, Mapping):
            values[name] = build(nested, value, _key(prefix, name))
    try:
        return cls(**values)
    except InvalidOption as err:
        raise ConfigError(_key(prefix, err.key), err.problem, err.allowed) from err


def _nested_schema(hint: Any) -> type | None:
    """The config dataclass a field holds as a sub-group (``logger.mlflow``), if any."""
    for member in _members(hint):
        if isinstance(member, type) and issubclass(member, Schema):
            return member
    return None


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def defaults(cls: type) -> dict[str, Any]:
    """Every key of ``cls`` with its default (``'???'``, Hydra's missing marker, if none)."""
    values = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            values[f.name] = f.default_factory()
        else:
            values[f.name] = "???"
    return values


def identity_part(obj: Any) -> dict[str, Any]:
    """The fields of ``obj`` that change results (see :func:`option`)."""
    kept = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.metadata.get("runtime"):
            continue
        if f.metadata.get("omit_default") and value == defaults(type(obj))[f.name]:
            continue
        kept[f.name] = value
    return kept
