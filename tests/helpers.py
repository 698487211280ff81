"""What several test modules share: paths, offline settings, small trials, tiny data files,
and hand-made result files for the report tests.

Test modules import from here (or use the fixtures in conftest.py), never from
each other.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from peftsweep.spec.results import write_result

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
# Nothing in the tests may reach the network.
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
os.environ.update(OFFLINE)

# A tiny random architecture per model family: parameter counts and strategies on each.
SMALL_ARCHS = {
    "bert": {"vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 24},
    "roberta": {"vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 2,
                "num_attention_heads": 2, "intermediate_size": 32,
                "max_position_embeddings": 26, "type_vocab_size": 1, "pad_token_id": 1},
    "distilbert": {"vocab_size": 100, "dim": 16, "n_layers": 2, "n_heads": 2,
                   "hidden_dim": 32, "max_position_embeddings": 24},
    # DeBERTa-v3 style: relative position buckets, no absolute positions, no token types.
    "deberta-v2": {"vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 2,
                   "num_attention_heads": 2, "intermediate_size": 32,
                   "max_position_embeddings": 24, "type_vocab_size": 0,
                   "relative_attention": True, "position_buckets": 8,
                   "norm_rel_ebd": "layer_norm", "share_att_key": True,
                   "pos_att_type": ["p2c", "c2p"], "position_biased_input": False},
    # ELECTRA-small style: embeddings narrower than the hidden size, projected.
    "electra": {"vocab_size": 100, "embedding_size": 8, "hidden_size": 16,
                "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32,
                "max_position_embeddings": 24},
}

# Small, fast demo trials (a few seconds each on 2 cores).
FAST = ["data.demo_size=400", "epochs=2", "batch_size=32", "lr=2e-3", "logger=none"]

RTE_HEADER = ("index", "sentence1", "sentence2", "label")
RTE_ROWS = [("A man is playing a guitar.", "A man plays music.", "entailment"),
            ("The cat sleeps.", "The dog barks loudly.", "not_entailment"),
            ("It rained all day.", "The ground is wet.", "entailment"),
            ("She bought a car.", "She owns nothing.", "not_entailment")]


def trial_config(*overrides: str):
    """One validated demo trial config: FAST plus ``overrides``."""
    from peftsweep.sweep.preflight import check_sweep

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


# ---- Result files for the report tests: a small grid whose right answers are known ----

TINY_TOTAL = 4_386_178
# Validation accuracy per (strategy, lr, batch size): (seed 1, seed 2).
VAL = {
    ("full", 1e-4, 8): (0.80, 0.82),  # mean 0.81
    ("full", 1e-4, 16): (0.85, 0.87),  # mean 0.86  <- best for full
    ("full", 3e-4, 8): (0.84, 0.86),  # mean 0.85
    ("full", 3e-4, 16): (0.70, 0.72),  # mean 0.71
    ("bitfit", 1e-4, 8): (0.60, 0.62),  # mean 0.61
    ("bitfit", 1e-4, 16): (0.58, 0.60),  # mean 0.59
    ("bitfit", 3e-4, 8): (0.70, 0.74),  # mean 0.72  <- best for bitfit
    ("bitfit", 3e-4, 16): (0.69, 0.71),  # mean 0.70
}
BEST_STEP = {1: 120, 2: 80}


def make_result(strategy, lr, bs, seed, *, val=None, test=None, data="demo", model="tiny",
                pretrained=True, metric="accuracy", mode="max", status="ok", error=None,
                failed_step=None, extra_test=None, trainable=None, history=True,
                finished_at="2026-11-27T10:00:00+00:00"):
    """A schema-complete result dict, as a trial would hand it to write_result."""
    science = {"model": model, "data": data, "strategy": strategy, "lr": lr, "batch_size": bs,
               "seed": seed, "epochs": 3, "pretrained": pretrained}
    identity = hashlib.sha256(json.dumps(science, sort_keys=True).encode()).hexdigest()[:16]
    trainable = trainable or (TINY_TOTAL if strategy == "full" else 3074)
    best_step = BEST_STEP.get(seed, 120)
    curve = []
    if history and val is not None:
        curve = [{"step": step, "epoch": step // 40 - 1,
                  f"validation/{metric}": val if step == best_step else val - 0.05,
                  "validation/loss": 0.5}
                 for step in (40, 80, 120, 160)]
    ok = status == "ok"
    return {
        "identity": identity, "status": status, "error": error, "failed_step": failed_step,
        "science": science,
        "config": {"model": {"name": model, "pretrained": pretrained}, "data": {"name": data},
                   "strategy": {"name": strategy}, "lr": lr, "batch_size": bs, "seed": seed,
                   "epochs": 3, "trainer": {"max_epochs": 3, "precision": "32-true"}},
        "metric": {"name": metric, "mode": mode},
        "best": {"step": best_step, "epoch": best_step // 40 - 1,
                 "validation": {metric: val, "loss": 0.5}} if ok else None,
        "test": {metric: test, **(extra_test or {})} if ok else None,
        "test_split": "test",
        "history": curve,
        "params": {"trainable": trainable, "total": TINY_TOTAL,
                   "trainable_percent": 100 * trainable / TINY_TOTAL} if ok else None,
        "timing": {"wall_s": 12.0, "setup_s": 1.0, "train_s": 9.0, "eval_s": 1.0,
                   "train_samples_per_s": 500.0},
        "runtime": {"device": "cpu", "precision": "32-true"},
        "versions": {"torch": "2.13.0"},
        "finished_at": finished_at,
    }


def grid_results() -> list[dict]:
    results = []
    for (strategy, lr, bs), vals in VAL.items():
        for seed, val in zip((1, 2), vals, strict=True):
            test = round(val - (0.02 if seed == 1 else 0.01), 4)
            extra = {"validation_mismatched/accuracy": round(test + 0.01, 4)}
            results.append(make_result(strategy, lr, bs, seed, val=val, test=test,
                                       extra_test=extra if strategy == "bitfit" else None))
    # Randomly initialised full fine-tuning, a single lr x bs (a 1x1 grid).
    for seed, val, test in ((1, 0.62, 0.654), (2, 0.65, 0.667)):
        results.append(make_result("full", 1e-4, 16, seed, val=val, test=test, pretrained=False))
    # Another data set, selected on MCC, one seed only.
    results.append(make_result("lora", 5e-4, 32, 1, val=0.31, test=0.28, data="cola",
                               metric="mcc", trainable=1234))
    results.append(make_result("full", 1e-3, 8, 1, status="failed",
                               error="CUDA out of memory", failed_step=17))
    results.append(make_result("full", 1e-3, 16, 1, status="diverged",
                               error="loss is nan", failed_step=5))
    return results


def write_sweep(root: Path, results: list[dict], prefix: str = "job") -> Path:
    for index, result in enumerate(results):
        write_result(root / f"{prefix}{index:03d}", result)
    return root


# ---- searches (test_search*.py) ----

# A learning rate that learns and two that do not: with this seed the first two trials finish
# (one of each), the third (a low one) is behind after one validation and is pruned.
TEST_PRESET = """\
defaults:
  - _schema
  - _self_
