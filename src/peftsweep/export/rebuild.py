"""The trained model of a finished trial, rebuilt from its result and kept weights.

The backbone is built as the trial built it (same config, same seed before the
random initialisation of a from-scratch backbone), the strategy applied, and
the kept trainable parameters loaded. The frozen weights must hash to the
fingerprint the trial recorded: otherwise the backbone changed (another
checkpoint, another library version) and the export would not be the model
that was tested.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from peftsweep.errors import UserError
from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.spec.config import DataConfig, ModelConfig, default_cache_dir, task_spec
from peftsweep.spec.families import FAMILIES
from peftsweep.spec.tasks import TaskSpec
from peftsweep.strategies import apply_strategy, with_capacity
from peftsweep.trial import weights


class Rebuilt(NamedTuple):
    model: nn.Module
    tokenizer: Any
    spec: TaskSpec
    model_config: ModelConfig
    data: DataConfig


def _fields(cls, values: dict) -> dict:
    # Results written before a key existed simply lack it: the default applies.
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names}


def trial_configs(result: dict) -> tuple[ModelConfig, DataConfig, dict, int, str]:
    config = result["config"]
    model = ModelConfig(**_fields(ModelConfig, config["model"]))
    data = DataConfig(**_fields(DataConfig, config["data"]))
    cache = config.get("cache_dir")
    cache_dir = cache if cache and Path(cache).is_dir() else default_cache_dir()
    return model, data, dict(config["strategy"]), int(config["seed"]), cache_dir


def trained_strategy(result: dict) -> dict:
    """The strategy config the trial applied: with a budget, the value it sized."""
    strategy, sizing = dict(result["config"]["strategy"]), result.get("budget")
    if sizing and sizing.get("option"):
        return with_capacity(strategy, sizing["value"])
    return {key: value for key, value in strategy.items() if key != "budget"}


def build_base(result: dict) -> tuple[nn.Module, Any]:
    """The backbone and tokenizer exactly as the trial built them, before its strategy."""
    import pytorch_lightning as pl

    model_cfg, data, _, seed, cache_dir = trial_configs(result)
    # As in the trial: a from-scratch backbone's initial weights follow from the seed.
    pl.seed_everything(seed, workers=True, verbose=False)
    tokenizer = load_tokenizer(model_cfg, cache_dir)
    base = build_backbone(model_cfg, task_spec(data), tokenizer, cache_dir)
    return base, tokenizer


def rebuild(job_dir: Path, result: dict) -> Rebuilt:
    """The trial's model at its best checkpoint, in eval mode on the CPU."""
    from safetensors.torch import load_file

    manifest = weights.read_manifest(job_dir)
    if manifest is None:
        policy = (result.get("config", {}).get("trainer") or {})
        raise UserError(
            f"TRIAL: {Path(job_dir).name} kept no weights (trainer.keep_weights="
            f"{policy.get('keep_weights', 'trainable')}, trainer.full_weights="
            f"{policy.get('full_weights', 'selected')}, or it ran before weights were kept); "
            "re-run it into a new sweep with trainer.full_weights=all to export it")
    model_cfg, data, strategy, _, _ = trial_configs(result)
    base, tokenizer = build_base(result)
    model = apply_strategy(base, trained_strategy(result), FAMILIES[model_cfg.family],
                           total_steps=result.get("optimizer_steps"))
    if weights.frozen_fingerprint(model) != manifest.get("frozen_fingerprint"):
        raise UserError(f"TRIAL: the rebuilt backbone of {Path(job_dir).name} differs from "
                        f"the one it trained ({model_cfg.name_or_path} changed?): not exported")
    state = load_file(str(Path(job_dir) / weights.WEIGHTS_DIR / weights.TRAINABLE_FILE))
    expected = {name for name, p in model.named_parameters() if p.requires_grad}
    if set(state) != expected:
        raise UserError(f"TRIAL: kept weights of {Path(job_dir).name} do not match its "
                        f"strategy ({len(set(state) ^ expected)} tensor names differ)")
    with torch.no_grad():
        params = dict(model.named_parameters())
        for name, tensor in state.items():
            params[name].copy_(tensor)
    return Rebuilt(model.eval(), tokenizer, task_spec(data), model_cfg, data)
