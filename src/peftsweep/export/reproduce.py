"""The ``train.py`` command that reproduces a finished trial.

Starts from the trial's model, data and strategy presets and adds an override
for every science key whose recorded value differs from what those presets
compose to; the command is then composed again and must give the trial's own
identity, so the card never shows a command that would run something else.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from omegaconf import OmegaConf

from peftsweep.compose.session import compose_config, compose_task, conf_dir
from peftsweep.errors import UserError


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    text = str(value)
    # Strings Hydra would read as something else (numbers, null, paths with '=') get quoted.
    plain = text.replace("_", "").replace("-", "").replace("/", "").replace(".", "").isalnum()
    return text if plain and text not in ("null", "true", "false") else json.dumps(text)


_SCIENCE_TOP = ("lr", "batch_size", "seed", "epochs")


def _science(config: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: value for key, value in _flat(config).items() if key in keys}


def _presets(overrides: list[str]) -> dict[str, Any]:
    """What the presets compose to, unvalidated (a files preset names no files yet)."""
    return OmegaConf.to_container(compose_task(conf_dir(), overrides), resolve=True)


def overrides_for(result: dict[str, Any]) -> tuple[list[str], bool]:
    """The overrides and whether composing them gives the trial's identity."""
    config = result["config"]
    base = [f"model={config['model']['name']}", f"data={config['data']['name']}",
            f"strategy={config['strategy']['name']}"]
    try:
        present = _flat(_presets(base))
    except Exception:  # noqa: BLE001 - a preset renamed or gone: the base is all we know
        return base, False
    science_keys = set(_SCIENCE_TOP) | {
        key for key in _flat(config) if key.split(".")[0] in ("model", "data", "strategy")} | {
        key for key in _flat(config) if key.startswith("trainer.")}
    overrides = list(base)
    for key, value in sorted(_science(config, science_keys).items()):
        if key not in present or present[key] != value:
            overrides.append(f"{'' if key in present else '+'}{key}={_value(value)}")
    try:
        same = compose_config(overrides).identity() == result["identity"]
    except UserError:
        same = False
    return overrides, same


def reproduce_command(result: dict[str, Any]) -> str:
    overrides, same = overrides_for(result)
    command = "python train.py " + " ".join(shlex.quote(o) for o in overrides)
    if not same:
        command += "  # composes to another identity: check the overrides"
    return command
