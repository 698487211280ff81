"""A search trial's config and job folder: the command line's fixed overrides + the point.

Composed as a grid trial is (:func:`peftsweep.compose.session.compose_task`), then named
by the same rule (:mod:`peftsweep.sweep.naming`), so a point the grid also ran lands in
the grid's folder name.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from peftsweep.spec.results import atomic_write_text
from peftsweep.study.storage import scrub


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def merge(fixed: list[str], point: list[str]) -> list[str]:
    """Fixed overrides, minus any key the point sets (the space wins), then the point."""
    keys = {_key(o) for o in point}
    return [o for o in fixed if _key(o) not in keys] + point


def save_hydra_files(job_dir: Path, cfg: DictConfig, overrides: list[str]) -> None:
    """What Hydra keeps in a grid job's .hydra/, without any storage password."""
    folder = Path(job_dir) / ".hydra"
    atomic_write_text(folder / "config.yaml", scrub(OmegaConf.to_yaml(cfg)))
    atomic_write_text(folder / "overrides.yaml",
                      scrub(OmegaConf.to_yaml(OmegaConf.create(list(overrides)))))
