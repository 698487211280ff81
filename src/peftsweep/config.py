"""Typed trial config: built from Hydra's DictConfig and checked once, up front.

Every key a user may sweep is a field here. ``validate`` turns a composed
config into a frozen :class:`TrialConfig` or raises :class:`ConfigError`
naming the key, the problem and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from peftsweep.errors import ConfigError

DATA_SOURCES = ("demo", "hub", "files")
SELECTION_POLICIES = ("validation", "split_train")
TEST_POLICIES = ("test", "validation")
PRECISIONS = ("auto", "32-true", "32", "bf16-mixed", "16-mixed", "bf16-true")


@dataclass(frozen=True)
class ModelConfig:
    name: str
    name_or_path: str
    tokenizer: str | None = None
    pretrained: bool = True
    family: str = "bert"
    arch: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DataConfig:
    name: str
    task: str
    source: str = "hub"
    hub_path: str | None = None
    hub_name: str | None = None
    data_dir: str | None = None
    train_file: str | None = None
    validation_file: str | None = None
    test_file: str | None = None
    column_names: list | None = None
    text_fields: list | None = None
    label_field: str | None = None
    label_names: list | None = None
    selection: str = "validation"
    test_on: str = "test"
    validation_fraction: float = 0.1
    split_seed: int = 0
    max_length: int = 128
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    demo_size: int = 2000


@dataclass(frozen=True)
class TrainerConfig:
    accelerator: str = "auto"
    devices: int = field(default=1, metadata={
        "help": "DDP processes for one trial (GPUs, or CPU processes over gloo)"})
    precision: str = "auto"
    weight_decay: float = 0.01
    warmup_steps: int = 0
    warmup_ratio: float = 0.0
    gradient_clip_val: float | None = 1.0
    accumulate_grad_batches: int = 1
    eval_batch_size: int | None = None
    val_check_interval: float = 1.0
    log_every_n_steps: int = 10
    num_threads: int | None = None
    keep_checkpoint: bool = False
    enable_progress_bar: bool = False
    fused_adamw: bool = True
    group_by_length: bool | str = "auto"
    gradient_checkpointing: bool = field(default=False, metadata={
        "help": "recompute activations in the backward pass (less memory, more time)"})


@dataclass(frozen=True)
class TrialConfig:
    model: ModelConfig
    data: DataConfig
    strategy: dict
    trainer: TrainerConfig
    lr: float
    batch_size: int
    seed: int
    epochs: int
    cache_dir: str
    logger: dict = field(default_factory=dict)

    # Keys that change results. Paths, loggers and launcher settings do not.
    def science(self) -> dict[str, Any]:
        trainer = dataclasses.asdict(self.trainer)
        for runtime_key in ("log_every_n_steps", "num_threads", "keep_checkpoint",
                            "enable_progress_bar", "eval_batch_size", "devices",
                            "gradient_checkpointing"):
            trainer.pop(runtime_key)
        return {
            "model": dataclasses.asdict(self.model),
            "data": dataclasses.asdict(self.data),
            "strategy": dict(self.strategy),
            "trainer": trainer,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "epochs": self.epochs,
        }

    def identity(self) -> str:
        canonical = json.dumps(self.science(), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        """The flat keys reports group and sort by."""
        from peftsweep.strategies import strategy_label

        return {
            "model": self.model.name,
            "data": self.data.name,
            "strategy": strategy_label(self.strategy),
            "lr": self.lr,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "epochs": self.epochs,
            "pretrained": self.model.pretrained,
        }

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls, section: Any, key: str):
    """Instantiate a config dataclass, rejecting unknown keys by name."""
    values = dict(section or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", "unknown key", ", ".join(sorted(names)))
    for f in dataclasses.fields(cls):
        # A typo such as `=ture` would otherwise pass as a truthy string.
        if f.type == "bool" and f.name in values and not isinstance(values[f.name], bool):
            raise ConfigError(f"{key}.{f.name}", f"must be true or false, got {values[f.name]!r}")
    try:
        return cls(**values)
    except TypeError as err:
        raise ConfigError(key, str(err)) from err


def _positive(key: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"must be a positive {kind.__name__}, got {value!r}")
    if kind is int and not float(value).is_integer():
        raise ConfigError(key, f"must be a positive integer, got {value!r}")
    if value <= 0:
        raise ConfigError(key, f"must be > 0, got {value!r}")
    return kind(value)


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(key, f"unknown value {value!r}", ", ".join(allowed))


def _check_model(model: ModelConfig) -> None:
    from peftsweep.models.families import FAMILIES

    _choice("model.family", model.family, tuple(FAMILIES))
    if not model.name_or_path:
        raise ConfigError("model.name_or_path", "must name a hub id, a local folder, "
                          "package:<module> or builtin:demo")


def _check_data(data: DataConfig) -> None:
    from peftsweep.data.tasks import TASKS

    _choice("data.source", data.source, DATA_SOURCES)
    _choice("data.task", data.task, tuple(TASKS))
    _choice("data.selection", data.selection, SELECTION_POLICIES)
    _choice("data.test_on", data.test_on, TEST_POLICIES)
    if not 0 < data.validation_fraction < 1:
        raise ConfigError("data.validation_fraction", f"must be in (0, 1), got "
                          f"{data.validation_fraction}")
    _positive("data.max_length", data.max_length, int)
    for key in ("max_train_samples", "max_eval_samples"):
        if getattr(data, key) is not None:
            _positive(f"data.{key}", getattr(data, key), int)
    if data.selection == "validation" and data.test_on == "validation":
        raise ConfigError("data.test_on", "cannot test on the split used for selection "
                          "(data.selection=validation)", "test, or set data.selection=split_train")
    if data.source == "files":
        _check_files(data)


def _check_files(data: DataConfig) -> None:
    if not (data.data_dir or data.train_file):
        raise ConfigError("data.train_file", "data.source=files needs data.train_file or "
                          "data.data_dir")
    if data.data_dir and not Path(data.data_dir).is_dir():
        raise ConfigError("data.data_dir", f"no such folder: {data.data_dir}")
    for key in ("train_file", "validation_file", "test_file"):
        path = getattr(data, key)
        if path and not Path(path).is_file():
            raise ConfigError(f"data.{key}", f"no such file: {path}")


def _check_trainer(trainer: TrainerConfig) -> None:
    _choice("trainer.precision", str(trainer.precision), PRECISIONS)
    _positive("trainer.accumulate_grad_batches", trainer.accumulate_grad_batches, int)
    _positive("trainer.devices", trainer.devices, int)
    if trainer.weight_decay < 0:
        raise ConfigError("trainer.weight_decay", f"must be >= 0, got {trainer.weight_decay}")
    if not 0 <= trainer.warmup_ratio < 1:
        raise ConfigError("trainer.warmup_ratio", f"must be in [0, 1), got {trainer.warmup_ratio}")
    if trainer.warmup_steps < 0:
        raise ConfigError("trainer.warmup_steps", f"must be >= 0, got {trainer.warmup_steps}")
    if trainer.eval_batch_size is not None:
        _positive("trainer.eval_batch_size", trainer.eval_batch_size, int)
    if trainer.group_by_length not in (True, False, "auto"):
        raise ConfigError("trainer.group_by_length",
                          f"must be true, false or auto, got {trainer.group_by_length!r}")


def validate(cfg: DictConfig | dict) -> TrialConfig:
    """Check a composed config and return the typed trial config."""
    from peftsweep.strategies import validate_strategy

    raw = cfg if isinstance(cfg, dict) else OmegaConf.to_container(cfg, resolve=True)
    for key in ("model", "data", "strategy"):
        if not isinstance(raw.get(key), dict):
            raise ConfigError(key, "missing config group")
    model = _build(ModelConfig, raw["model"], "model")
    data = _build(DataConfig, raw["data"], "data")
    trainer = _build(TrainerConfig, raw.get("trainer"), "trainer")
    _check_model(model)
    _check_data(data)
    _check_trainer(trainer)
    return TrialConfig(
        model=model,
        data=data,
        strategy=validate_strategy(raw["strategy"]),
        trainer=trainer,
        lr=_positive("lr", raw.get("lr"), float),
        batch_size=_positive("batch_size", raw.get("batch_size"), int),
        seed=int(raw.get("seed", 0)),
        epochs=_positive("epochs", raw.get("epochs"), int),
        cache_dir=str(raw.get("cache_dir") or default_cache_dir()),
        logger=dict(raw.get("logger") or {}),
    )


def default_cache_dir() -> str:
    import os

    base = os.environ.get("PEFTSWEEP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "peftsweep")
    return base
