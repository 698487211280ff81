"""A search trial's config and job folder: the command line's fixed overrides + the point.

Composed with Hydra's config loader (usable inside a running Hydra app, where
``hydra.compose`` is not), then named and validated exactly as a grid trial is.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from peftsweep.search.storage import scrub


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def merge(fixed: list[str], point: list[str]) -> list[str]:
    """Fixed overrides, minus any key the point sets (the space wins), then the point."""
    keys = {_key(o) for o in point}
    return [o for o in fixed if _key(o) not in keys] + point


def compose_task(conf_dir: str, overrides: list[str]) -> DictConfig:
    """The task config (no ``hydra`` node) for these overrides."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path
    from hydra.types import RunMode

    import peftsweep.hydra_schema  # noqa: F401 - the schema nodes the YAML extends

    loader = ConfigLoaderImpl(config_search_path=create_config_search_path(conf_dir))
    cfg = loader.load_configuration("train", overrides=list(overrides), run_mode=RunMode.RUN)
    return OmegaConf.create({k: cfg[k] for k in cfg if k != "hydra"})


def job_dir_for(sweep_dir: Path, cfg: DictConfig) -> Path:
    """The grid's identity-based job folder name (sweep.py's resolver)."""
    from peftsweep.sweep import _trial_name

    return Path(sweep_dir) / _trial_name(_root_=cfg)


def save_hydra_files(job_dir: Path, cfg: DictConfig, overrides: list[str]) -> None:
    """What Hydra keeps in a grid job's .hydra/, without any storage password."""
    from peftsweep.results import atomic_write_text

    folder = Path(job_dir) / ".hydra"
    atomic_write_text(folder / "config.yaml", scrub(OmegaConf.to_yaml(cfg)))
    atomic_write_text(folder / "overrides.yaml",
                      scrub(OmegaConf.to_yaml(OmegaConf.create(list(overrides)))))
