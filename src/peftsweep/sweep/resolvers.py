"""The Hydra resolvers that name a sweep's folder and each job's folder, and the job folder
of a composed config (a search point's).

``${peftsweep_sweep_dir:...}`` is cached, so every job of one sweep (in this process or,
through the pickled config, on a Slurm node) sees the same sweep folder;
``${peftsweep_trial:}`` validates the job's config and names its folder by the rule of
:mod:`.naming`.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from peftsweep.compose.validate import validate
from peftsweep.sweep.naming import new_sweep_dir, trial_folder_name


def job_folder(sweep_dir: Path, task_cfg: DictConfig) -> Path:
    """The job folder of a composed task config (no ``hydra`` node needed)."""
    return Path(sweep_dir) / _folder_of(task_cfg)


def _folder_of(root: DictConfig) -> str:
    science = {key: root[key] for key in root if key != "hydra"}
    cfg = validate(OmegaConf.to_container(OmegaConf.create(science), resolve=True))
    return trial_folder_name(cfg)


def _trial_resolver(*, _root_: DictConfig) -> str:
    return _folder_of(_root_)


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("peftsweep_sweep_dir", new_sweep_dir, use_cache=True,
                                    replace=True)
    OmegaConf.register_new_resolver("peftsweep_trial", _trial_resolver, replace=True)
