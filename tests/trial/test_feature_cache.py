"""strategy=head trains on features computed once; the same figures as on the backbone."""

from __future__ import annotations

import pytest

from peftsweep.errors import ConfigError
from peftsweep.models.module import SequenceClassifier
from peftsweep.trial import run as trial_module
from peftsweep.trial.feature_cache import features_count

from helpers import trial_config as config

HEAD = ("strategy=head", "lr=1e-2")


def run_recording(job_dir, *overrides):
    """Run one trial; return its result, its training losses and the modes it trained in."""
    losses, modes = [], set()
    original = SequenceClassifier.training_step

    def recorded(self, batch, batch_idx):
        loss = original(self, batch, batch_idx)
        losses.append(float(loss.detach()))
        modes.add((self.model.base_model.training, self.model.classifier.training))
        return loss

    cfg = config(*overrides)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(SequenceClassifier, "training_step", recorded)
        return cfg, trial_module.run_trial(cfg, job_dir), losses, modes


@pytest.fixture(scope="module")
def cached_and_not(tmp_path_factory, cache_dir):
    before = features_count(cache_dir)
    cached = run_recording(tmp_path_factory.mktemp("on"), *HEAD)
    plain = run_recording(tmp_path_factory.mktemp("off"), *HEAD, "trainer.feature_cache=false")
    return cached, plain, features_count(cache_dir) - before


def test_head_on_cached_features_gives_the_figures_of_the_backbone(cached_and_not):
    (cfg, cached, cached_losses, _), (plain_cfg, plain, plain_losses, _), _ = cached_and_not
    assert cached["status"] == plain["status"] == "ok"
    assert cfg.identity() == plain_cfg.identity()  # the cache is not science
    assert len(cached_losses) == len(plain_losses) == cached["optimizer_steps"]
    assert max(abs(a - b) for a, b in zip(cached_losses, plain_losses, strict=True)) < 1e-4
    assert [e["validation/accuracy"] for e in cached["history"]] == \
        [e["validation/accuracy"] for e in plain["history"]]
    assert cached["test"] == plain["test"]
    assert cached["test_examples"] == plain["test_examples"]
    assert cached["params"] == plain["params"]
    assert cached["features"]["computed"] and "features" not in plain


def test_the_frozen_encoder_trains_in_eval_mode_and_the_head_in_train_mode(cached_and_not):
    (_, _, _, cached_modes), (_, _, _, plain_modes), _ = cached_and_not
    assert cached_modes == plain_modes == {(False, True)}


def test_features_are_computed_once_and_recomputed_when_their_inputs_change(
        cached_and_not, tmp_path, cache_dir):
    _, _, computed = cached_and_not
    assert computed == 1
    before = features_count(cache_dir)
    again = run_recording(tmp_path / "lr", "strategy=head", "lr=3e-3")[1]
    assert again["status"] == "ok" and again["features"]["computed"] is False
    assert features_count(cache_dir) == before  # another lr: the same features
    shorter = run_recording(tmp_path / "len", *HEAD, "data.max_length=8")[1]
    other_seed = run_recording(tmp_path / "seed", *HEAD, "seed=2")[1]
    # A new max_length, or another random init of the backbone: new features.
    assert shorter["features"]["computed"] and other_seed["features"]["computed"]
    assert len({again["features"]["key"], shorter["features"]["key"],
                other_seed["features"]["key"]}) == 3
    assert features_count(cache_dir) == before + 2


def test_backbone_dropout_keeps_the_encoder_in_train_mode_without_features(tmp_path):
    _, result, _, modes = run_recording(tmp_path, *HEAD,
                                        "strategy.backbone_dropout=true")
    assert result["status"] == "ok" and "features" not in result
    assert modes == {(True, True)}


def test_model_dropout_is_checked_and_joins_the_identity_only_when_set():
    assert "dropout" not in config().science()["model"]
    assert config("model.dropout=0").science()["model"]["dropout"] == 0
    assert config("model.dropout=0").identity() != config().identity()
    with pytest.raises(ConfigError, match=r"^model.dropout: "):
        config("model.dropout=1.0")
