"""Check a whole sweep before its first trial: every combination composed and validated.

A typo in the 40th combination fails in seconds. Data is tokenized here, once
per distinct (data, tokenizer, max length), so trials only read the cache.
"""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from peftsweep.config import TrialConfig, validate
from peftsweep.data.cache import prepare
from peftsweep.data.sources import task_spec
from peftsweep.errors import ConfigError, UserError
from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.models.families import FAMILIES
from peftsweep.strategies import check_strategy_fits


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _group_error(err: Exception, conf_dir: Path) -> UserError:
    """Turn Hydra's multi-line 'Could not find' into one line listing the options."""
    message = _first_line(err)
    if "Could not find '" in message:
        group = message.split("Could not find '", 1)[1].split("'")[0].rsplit("/", 1)[0]
        options = sorted(p.stem for p in (conf_dir / group).glob("*.yaml")
                         if not p.stem.startswith("_"))
        return ConfigError(group, message.split(": ", 1)[-1], ", ".join(options))
    if message.startswith("Could not override '"):
        key = message.split("'")[1]
        return ConfigError(key, "unknown key", _known_keys(key.rsplit(".", 1)[0]))
    return UserError(message)


def _known_keys(section: str) -> str | None:
    """The keys a config section accepts, for 'unknown key' errors."""
    import dataclasses

    from peftsweep.config import DataConfig, ModelConfig, TrainerConfig

    schema = {"data": DataConfig, "model": ModelConfig, "trainer": TrainerConfig}.get(section)
    return ", ".join(f.name for f in dataclasses.fields(schema)) if schema else None


def expand(overrides: list[str], multirun: bool, conf_dir: Path) -> list[list[str]]:
    """The override list of every job Hydra will launch (the basic sweeper's product)."""
    parser = OverridesParser.create()
    parsed = parser.parse_overrides(overrides)
    if not multirun:
        return [overrides]
    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    base = compose("train", overrides=plain, return_hydra_config=True)
    params = base.hydra.sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params else {}
    lines = [f"{key}={value}" for key, value in params.items()] + overrides
    return BasicSweeper.split_arguments(parser.parse_overrides(lines), None)[0]


def check_sweep(overrides: list[str], multirun: bool, conf_dir: Path) -> list[TrialConfig]:
    """Compose and validate every job; prepare each distinct dataset. Raises UserError."""
    try:
        with initialize_config_dir(str(conf_dir), version_base="1.3"):
            jobs = expand(overrides, multirun, conf_dir)
            configs = [validate(compose("train", overrides=list(job))) for job in jobs]
    except (HydraException, OmegaConfBaseException) as err:
        raise _group_error(err, conf_dir) from err
    _check_models_and_data(configs)
    return configs


def _check_models_and_data(configs: list[TrialConfig]) -> None:
    checked_models, prepared, tokenizers = set(), set(), {}
    for cfg in configs:
        # A grid repeats a few models many times: load each tokenizer once.
        tokenizer_key = (cfg.model.tokenizer or cfg.model.name_or_path, cfg.cache_dir)
        if tokenizer_key not in tokenizers:
            tokenizers[tokenizer_key] = load_tokenizer(cfg.model, cfg.cache_dir)
        tokenizer = tokenizers[tokenizer_key]
        spec = task_spec(cfg.data)
        model_key = (repr(cfg.model), repr(sorted(cfg.strategy.items())), spec.num_labels)
        if model_key not in checked_models:
            meta = build_backbone(cfg.model, spec, tokenizer, cfg.cache_dir, meta=True)
            check_strategy_fits(meta, cfg.strategy, FAMILIES[cfg.model.family])
            checked_models.add(model_key)
        data_key = (repr(cfg.data), cfg.model.tokenizer or cfg.model.name_or_path, cfg.cache_dir)
        if data_key not in prepared:
            prepare(cfg.data, tokenizer, cfg.cache_dir)
            prepared.add(data_key)
