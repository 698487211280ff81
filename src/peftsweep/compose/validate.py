"""From a composed config to a checked :class:`TrialConfig`, or one ConfigError.

Every group goes through :func:`peftsweep.spec.schema.build`: unknown keys, types,
ranges and allowed values are checked the same way everywhere. Then come the
checks that need a registry: the model family, the strategy's options (PEFT's
own constraints included), data files, and lengths against the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from peftsweep.errors import ConfigError
from peftsweep.spec.config import (
    GROUPS,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrialConfig,
    default_cache_dir,
)
from peftsweep.spec.families import FAMILIES, Family
from peftsweep.spec.schema import build
from peftsweep.strategies import strategy_label, validate_strategy, virtual_tokens


def validate(cfg: DictConfig | dict) -> TrialConfig:
    """Check a composed config (Hydra's, or a plain dict) and return the trial config."""
    raw = cfg if isinstance(cfg, dict) else OmegaConf.to_container(cfg, resolve=True)
    for key in ("model", "data", "strategy"):
        if not isinstance(raw.get(key), dict):
            raise ConfigError(key, "missing config group")
    groups = {key: build(cls, raw.get(key), key) for key, cls in GROUPS.items()}
    top = {key: value for key, value in raw.items() if key not in GROUPS and key != "strategy"}
    run = build(RunConfig, top, "")
    model, data = groups["model"], groups["data"]
    family = model_family(model)
    strategy = validate_strategy(raw["strategy"], family)
    check_data_files(data)
    check_max_length(data, model, family, model.arch.get("max_position_embeddings"),
                     virtual_tokens(strategy))
    return TrialConfig(
        model=model, data=data, strategy=strategy, trainer=groups["trainer"],
        # One spelling per value (lr=1 and lr=1.0 are one trial identity).
        lr=float(run.lr), batch_size=run.batch_size, seed=run.seed, epochs=run.epochs,
        cache_dir=str(run.cache_dir or default_cache_dir()), logger=groups["logger"],
        strategy_label=strategy_label(strategy),
    )


def model_family(model: ModelConfig) -> Family:
    if model.family not in FAMILIES:
        raise ConfigError("model.family", f"unknown value {model.family!r}", ", ".join(FAMILIES))
    return FAMILIES[model.family]


def check_max_length(data: DataConfig, model: ModelConfig, family: Family,
                     positions: Any, reserved: int = 0) -> None:
    """Tokens beyond the position embeddings would fail deep inside the first batch.

    ``reserved``: virtual tokens a strategy puts in front of every input (prompt tuning,
    p-tuning, prefix tuning); they take positions before the real tokens.
    """
    if not isinstance(positions, int):
        return
    usable = positions - family.position_offset
    if data.max_length > usable:
        raise ConfigError("data.max_length", f"{data.max_length} is beyond the "
                          f"{usable} positions of model {model.name}", f"1..{usable}")
    if reserved and data.max_length + reserved > usable:
        room = usable - data.max_length
        allowed = f"1..{room}, or data.max_length <= {usable - reserved}" if room > 0 else \
            f"data.max_length <= {usable - reserved}" if usable > reserved else \
            f"num_virtual_tokens < {usable}"
        raise ConfigError("strategy.num_virtual_tokens", f"{reserved} virtual tokens + "
                          f"data.max_length {data.max_length} exceed the {usable} positions of "
                          f"model {model.name}", allowed)


def check_data_files(data: DataConfig) -> None:
    if data.source != "files":
        return
    if not (data.data_dir or data.train_file):
        raise ConfigError("data.train_file", "data.source=files needs data.train_file or "
                          "data.data_dir")
    if data.data_dir and not Path(data.data_dir).is_dir():
        raise ConfigError("data.data_dir", f"no such folder: {data.data_dir}")
    for key in ("train_file", "validation_file", "test_file"):
        path = getattr(data, key)
        if path and not Path(path).is_file():
            raise ConfigError(f"data.{key}", f"no such file: {path}")
