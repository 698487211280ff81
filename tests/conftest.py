"""Shared fixtures: a private cache, train.py in a subprocess, an RTE-shaped folder.

Constants and helper functions live in helpers.py; test modules import them from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import OFFLINE, ROOT, TEST_PRESET, write_rte


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cache")
    os.environ["PEFTSWEEP_CACHE"] = str(path)
    return path


@pytest.fixture
def run_train(cache_dir):
    """Run train.py in a subprocess; returns the CompletedProcess."""

    def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        env = {**os.environ, **OFFLINE, "PEFTSWEEP_CACHE": str(cache_dir)}
        return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def rte_dir(tmp_path) -> Path:
    """A small RTE-shaped folder: train.tsv and validation.tsv with GLUE's columns."""
    return write_rte(tmp_path / "rte")


@pytest.fixture
def search_conf(tmp_path, monkeypatch) -> Path:
    """conf/ plus the test preset; train.py and its workers read it through PEFTSWEEP_CONF."""
    folder = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", folder)
    (folder / "search" / "test.yaml").write_text(TEST_PRESET)
    monkeypatch.setenv("PEFTSWEEP_CONF", str(folder))
    return folder
