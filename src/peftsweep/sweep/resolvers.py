"""The Hydra resolvers that name a sweep's folder and each job's folder, and the job folder
of a composed config (a search point's).

``${peftsweep_sweep_dir:...}`` is cached, so every job of one sweep (in this process or,
through the pickled config, on a Slurm node) sees the same sweep folder;
``${peftsweep_trial:}`` validates the job's config and names its folder by the rule of
:mod:`.naming`. ``${peftsweep_console_level:${verbose}}`` and
``${peftsweep_warning_handlers:${verbose}}`` keep the terminal to progress lines unless
``verbose=true``.
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


def console_level(verbose: bool) -> str:
    """The terminal shows warnings only unless ``verbose=true``; the job's log has it all."""
    return "INFO" if verbose else "WARNING"


def warning_handlers(verbose: bool) -> list[str]:
    """Python warnings (the libraries') go to the job's log, and to the terminal if verbose."""
    return ["console", "file"] if verbose else ["file"]


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("peftsweep_sweep_dir", new_sweep_dir, use_cache=True,
                                    replace=True)
    OmegaConf.register_new_resolver("peftsweep_trial", _trial_resolver, replace=True)
    OmegaConf.register_new_resolver("peftsweep_console_level", console_level, replace=True)
    OmegaConf.register_new_resolver("peftsweep_warning_handlers", warning_handlers,
                                    replace=True)
