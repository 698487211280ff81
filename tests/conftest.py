"""Shared test setup: offline, a private cache, and small demo trials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Nothing in the tests may reach the network.
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
os.environ.update(OFFLINE)

# Small, fast demo trials (a few seconds each on 2 cores).
FAST = ["data.demo_size=400", "epochs=2", "batch_size=32", "lr=2e-3", "logger=none"]


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
