"""The search space: parsed from ``search.space``, suggested per trial as Hydra overrides.

Each entry names a config key (or a config group such as ``strategy``)::

    lr:         {type: float, low: 1e-5, high: 1e-2, log: true}
    batch_size: {type: categorical, choices: [16, 32, 64]}
    strategy:   {type: categorical, choices: [full, bitfit, lora]}
    strategy.r: {type: int, low: 2, high: 16, log: true, when: {strategy: lora}}

``when`` makes a key conditional on the value another entry took.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from peftsweep.errors import ConfigError

KINDS = ("float", "int", "categorical")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()
    when: dict = field(default_factory=dict)

    def edge_values(self) -> list:
        """Every choice, or both bounds: the values preflight composes once each."""
        return list(self.choices) if self.kind == "categorical" else [self.low, self.high]

    def describe(self) -> str:
        """One line for a dry run: ``lr  float 1e-05 .. 0.01 (log)``."""
        if self.kind == "categorical":
            where = "[" + ", ".join(map(str, self.choices)) + "]"
        else:
            where = f"{self.low:g} .. {self.high:g}" + (" (log)" if self.log else "")
            where += f" step {self.step:g}" if self.step else ""
        when = " ".join(f"{k}={v}" for k, v in self.when.items())
        return f"{self.name:14} {self.kind:11} {where}" + (f"  when {when}" if when else "")

    def distribution(self):
        """Optuna's distribution of this entry, as suggest() declares it."""
        import optuna

        if self.kind == "categorical":
            return optuna.distributions.CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return optuna.distributions.IntDistribution(int(self.low), int(self.high),
                                                        log=self.log, step=int(self.step or 1))
        return optuna.distributions.FloatDistribution(self.low, self.high, log=self.log,
                                                      step=self.step)

    def value_in_space(self, value: Any) -> tuple[bool, Any]:
        """Whether a value (a finished trial's) lies in this entry, and as suggest() gives it."""
        if self.kind == "categorical":
            same = [c for c in self.choices if c == value and type(c) is type(value)]
            same = same or [c for c in self.choices if c == value]
            return (True, same[0]) if same else (False, value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False, value
        if self.kind == "int" and not float(value).is_integer():
            return False, value
        inside = self.low <= value <= self.high
        if inside and self.step:
            steps = (value - self.low) / self.step
            inside = abs(steps - round(steps)) < 1e-9
        return inside, int(value) if self.kind == "int" else float(value)

    def suggest(self, trial) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log,
                                     step=int(self.step or 1))
        return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"must be a number, got {value!r}", "a finite number")
    if not math.isfinite(value):  # an unbounded range means nothing to a sampler
        raise ConfigError(key, f"must be finite, got {value!r}", "a finite number")
    return value


def _parse_param(name: str, raw: Any) -> Param:
    key = f"search.space.{name}"
    if not isinstance(raw, dict):
        raise ConfigError(key, "must be a mapping such as {type: float, low: 1e-5, high: 1e-2}")
    known = {"type", "low", "high", "log", "step", "choices", "when"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", "unknown key", ", ".join(sorted(known)))
    kind = raw.get("type")
    if kind not in KINDS:
        raise ConfigError(f"{key}.type", f"unknown value {kind!r}", ", ".join(KINDS))
    when = dict(raw.get("when") or {})
    if kind == "categorical":
        choices = raw.get("choices")
        if not isinstance(choices, (list, tuple)) or not choices:
            raise ConfigError(f"{key}.choices", "a categorical needs at least one choice")
        return Param(name, kind, choices=tuple(choices), when=when)
    low, high = _number(f"{key}.low", raw.get("low")), _number(f"{key}.high", raw.get("high"))
    if low >= high:
        raise ConfigError(key, f"empty or reversed range: low={low!r} >= high={high!r}",
                          "low < high")
    log = bool(raw.get("log", False))
    if log and low <= 0:
        raise ConfigError(f"{key}.low", f"a log range needs bounds > 0, got low={low!r}")
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise ConfigError(key, f"an int range needs integer bounds, got {low!r}, {high!r}")
    step = raw.get("step")
    if step is not None and (_number(f"{key}.step", step) <= 0 or log):
        raise ConfigError(f"{key}.step", "must be > 0 and cannot be combined with log")
    return Param(name, kind, low=low, high=high, log=log, step=step, when=when)


def parse_space(raw: dict | None) -> list[Param]:
    """The ordered parameters; a condition may only name an earlier entry and its values."""
    if not raw:
        raise ConfigError("search.space", "is empty: declare at least one key to search")
    params: list[Param] = []
    for name, spec in raw.items():
        param = _parse_param(str(name), spec)
        for other, wanted in param.when.items():
            earlier = next((p for p in params if p.name == other), None)
            if earlier is None:
                raise ConfigError(f"search.space.{name}.when", f"names {other!r}, which is not "
                                  "an earlier entry of the space")
            if earlier.kind == "categorical" and wanted not in earlier.choices:
                raise ConfigError(f"search.space.{name}.when", f"{other}={wanted!r} is not "
                                  f"one of its choices", ", ".join(map(str, earlier.choices)))
        params.append(param)
    return params


def active(param: Param, values: dict) -> bool:
    """Whether the entry is drawn, given the values the earlier entries took."""
    return all(values.get(key) == wanted for key, wanted in param.when.items())


def suggest(params: list[Param], trial) -> dict[str, Any]:
    """Ask the trial for every active parameter, in order (define-by-run)."""
    values: dict[str, Any] = {}
    for param in params:
        if active(param, values):
            values[param.name] = param.suggest(trial)
    return values


def to_overrides(values: dict[str, Any]) -> list[str]:
    return [f"{key}={_format(value)}" for key, value in values.items()]


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def edge_assignments(params: list[Param]) -> list[dict[str, Any]]:
    """Assignments that put every choice and every bound in a composed config at least once."""
    def fill(fixed: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for param in params:
            if active(param, values):
                values[param.name] = fixed.get(param.name, param.edge_values()[0])
        return values

    out: list[dict[str, Any]] = []
    for param in params:
        for value in param.edge_values():
            # Satisfy the parameter's own condition so that conditional keys are composed too.
            values = fill({**param.when, param.name: value})
            if param.name in values and values not in out:
                out.append(values)
    return out
