"""optuna-dashboard on a search sweep's study: find the study, name its objective, serve it.

The sweep folder says where its study lives (``.search/spec.json``: the storage URL, with
any password redacted, and the study's name); the password comes back as it does for the
search's own workers (``study/storage.py``: ``$PEFTSWEEP_STORAGE_PASSWORD`` or the database
client's own means). A study made before objectives were named gets the name of the
sweep's selection metric, so the dashboard's plots say what they show.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from peftsweep.errors import UserError
from peftsweep.spec.layout import SEARCH_SPEC
from peftsweep.spec.results import CorruptResult, iter_result_paths, read_result
from peftsweep.study.storage import open_storage, redact


class SweepStudy(NamedTuple):
    storage_url: str  # redacted: safe to print
    name: str


def sweep_study(sweep_dir: Path) -> SweepStudy:
    """The study of a search sweep; UserError for a folder that is not one."""
    spec_path = Path(sweep_dir) / SEARCH_SPEC
    if not Path(sweep_dir).is_dir():
        raise UserError(f"SWEEP: no such sweep folder: {sweep_dir}")
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"SWEEP: {sweep_dir} is not a search (no {SEARCH_SPEC}); the "
                        "dashboard shows the study of a hydra/sweeper=search sweep") from None
    except (OSError, ValueError) as err:
        raise UserError(f"SWEEP: unreadable {spec_path}: {err}") from None
    return SweepStudy(redact(spec["storage"]), spec["study"])


def objective_name(sweep_dir: Path) -> str | None:
    """``val/<metric>``: the selection metric its trials report; None before any result."""
    for path in iter_result_paths(Path(sweep_dir)):
        try:
            metric = read_result(path).get("metric") or {}
        except CorruptResult:
            continue
        if metric.get("name"):
            return f"val/{metric['name']}"
    return None


def name_objective(storage: Any, study_name: str, name: str | None) -> list[str] | None:
    """Give the study's objective ``name`` unless it has one; returns the names it has."""
    import optuna

    study = optuna.load_study(study_name=study_name, storage=storage)
    if study.metric_names is None and name is not None:
        with warnings.catch_warnings():  # marked experimental since Optuna 3.2; we rely on it
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([name])
    return study.metric_names


def serve(sweep_dir: Path, host: str, port: int, announce=print) -> None:
    """Serve the dashboard of the sweep's study until interrupted (Ctrl-C)."""
    try:
        from optuna_dashboard import run_server  # the search extra
    except ImportError:
        raise UserError("dashboard: needs optuna-dashboard, which is not installed "
                        "(allowed: pip install 'peftsweep[search]')") from None
    found = sweep_study(sweep_dir)
    storage = open_storage(found.storage_url)
    try:
        name_objective(storage, found.name, objective_name(sweep_dir))
    except KeyError:
        raise UserError(f"SWEEP: no study {found.name!r} in {found.storage_url}") from None
    announce(f"peftsweep: dashboard of study {found.name} ({found.storage_url}) at "
             f"http://{host}:{port}/ (Ctrl-C stops it)")
    run_server(storage, host=host, port=port)
