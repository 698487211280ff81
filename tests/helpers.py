"""What several test modules share: paths, offline settings, small trials, tiny data files.

Test modules import from here (or use the fixtures in conftest.py), never from
each other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
# Nothing in the tests may reach the network.
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
os.environ.update(OFFLINE)

# Small, fast demo trials (a few seconds each on 2 cores).
FAST = ["data.demo_size=400", "epochs=2", "batch_size=32", "lr=2e-3", "logger=none"]

RTE_HEADER = ("index", "sentence1", "sentence2", "label")
RTE_ROWS = [("A man is playing a guitar.", "A man plays music.", "entailment"),
            ("The cat sleeps.", "The dog barks loudly.", "not_entailment"),
            ("It rained all day.", "The ground is wet.", "entailment"),
            ("She bought a car.", "She owns nothing.", "not_entailment")]


def trial_config(*overrides: str):
    """One validated demo trial config: FAST plus ``overrides``."""
    from peftsweep.preflight import check_sweep

    return check_sweep([*FAST, *overrides], multirun=False, conf_dir=CONF)[0]


def write_tsv(path: Path, header, rows) -> Path:
    lines = ["\t".join(header)] + ["\t".join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_rte(folder: Path) -> Path:
    """An RTE-shaped folder (train.tsv, validation.tsv), as GLUE's files are laid out."""
    folder.mkdir(parents=True, exist_ok=True)
    write_tsv(folder / "train.tsv", RTE_HEADER, [(i, *r) for i, r in enumerate(RTE_ROWS * 5)])
    write_tsv(folder / "validation.tsv", RTE_HEADER, [(i, *r) for i, r in enumerate(RTE_ROWS)])
    return folder
