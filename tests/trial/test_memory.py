"""A trial's peak memory: the process's high-water mark, reset when a trial starts, so a
search worker's later trials do not inherit an earlier trial's peak."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from peftsweep.trial import memory


@pytest.mark.skipif(not Path(memory.CLEAR_REFS).exists(), reason="needs Linux's /proc")
def test_the_peak_is_this_trials_not_the_processs():
    assert memory.start(on_gpu=False)  # Linux: the high-water mark can be reset
    big = np.ones(300 * 2**20 // 8)  # 300 MiB, touched
    first = memory.peak(on_gpu=False, reset=True)
    del big
    assert memory.start(on_gpu=False)
    second = memory.peak(on_gpu=False, reset=True)
    assert first["bytes"] - second["bytes"] > 200 * 2**20
    assert first["since"] == "trial start" and first["measure"] == "peak RSS (getrusage)"
    assert memory.peak(on_gpu=False, reset=False)["since"] == "process start"
