"""Check a search before its first trial, as preflight.py checks a grid.

The settings and the space are parsed; every choice and both bounds of every range are
composed and validated once (so a key that does not exist fails now, not in trial 17);
an explicit storage URL is connected to; a resume is compared with the study it continues
(resume_check.py) and warm-start folders are read (warm_start.py). Any problem: one line,
exit 2, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from peftsweep.compose.overrides import sweep_keys
from peftsweep.compose.session import compose_task, hydra_session
from peftsweep.compose.validate import validate
from peftsweep.errors import ConfigError, UserError
from peftsweep.spec.config import TrialConfig, task_spec
from peftsweep.spec.search import SearchSettings, parse_settings
from peftsweep.study.matching import Reference, build_reference
from peftsweep.study.samplers import check_sampler
from peftsweep.study.space import Param, edge_assignments, parse_space, to_overrides
from peftsweep.study.storage import check_reachable, take_password
from peftsweep.sweep.preflight import check_models_and_data
from peftsweep.sweep.search.resume_check import check_resume
from peftsweep.sweep.search.trial_config import merge
from peftsweep.sweep.search.warm_start import Handover, check_folders, gather

SWEEPER_OVERRIDE = "hydra/sweeper=search"
WARM_START = "search.warm_start="


def search_requested(overrides: list[str]) -> bool:
    return SWEEPER_OVERRIDE in [o.replace(" ", "") for o in overrides]


def normalize_overrides(argv: list[str]) -> list[str]:
    """``search.warm_start=a,b`` as the list ``['a','b']``: Hydra would read the comma as a
    sweep over two values."""
    out = []
    for arg in argv:
        key, _, value = arg.partition("=")
        if f"{key.lstrip('+')}=" == WARM_START and "," in value and not value.startswith("["):
            quoted = ",".join(f"'{part.strip()}'" for part in value.split(","))
            arg = f"{key}=[{quoted}]"
        out.append(arg)
    return out


@dataclass(frozen=True)
class CheckedSearch:
    configs: list[TrialConfig]  # one per edge point of the space, validated
    settings: SearchSettings
    params: list[Param]
    dry_run: bool
    resume: str | None
    reference: Reference
    warm_start: Handover | None = None


def check_search(overrides: list[str], conf_dir: Path) -> CheckedSearch:
    """The checked search with validated configs at the edges of the space; raises
    UserError."""
    with hydra_session(conf_dir, overrides):  # an override Hydra cannot parse: one line
        swept = sweep_keys(overrides)
    if swept:
        raise ConfigError(swept[0].split("=", 1)[0], "a search takes fixed values on the "
                          "command line; declare ranges and choices in search.space")
    task = [o for o in overrides if not o.startswith("hydra")]
    base = _compose(conf_dir, task)
    raw = OmegaConf.select(base, "search")
    settings = parse_settings(OmegaConf.to_container(raw, resolve=True) if raw else None)
    params = parse_space(settings.space)
    _check_settings_against_space(settings, params)
    warm_folders = check_folders(settings.warm_start_folders())
    if settings.storage:
        check_reachable(take_password(settings.storage))
    edges, configs = compose_edges(conf_dir, task, params)
    check_models_and_data(configs)
    reference = reference_of(params, edges, configs)
    resume = base.get("resume")
    if resume and Path(resume).is_dir():
        check_resume(Path(resume), settings, params, reference)
    handover = gather(warm_folders, params, reference, settings,
                      own=Path(resume) if resume else None) if warm_folders else None
    return CheckedSearch(configs, settings, params, bool(base.get("dry_run")), resume,
                         reference, handover)


def _check_settings_against_space(settings: SearchSettings, params: list[Param]) -> None:
    check_sampler(settings, params)
    if settings.confirm.top_k and any(p.name == "seed" for p in params):
        raise ConfigError("search.confirm.top_k", "the space searches seed, and confirmation "
                          "re-runs a configuration at other seeds", "0, or seed out of the space")


def compose_edges(conf_dir: Path, task: list[str],
                  params: list[Param]) -> tuple[list[dict], list[TrialConfig]]:
    """The edge points of the space and their validated configs."""
    edges, configs = edge_assignments(params), []
    for values in edges:
        point = to_overrides(values)
        try:
            configs.append(validate(_compose(conf_dir, merge(task, point))))
        except UserError as err:
            raise UserError(f"search.space at {' '.join(point)}: {err}") from err
    return edges, configs


def reference_of(params: list[Param], edges: list[dict],
                 configs: list[TrialConfig]) -> Reference:
    return build_reference(params, edges, configs, task_spec(configs[0].data).main_metric)


def _compose(conf_dir: Path, overrides: list[str]):
    if GlobalHydra.instance().is_initialized():  # the sweeper, inside the running Hydra app
        return compose_task(str(conf_dir), overrides)
    with hydra_session(conf_dir, overrides):  # Hydra's errors leave as one line
        return compose_task(str(conf_dir), overrides)
