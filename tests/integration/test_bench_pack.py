"""`make bench-gpu-pack`'s commands, run small on the CPU: every sweep of the seeds' grid
composes, trains, and its packed runs pack every trial (IA3 included)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import OFFLINE, ROOT


def _write_imdb(folder, rows: int = 120) -> None:
    folder.mkdir()
    words = ("a fine film", "dull and slow", "great acting", "a waste of time")
    for split in ("train", "test"):
        lines = [json.dumps({"text": f"{words[i % 4]} number {i}", "label": int(i % 4 in (0, 2))})
                 for i in range(rows)]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.integration
def test_the_gpu_pack_benchmark_runs_its_grid_on_a_cpu(tmp_path, cache_dir):
    _write_imdb(tmp_path / "imdb")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "pack.py"), "--grid", "gpu", "--smoke",
         "--packs", "5", "--imdb", str(tmp_path / "imdb"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
        env={**os.environ, **OFFLINE, "PEFTSWEEP_CACHE": str(cache_dir)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {row["name"]: row for row in map(json.loads, proc.stdout.splitlines())}
    assert list(rows) == ["alone", "two_per_gpu", "packed5"]
    for row in rows.values():  # 5 strategies x 1 learning rate, every one trained
        assert row["rc"] == 0 and row["trials"] == row["ok"] == 5, row
        assert row["peak_rss_mb"] > 0 and row["speedup"] > 0
    assert rows["alone"]["packed"] == rows["two_per_gpu"]["packed"] == 0
    assert rows["packed5"]["packed"] == 5
