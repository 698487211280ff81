"""Where configs come from: the package's own folder, $PEFTSWEEP_CONF, a user's search path."""

from __future__ import annotations

import shutil

import peftsweep
from peftsweep.compose.session import PACKAGE_CONF, compose_config, conf_dir

from helpers import FAST, ROOT


def test_the_configs_ship_inside_the_package(monkeypatch):
    monkeypatch.delenv("PEFTSWEEP_CONF", raising=False)
    package = peftsweep.__file__.rsplit("/", 1)[0]
    assert conf_dir() == PACKAGE_CONF.resolve()
    assert str(conf_dir()).startswith(package)
    assert (conf_dir() / "train.yaml").is_file()
    # The checkout's top-level conf/ is the same folder, not a copy that could drift.
    assert (ROOT / "conf").resolve() == conf_dir()


def test_peftsweep_conf_replaces_the_folder(tmp_path, monkeypatch):
    folder = tmp_path / "conf"
    shutil.copytree(PACKAGE_CONF, folder)
    (folder / "model" / "tiny.yaml").write_text(
        (folder / "model" / "tiny.yaml").read_text().replace("name: tiny", "name: mine"))
    monkeypatch.setenv("PEFTSWEEP_CONF", str(folder))
    assert conf_dir() == folder.resolve()
    assert compose_config([*FAST]).model.name == "mine"


def test_a_users_folder_on_the_search_path_adds_presets(tmp_path, monkeypatch):
    monkeypatch.delenv("PEFTSWEEP_CONF", raising=False)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "my_tiny.yaml").write_text(
        "defaults:\n  - tiny\n  - _self_\nname: my_tiny\n")
    cfg = compose_config([f"hydra.searchpath=[file://{tmp_path}]", "model=my_tiny", *FAST])
    assert cfg.model.name == "my_tiny"
    assert cfg.model.name_or_path == "builtin:demo"
