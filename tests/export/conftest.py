"""The trials every export test reads: one per strategy on an easy task, and their exports
(made once for the package: training them is the slow part)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from peftsweep.cli import export as cli
from peftsweep.spec import demo_task as demo
from peftsweep.sweep.launch import CONF_DIR
from peftsweep.sweep.preflight import check_sweep
from peftsweep.trial.run import run_trial

from helpers import EXPORT_STRATEGIES as STRATEGIES
from helpers import PEFT_PRESETS

# Short trials that still learn the easy task below (full and LoRA: ~all but the noise).
SETTINGS = ["epochs=2", "batch_size=16", "lr=1e-2", "logger=none", "data=files",
            "data.task=demo", "data.selection=validation", "data.test_on=test",
            "data.max_length=32"]


def write_easy_task(folder: Path) -> Path:
    """Sentiment without negation ('the plot was dull'): a tiny model learns it at once.

    Some test labels are flipped, so the test accuracy of a model that learned it is
    neither 0.5 nor 1 and matching it means matching predictions."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, size, seed in (("train", 480, 1), ("validation", 64, 2), ("test", 64, 3)):
        rng = random.Random(seed)
        with open(folder / f"{split}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            for _ in range(size):
                positive = rng.random() < 0.5
                adjective = rng.choice(demo.POSITIVE if positive else demo.NEGATIVE)
                # Some wrong test labels, so that accuracy is not simply 1.
                label = positive != (split == "test" and rng.random() < 0.15)
                writer.writerow([f"{rng.choice(demo.SUBJECTS)} was {adjective}",
                                 "positive" if label else "negative"])
    return folder


def trial(sweep: Path, name: str, *overrides: str) -> tuple[Path, dict]:
    cfg = check_sweep(list(overrides), multirun=False, conf_dir=CONF_DIR)[0]
    result = run_trial(cfg, sweep / name)
    assert result["status"] == "ok", result["error"]
    return sweep / name, result


@pytest.fixture(scope="package")
def sweep(tmp_path_factory, cache_dir):
    root = tmp_path_factory.mktemp("export")
    data = write_easy_task(root / "data")
    folder = root / "sweep"
    jobs = {name: trial(folder, name, *SETTINGS, f"data.data_dir={data}", f"strategy={name}")
            for name in STRATEGIES}
    return folder, data, jobs


def export(sweep_dir: Path, name: str, out: Path, *flags: str) -> Path:
    assert cli.main([str(sweep_dir), "--trial", name, "--out", str(out), *flags]) == 0
    (folder,) = [p for p in out.iterdir() if name in p.name]
    return folder


@pytest.fixture(scope="package")
def exports(sweep, tmp_path_factory):
    sweep_dir, _, _ = sweep
    out = tmp_path_factory.mktemp("exports")
    return {name: export(sweep_dir, name, out, *(["--merge"] if name in ("lora", "ia3") else []))
            for name in STRATEGIES}


@pytest.fixture(scope="package")
def method_exports(sweep, tmp_path_factory):
    """Every PEFT preset trained one epoch on the easy task and exported (merged where PEFT
    merges): name -> (job folder, result, export folder)."""
    _, data, _ = sweep
    root = tmp_path_factory.mktemp("methods")
    trained = {}
    for name, overrides in PEFT_PRESETS.items():
        job_dir, result = trial(root / "sweep", name, *SETTINGS, "epochs=1",
                                f"data.data_dir={data}", *overrides)
        merge = [] if name in ("prompt_tuning", "p_tuning") else ["--merge"]
        trained[name] = (job_dir, result, export(root / "sweep", name, root / "out", *merge))
    return trained
