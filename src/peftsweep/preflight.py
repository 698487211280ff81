"""Check a whole sweep before its first trial: every combination composed and validated.

A typo in the 40th combination fails in seconds. Data is tokenized here, once
per distinct (data, tokenizer, max length), so trials only read the cache.
"""

from __future__ import annotations

from pathlib import Path

from hydra import compose
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from peftsweep.compose import hydra_session
from peftsweep.config import TrialConfig
from peftsweep.data.cache import prepare
from peftsweep.data.sources import task_spec
from peftsweep.families import FAMILIES
from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.strategies import check_strategy_fits
from peftsweep.validate import check_max_length, validate


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
    with hydra_session(conf_dir, overrides):
        jobs = expand(overrides, multirun, conf_dir)
        configs = [validate(compose("train", overrides=list(job))) for job in jobs]
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
            family = FAMILIES[cfg.model.family]
            check_strategy_fits(meta, cfg.strategy, family)
            check_max_length(cfg.data, cfg.model, family,
                             getattr(meta.config, "max_position_embeddings", None))
            checked_models.add(model_key)
        data_key = (repr(cfg.data), cfg.model.tokenizer or cfg.model.name_or_path, cfg.cache_dir)
        if data_key not in prepared:
            prepare(cfg.data, tokenizer, cfg.cache_dir)
            prepared.add(data_key)
