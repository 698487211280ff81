"""Early stopping on a plain trial: trainer.early_stopping_patience, recorded in result.json."""

from __future__ import annotations

import pytest

from peftsweep.errors import ConfigError
from peftsweep.spec.results import read_result
from peftsweep.trial import run as trial_module

from helpers import trial_config as config


def test_a_stalled_trial_stops_after_its_patience(cache_dir, tmp_path):
    # lr=1e-6 does not move the validation accuracy: the second validation is no better.
    cfg = config("epochs=4", "lr=1e-6", "trainer.early_stopping_patience=1")
    result = trial_module.run_trial(cfg, tmp_path)
    assert result["status"] == "ok", result["error"]
    assert len(result["history"]) == 2
    assert result["stopped_early_at"] == {"step": result["history"][-1]["step"], "epoch": 1}
    assert read_result(tmp_path / "result.json")["stopped_early_at"] == result["stopped_early_at"]


def test_patience_off_keeps_identities_and_must_be_positive(cache_dir):
    assert "early_stopping_patience" not in config().science()["trainer"]
    assert config().identity() != config("trainer.early_stopping_patience=2").identity()
    with pytest.raises(ConfigError, match="trainer.early_stopping_patience"):
        config("trainer.early_stopping_patience=0")