sampler: random
seed: 1
pruner: median
pruner_startup_trials: 1
pruner_warmup: 0
heartbeat_s: 1
space:
  lr: {type: categorical, choices: [0.003, 1.0e-06, 2.0e-06]}
"""
SEARCH = ["-m", "hydra/sweeper=search", "search=test", *FAST]


def one_line_error(capsys, code: int, fragment: str) -> None:
    """Exit 2 and exactly one stderr line, peftsweep's error format, naming ``fragment``."""
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("peftsweep: error: "), err
    assert fragment in err[0], err[0]


# The strategies tests/export trains once each (conftest.py) and exports.
EXPORT_STRATEGIES = ("full", "bitfit", "lora", "ia3", "prefix")
# Every PEFT preset (and OFT through strategy=peft), as tests/export trains and exports them.
PEFT_PRESETS = {"dora": ["strategy=dora"], "rslora": ["strategy=rslora"],
                "adalora": ["strategy=adalora"], "loha": ["strategy=loha"],
                "lokr": ["strategy=lokr"], "vera": ["strategy=vera"],
                "prompt_tuning": ["strategy=prompt_tuning"], "p_tuning": ["strategy=p_tuning"],
                "oft": ["strategy=peft", "strategy.method=oft"]}


def run_pack_keeping_members(trials: list, members: dict):
    """run_pack over (config, job folder) pairs; ``members`` gets its members by folder name
    (each with its training losses)."""
    import pytest

    from peftsweep.trial.packed import loop
    from peftsweep.trial.packed.run import run_pack

    original = loop.train

    def keep_members(pack, *args):
        members.update({m.job_dir.name: m for m in pack.members})
        return original(pack, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "train", keep_members)
        return run_pack(trials)


def tensorboard_scalars(job_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar a trial wrote to <job>/tensorboard, as TensorBoard reads them back."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(job_dir / "tensorboard")).Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}
