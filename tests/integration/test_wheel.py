"""A real package: the wheel built from the checkout, installed in a fresh virtual
environment, runs a demo trial from a folder outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from helpers import OFFLINE, ROOT

pytestmark = pytest.mark.integration


def _run(argv: list, cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    out = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-3000:])
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", out, ROOT], cwd=out, env=dict(os.environ))
    (found,) = out.glob("peftsweep-*.whl")
    return found


def test_the_wheel_carries_the_configs_and_the_plugins(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "peftsweep/conf/train.yaml" in names
    assert "peftsweep/conf/model/minilm.yaml" in names
    assert "peftsweep/conf/hydra/sweeper/grid.yaml" in names
    assert "peftsweep/report/templates/index.html.j2" in names
    assert "hydra_plugins/peftsweep_grid/grid_sweeper.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "peftsweep = peftsweep.cli:main" in scripts


def test_an_installed_wheel_trains_from_any_folder(wheel, tmp_path, cache_dir):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     tmp_path, dict(os.environ)).stdout.strip())
    # The dependencies come from this environment; peftsweep only from the wheel (a path
    # added by a .pth file is not searched for .pth files, so the checkout's editable
    # install stays out).
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel],
         tmp_path, dict(os.environ))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("PEFTSWEEP_CONF", "PYTHONPATH")}
    env.update(OFFLINE, PEFTSWEEP_CACHE=str(cache_dir))
    where = _run([python, "-c", "import peftsweep; print(peftsweep.__file__)"], elsewhere, env)
    assert where.stdout.strip().startswith(str(site))
    trial = elsewhere / "trial"
    _run([env_dir / "bin" / "peftsweep", "train", "experiment=demo", "data.demo_size=200",
          "epochs=1", "logger=none", f"resume={trial}"], elsewhere, env)
    (result,) = trial.glob("**/result.json")
    payload = json.loads(result.read_text())
    assert payload["status"] == "ok"
    assert payload["versions"]["peftsweep"]
