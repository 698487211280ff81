"""Check a search before its first trial, as preflight.py checks a grid.

The settings and the space are parsed; every choice and both bounds of every range are
composed and validated once (so a key that does not exist fails now, not in trial 17);
an explicit storage URL is connected to. Any problem: one line, exit 2, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from peftsweep.compose.session import compose_task, hydra_session
from peftsweep.compose.validate import validate
from peftsweep.errors import ConfigError, UserError
from peftsweep.spec.config import TrialConfig
from peftsweep.spec.search import SearchSettings, parse_settings
from peftsweep.study.space import Param, edge_assignments, parse_space, to_overrides
from peftsweep.study.storage import check_reachable, take_password
from peftsweep.sweep.preflight import check_models_and_data
from peftsweep.sweep.search.trial_config import merge

SWEEPER_OVERRIDE = "hydra/sweeper=search"


def search_requested(overrides: list[str]) -> bool:
    return SWEEPER_OVERRIDE in [o.replace(" ", "") for o in overrides]


@dataclass(frozen=True)
class CheckedSearch:
    configs: list[TrialConfig]  # one per edge point of the space, validated
    settings: SearchSettings
    params: list[Param]
    dry_run: bool
    resume: str | None


def check_search(overrides: list[str], conf_dir: Path) -> CheckedSearch:
    """The checked search with validated configs at the edges of the space; raises
    UserError."""
    swept = [o.input_line for o in OverridesParser.create().parse_overrides(overrides)
             if o.is_sweep_override()]
    if swept:
        raise ConfigError(swept[0].split("=", 1)[0], "a search takes fixed values on the "
                          "command line; declare ranges and choices in search.space")
    task = [o for o in overrides if not o.startswith("hydra")]
    base = _compose(conf_dir, task)
    raw = OmegaConf.select(base, "search")
    settings = parse_settings(OmegaConf.to_container(raw, resolve=True) if raw else None)
    params = parse_space(settings.space)
    if settings.storage:
        check_reachable(take_password(settings.storage))
    configs = []
    for values in edge_assignments(params):
        point = to_overrides(values)
        try:
            configs.append(validate(_compose(conf_dir, merge(task, point))))
        except UserError as err:
            raise UserError(f"search.space at {' '.join(point)}: {err}") from err
    check_models_and_data(configs)
    return CheckedSearch(configs, settings, params, bool(base.get("dry_run")),
                         base.get("resume"))


def _compose(conf_dir: Path, overrides: list[str]):
    with hydra_session(conf_dir, overrides):  # Hydra's errors leave as one line
        return compose_task(str(conf_dir), overrides)
