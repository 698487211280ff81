"""Put an exported model into MLflow's model registry, with the evidence it was chosen on.

The export folder is logged as an MLflow pyfunc model whose artifact is the folder as it
is and whose code (:mod:`.mlflow_pipeline`, stored with the model) is the export's one-line
``pipeline("text-classification", model=<export>)``: ``mlflow.pyfunc.load_model(
"models:/NAME/N").predict(texts)`` gives labels and scores with no peftsweep installed.
It goes into the trial's own MLflow run when the trial logged to the same store
(``logger=mlflow``), else into a new run named after the export. The model version
carries as tags the report's evidence: the selection metric, its mean over seeds and
interval, and the paired test against the runner-up (``export/evidence.py``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from peftsweep.errors import UserError
from peftsweep.export.format import read_metadata
from peftsweep.trial.mlflow_runs import RUN_FILE, client, local_store_uri

TAG_PREFIX = "peftsweep."
REQUIREMENTS = ("torch", "transformers", "peft", "safetensors", "mlflow", "pandas")
PIPELINE_CODE = "mlflow_pipeline.py"  # stored with the model; never imported here


def check_registry_available() -> None:
    if importlib.util.find_spec("mlflow") is None:
        raise UserError("--register: needs the mlflow package, which is not installed "
                        "(allowed: pip install 'peftsweep[mlflow]')")


def tracking_uri(meta: dict[str, Any], sweep_dir: Path, given: str | None) -> str:
    """--tracking-uri, else the trial's own MLflow server, else the sweep's local store."""
    mlflow_cfg = (meta["trial"]["config"].get("logger") or {}).get("mlflow") or {}
    return given or mlflow_cfg.get("tracking_uri") or local_store_uri(sweep_dir)


def evidence_tags(meta: dict[str, Any], folder: Path) -> dict[str, str]:
    trial = meta["trial"]
    tags = {"identity": trial["identity"], "export": str(Path(folder).resolve()),
            **{key: trial["science"][key] for key in ("model", "data", "strategy", "lr",
                                                       "batch_size", "seed")},
            **{f"test_{name}": value for name, value in trial["test"].items()},
            **{f"selection.{key}": value for key, value in (meta.get("evidence") or {}).items()}}
    return {f"{TAG_PREFIX}{key}": "" if value is None else str(value)
            for key, value in tags.items()}


def _trial_run(job_dir: Path, uri: str) -> str | None:
    try:
        record = json.loads((Path(job_dir) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record.get("run_id") if record.get("tracking_uri") == uri else None


def _experiment(meta: dict[str, Any]) -> str:
    config = meta["trial"]["config"]
    mlflow_cfg = (config.get("logger") or {}).get("mlflow") or {}
    return mlflow_cfg.get("experiment_name") or "peftsweep"


def register_export(folder: Path, name: str, sweep_dir: Path,
                    uri: str | None = None) -> dict[str, Any]:
    """Log the export in ``folder`` to MLflow and register it as a new version of ``name``."""
    check_registry_available()
    meta = read_metadata(folder)
    if meta.get("peft_type") == "PREFIX_TUNING":
        raise UserError("--register: a prefix-tuning export loads only through PEFT with a "
                        "shim, which MLflow's transformers flavor cannot load (allowed: "
                        "plain, LoRA, IA3 or merged exports)")
    uri = tracking_uri(meta, sweep_dir, uri)
    client(uri)  # MLflow's logs through ours, telemetry off
    import mlflow  # the optional extra: peftsweep[mlflow]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    run_id = _trial_run(Path(meta["trial"]["job_dir"]), uri)
    if run_id is None:
        mlflow.set_experiment(_experiment(meta))
    requirements = [f"{package}=={metadata.version(package)}" for package in REQUIREMENTS]
    # MLflow's progress bars, hints and "Successfully registered" prints: our one line
    # below says what happened (its errors still raise).
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore", UserWarning)  # "add type hints to predict"
        with mlflow.start_run(run_id=run_id,
                              run_name=None if run_id else f"export {folder.name}"):
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(Path(__file__).with_name(PIPELINE_CODE)),
                artifacts={"export": str(folder)}, pip_requirements=requirements)
            run_id = mlflow.active_run().info.run_id
        version = mlflow.register_model(info.model_uri, name,
                                        tags=evidence_tags(meta, folder))
    return {"name": name, "version": version.version, "run_id": run_id,
            "model_uri": f"models:/{name}/{version.version}", "tracking_uri": uri}
