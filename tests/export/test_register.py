"""`peftsweep export --register`: the export in MLflow's model registry with its evidence."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from peftsweep.cli import export as cli
from peftsweep.export.loading import load_export
from peftsweep.export.predict import predict_frame
from peftsweep.report import bootstrap

from helpers import one_line_error


def test_register_puts_the_export_in_mlflows_registry_with_its_evidence(sweep, tmp_path,
                                                                         capsys, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # a SQLite registry keeps its artifacts in ./mlruns
    import mlflow
    from mlflow.tracking import MlflowClient

    sweep_dir, data, jobs = sweep
    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    out = tmp_path / "registered"
    assert cli.main([str(sweep_dir), "--trial", "lora", "--out", str(out),
                     "--register", "sentiment", "--tracking-uri", uri]) == 0
    assert "registered models:/sentiment/1" in capsys.readouterr().err
    version = MlflowClient(uri).get_model_version("sentiment", "1")
    tags, result = version.tags, jobs["lora"][1]
    assert tags["peftsweep.identity"] == result["identity"]
    assert tags["peftsweep.selection.metric"] == "accuracy"
    assert float(tags["peftsweep.selection.test_mean"]) == result["test"]["accuracy"]
    assert tags["peftsweep.selection.test"] == bootstrap.TEST_NAME  # as the report compares
    assert tags["peftsweep.selection.runner_up"].startswith("tiny/files/")
    # The registered model is the export: MLflow's pyfunc gives the same labels.
    (folder,) = out.iterdir()
    texts = [row["text"] for row in csv.DictReader(open(data / "test.csv"))][:8]
    mlflow.set_tracking_uri(uri)
    served = mlflow.pyfunc.load_model("models:/sentiment/1").predict(texts)
    ours = predict_frame(load_export(Path(folder), "cpu"), pd.DataFrame({"text": texts}))
    assert list(served["label"]) == list(ours["predicted_label"])


def test_register_takes_one_plain_or_in_place_export(sweep, tmp_path, capsys, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # a SQLite registry keeps its artifacts in ./mlruns
    sweep_dir, _, _ = sweep
    capsys.readouterr()
    out = tmp_path / "several"
    one_line_error(capsys, cli.main([str(sweep_dir), "--out", str(out), "--register", "m",
                                     "--tracking-uri", f"sqlite:///{tmp_path / 'r.db'}"]),
                   "--register: the selection has 5 setups")
    assert not out.exists()  # refused before anything was written
    one_line_error(capsys, cli.main([str(sweep_dir), "--trial", "prefix", "--out",
                                     str(tmp_path / "p"), "--register", "m", "--tracking-uri",
                                     f"sqlite:///{tmp_path / 'r.db'}"]), "prefix-tuning")
