"""Compose one trial config from ``conf/`` outside ``train.py``.

Helper CLIs (``peftsweep-params``, ``peftsweep-inspect``) accept exactly the
overrides ``train.py`` does, so a model or strategy is named the same way
everywhere. Hydra's multi-line errors become one-line :class:`UserError`.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from peftsweep.config import TrialConfig, validate
from peftsweep.errors import ConfigError, UserError


def conf_dir() -> Path:
    """The config folder, by the same rule as ``peftsweep.train.CONF_DIR``.

    Not imported from there: ``train`` pulls in Lightning, which a counting or
    tokenizing CLI does not need.
    """
    default = Path(__file__).resolve().parents[2] / "conf"
    return Path(os.environ.get("PEFTSWEEP_CONF", default))


def _one_line(err: Exception, folder: Path) -> UserError:
    text = str(err).strip()
    message = text.splitlines()[0] if text else type(err).__name__
    # "Could not find 'model/bert_tiy'": name the group and list what exists.
    if "Could not find '" in message:
        group = message.split("Could not find '", 1)[1].split("'")[0].rsplit("/", 1)[0]
        options = sorted(p.stem for p in (folder / group).glob("*.yaml"))
        return ConfigError(group, message.split(": ", 1)[-1], ", ".join(options))
    if message.startswith("Could not override"):
        message += " (no such key; check the spelling, or use +key=value to add one)"
    return UserError(message)


def compose_config(overrides: list[str], config_dir: Path | None = None) -> TrialConfig:
    """``conf/train.yaml`` with Hydra ``overrides`` applied, validated. Raises UserError."""
    folder = Path(config_dir or conf_dir()).resolve()
    try:
        with initialize_config_dir(str(folder), version_base="1.3"):
            cfg = compose("train", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as err:
        raise _one_line(err, folder) from err
    return validate(cfg)
