"""Check a whole sweep before its first trial: every combination composed and validated.

A typo in the 40th combination fails in seconds. Data is tokenized here, once
per distinct (data, tokenizer, max length), so trials only read the cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from hydra import compose
from omegaconf import DictConfig, OmegaConf

from peftsweep.compose.overrides import cartesian, parse
from peftsweep.compose.session import hydra_session
from peftsweep.compose.validate import check_max_length, validate
from peftsweep.data.cache import prepare
from peftsweep.data.steps import optimizer_steps
from peftsweep.errors import ConfigError
from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.params.applies import check_applies
from peftsweep.spec.config import TrialConfig, task_spec
from peftsweep.spec.families import FAMILIES
from peftsweep.strategies import check_strategy_fits


def expand(overrides: list[str], multirun: bool, conf_dir: Path) -> list[list[str]]:
    """The override list of every job the grid sweeper will launch."""
    if not multirun:
        return [overrides]
    plain = [o.input_line for o in parse(overrides) if not o.is_sweep_override()]
    base = compose("train", overrides=plain, return_hydra_config=True)
    check_packing(base.hydra)
    params = base.hydra.sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params else {}
    lines = [f"{key}={value}" for key, value in params.items()] + overrides
    return cartesian(parse(lines))


def check_packing(hydra: DictConfig) -> None:
    """Pack sizes and workers are counts, and packs are asked for in one place only."""
    packed = hydra.runtime.choices.get("hydra/launcher") == "packed"
    sizes = {"hydra.sweeper.pack_size": hydra.sweeper.get("pack_size")}
    if packed:
        sizes.update({f"hydra.launcher.{k}": hydra.launcher.get(k)
                      for k in ("pack_size", "workers")})
    for key, value in sizes.items():
        nullable = key.endswith("pack_size")
        if value is None and nullable:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(key, f"must be a whole number >= 1, got {value!r}",
                              "1, 2, 3, ..." + (" or null" if nullable else ""))
    if packed and sizes["hydra.sweeper.pack_size"] is not None:
        raise ConfigError("hydra.sweeper.pack_size", "hydra/launcher=packed packs by itself",
                          "null with hydra/launcher=packed (set hydra.launcher.pack_size), "
                          "or a count with another launcher")


class CheckedGrid(NamedTuple):
    jobs: list[list[str]]  # each job's overrides, as the grid sweeper will launch them
    configs: list[TrialConfig]
    dry_run: bool
    resume: str | None  # the sweep folder a resume uses, else None (a new folder)


def check_grid(overrides: list[str], multirun: bool, conf_dir: Path) -> CheckedGrid:
    """Compose and validate every job; prepare each distinct dataset. Raises UserError."""
    with hydra_session(conf_dir, overrides):
        jobs = expand(overrides, multirun, conf_dir)
        composed = [compose("train", overrides=list(job)) for job in jobs]
        configs = [validate(cfg) for cfg in composed]
    check_models_and_data(configs)
    return CheckedGrid(jobs, configs, bool(composed[0].dry_run), composed[0].get("resume"))


def check_sweep(overrides: list[str], multirun: bool, conf_dir: Path) -> list[TrialConfig]:
    """The validated config of every job (see :func:`check_grid`)."""
    return check_grid(overrides, multirun, conf_dir).configs


def check_models_and_data(configs: list[TrialConfig]) -> None:
    checked_models, prepared, tokenizers = set(), {}, {}
    for cfg in configs:
        # A grid repeats a few models many times: load each tokenizer once.
        tokenizer_key = (cfg.model.tokenizer or cfg.model.name_or_path, cfg.cache_dir)
        if tokenizer_key not in tokenizers:
            tokenizers[tokenizer_key] = load_tokenizer(cfg.model, cfg.cache_dir)
        tokenizer = tokenizers[tokenizer_key]
        spec = task_spec(cfg.data)
        data_key = (repr(cfg.data), cfg.model.tokenizer or cfg.model.name_or_path, cfg.cache_dir)
        if data_key not in prepared:
            prepared[data_key] = len(prepare(cfg.data, tokenizer, cfg.cache_dir)["train"])
        steps = optimizer_steps(prepared[data_key], cfg.batch_size, cfg.epochs,
                                cfg.trainer.accumulate_grad_batches, cfg.trainer.devices)
        model_key = (repr(cfg.model), repr(sorted(cfg.strategy.items())), spec.num_labels,
                     cfg.data.max_length, steps)
        if model_key not in checked_models:
            meta = build_backbone(cfg.model, spec, tokenizer, cfg.cache_dir, meta=True)
            family = FAMILIES[cfg.model.family]
            check_strategy_fits(meta, cfg.strategy, family)
            check_max_length(cfg.data, cfg.model, family,
                             getattr(meta.config, "max_position_embeddings", None))
            # The budget sized, virtual tokens against positions, PEFT's checks on the model.
            check_applies(cfg, steps)
            checked_models.add(model_key)
