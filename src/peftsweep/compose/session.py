"""Compose trial configs from the config folder with Hydra, turning its errors into one line.

The sweep's preflight, search workers and the ``params``, ``inspect`` and ``evaluate``
commands compose through here, so a model or strategy is named the same way everywhere
and a bad override reads the same everywhere. The config folder ships inside the package
(``peftsweep/conf``); ``$PEFTSWEEP_CONF`` replaces it, and ``hydra.searchpath`` adds a
user's own folder to it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from peftsweep.compose.nodes import register_nodes
from peftsweep.compose.validate import validate
from peftsweep.errors import ConfigError, UserError
from peftsweep.spec.config import TrialConfig

PACKAGE_CONF = Path(__file__).resolve().parents[1] / "conf"


def conf_dir() -> Path:
    """The config folder: ``$PEFTSWEEP_CONF``, else the one the package ships."""
    return Path(os.environ.get("PEFTSWEEP_CONF") or PACKAGE_CONF).resolve()


@contextlib.contextmanager
def hydra_session(folder: Path, overrides: list[str]) -> Iterator[None]:
    """Hydra initialised on ``folder``; its multi-line errors leave as one-line UserErrors."""
    register_nodes()
    with initialize_config_dir(str(folder), version_base="1.3"):
        try:
            yield
        except (HydraException, OmegaConfBaseException) as err:
            raise one_line_error(err, folder, overrides) from err


def one_line_error(err: Exception, folder: Path, overrides: list[str]) -> UserError:
    if isinstance(err, OverrideParseException):
        return unparsable_override(err)
    text = str(err).strip()
    message = text.splitlines()[0] if text else type(err).__name__
    # "Could not find 'model/bert_tiy'": name the group and list what exists.
    if "Could not find '" in message:
        group = message.split("Could not find '", 1)[1].split("'")[0].rsplit("/", 1)[0]
        options = sorted(p.stem for p in (folder / group).glob("*.yaml")
                         if not p.stem.startswith("_"))
        return ConfigError(group, message.split(": ", 1)[-1], ", ".join(options))
    if message.startswith("Could not override '"):
        key = message.split("'")[1]
        return ConfigError(key, "unknown key", _keys_beside(key, overrides))
    return UserError(message)


def unparsable_override(err: OverrideParseException) -> ConfigError:
    """The key of an override Hydra's grammar rejects; never its value (it may hold a
    password, as a storage URL does)."""
    key = err.override.split("=", 1)[0].lstrip("+~") or err.override
    reason = (str(err).strip().splitlines() or ["cannot parse"])[0]
    if reason.startswith("LexerNoViableAltException"):  # its text is the override itself
        reason = "a character the override grammar does not allow"
    return ConfigError(key, f"cannot parse the override ({reason})",
                       f"quote a value that holds '=', ',', brackets or spaces: {key}='...'")


def _keys_beside(key: str, overrides: list[str]) -> str | None:
    """The keys of the section that ``key`` was meant for, composed without it."""
    section = key.rsplit(".", 1)[0] if "." in key else ""
    kept = [o for o in overrides if not o.lstrip("+~").startswith(f"{key}=")]
    try:
        cfg = compose("train", overrides=kept)
    except (HydraException, OmegaConfBaseException):
        return None
    node = OmegaConf.select(cfg, section) if section else cfg
    return ", ".join(sorted(node.keys())) if hasattr(node, "keys") else None


def compose_config(overrides: list[str], config_dir: Path | None = None) -> TrialConfig:
    """``conf/train.yaml`` with Hydra ``overrides`` applied, validated. Raises UserError."""
    folder = Path(config_dir or conf_dir()).resolve()
    with hydra_session(folder, overrides):
        cfg = compose("train", overrides=list(overrides))
    return validate(cfg)


def compose_task(folder: str | Path, overrides: list[str]) -> DictConfig:
    """The task config (no ``hydra`` node) for these overrides, unvalidated.

    Inside a running Hydra app (a search that runs its worker in-process) Hydra is
    already initialised on the same folder and composes directly; elsewhere (a worker
    process) it is initialised on ``folder`` for the call.
    """
    if GlobalHydra.instance().is_initialized():
        cfg = compose("train", overrides=list(overrides))
    else:
        with hydra_session(Path(folder), list(overrides)):
            cfg = compose("train", overrides=list(overrides))
    return OmegaConf.create({k: cfg[k] for k in cfg if k != "hydra"})
