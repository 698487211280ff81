"""The benchmark phases. Each takes a Bench and appends its records to OUT/<phase>.json.

A phase is one function here plus one section renderer in report.py, both
named in PHASES; records are appended after every run, so a killed run keeps
everything that finished.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import product

from bench import METHODS, REPO, Bench, run_child

# System -> (worker system, extra overrides). `ours_random` is a control: our trial on HF
# Trainer's random batches, so that ours_random/HF compares the two loops alone.
THROUGHPUT_SYSTEMS = {"ours": ("ours", []),
                      "ours_random": ("ours", ["trainer.group_by_length=false"]),
                      "hf": ("hf", []), "hf_grouped": ("hf_grouped", []),
                      "plain": ("plain", [])}
# Each tool with its defaults (ours: group_by_length=auto; HF: random), or the order forced.
PARITY_SYSTEMS = {"ours": ("ours", []),
                  "ours_random": ("ours", ["trainer.group_by_length=false"]),
                  "ours_grouped": ("ours", ["trainer.group_by_length=true"]),
                  "hf": ("hf_parity", []), "hf_grouped": ("hf_grouped_parity", [])}
MODELS = {"bert_tiny": ["model=bert_tiny", "model.pretrained=false"], "minilm": ["model=minilm"]}


def throughput_data(b: Bench, model: str, rows: int | None = None) -> list[str]:
    """IMDb (the first rows of a seeded shuffle) when present, else the built-in demo data."""
    s = b.sizes
    rows = rows or s.model_samples.get(model, s.samples)
    common = [f"data.max_length={s.max_length}", f"data.max_eval_samples={s.eval_samples}"]
    if b.imdb is None:
        return ["data=demo", f"data.demo_size={rows}", *common]
    return ["data=imdb", "data.source=files", f"data.data_dir={b.imdb}",
            f"data.max_train_samples={rows}", *common]


def parity_data(b: Bench) -> list[str]:
    """Selection on a seeded 10% of train; one test on a fixed subset of IMDb's test split."""
    s = b.sizes
    return ["data=imdb", "data.source=files", f"data.data_dir={b.imdb}",
            "data.selection=split_train", f"data.max_length={s.parity_max_length}",
            f"data.max_train_samples={s.parity_train}", f"data.max_eval_samples={s.parity_eval}"]


def prepare(b: Bench) -> dict:
    """Tokenize every dataset once, before any timed run (one child process)."""
    configs = [[*MODELS[m], *throughput_data(b, m)] for m in b.sizes.models]
    if b.imdb is not None:
        configs.append([*MODELS["minilm"], *parity_data(b)])
    return b.measure({"system": "prepare", "configs": configs}, "prepare")


def throughput(b: Bench) -> None:
    """Every system on the same rows, model and settings, one fresh process each."""
    s = b.sizes
    for model, strategies in s.models.items():
        for strategy, repeat, system in product(strategies, range(s.repeats), THROUGHPUT_SYSTEMS):
            worker, extra = THROUGHPUT_SYSTEMS[system]
            overrides = [*MODELS[model], f"strategy={strategy}", *throughput_data(b, model),
                         f"batch_size={s.batch_size}", f"epochs={s.epochs}", f"lr={s.lr}",
                         "seed=1", *extra]
            key = {"model": model, "strategy": strategy, "system": system, "repeat": repeat}
            print(f"throughput {model} {strategy} {system} #{repeat} ...", flush=True)
            # The load average tells whether other work shared the machine during the run.
            load = round(os.getloadavg()[0], 2)
            record = b.measure({"system": worker, "overrides": overrides},
                               "-".join(map(str, key.values())))
            b.append("throughput", {**key, **record, "load_before": load,
                                    "overrides": overrides})


def methods(b: Bench) -> None:
    """Every PEFT method, our trial against the plain loop on the same PEFT model."""
    s = b.sizes
    for model in s.models:
        rows = s.method_samples.get(model) or s.model_samples.get(model, s.samples)
        for strategy, repeat, system in product(METHODS, range(s.repeats), ("ours", "plain")):
            overrides = [*MODELS[model], f"strategy={strategy}",
                         *throughput_data(b, model, rows), f"batch_size={s.batch_size}",
                         f"epochs={s.epochs}", f"lr={s.lr}", "seed=1"]
            key = {"model": model, "strategy": strategy, "system": system, "repeat": repeat}
            print(f"methods {model} {strategy} {system} #{repeat} ...", flush=True)
            load = round(os.getloadavg()[0], 2)
            record = b.measure({"system": system, "overrides": overrides},
                               "method-" + "-".join(map(str, key.values())))
            b.append("methods", {**key, **record, "rows": rows, "load_before": load,
                                 "load_after": round(os.getloadavg()[0], 2),
                                 "overrides": overrides})


def overhead(b: Bench) -> None:
    """The 8-trial demo grid in one sweep on an empty cache: overhead and tokenizations."""
    from peftsweep.data.cache import tokenization_count

    cache, sweep = b.work / "overhead-cache", b.work / "overhead-sweep"
    args = ["-m", "experiment=demo", *b.sizes.demo_overrides]
    print("overhead: demo grid ...", flush=True)
    proc = run_child([sys.executable, str(REPO / "train.py"), *args, f"resume={sweep}"],
                     b.work / "overhead.log", b.sizes.timeout_s * 4,
                     env={"PEFTSWEEP_CACHE": str(cache)})
    results = [json.loads(p.read_text()) for p in sorted(sweep.rglob("result.json"))]
    trials = [{"status": r["status"], **r.get("timing", {})} for r in results]
    b.append("overhead", {"args": args, **proc, "trials": trials,
                          "tokenizations": tokenization_count(cache)})


def _parity_run(b: Bench, strategy: str, seed: int, system: str) -> None:
    s = b.sizes
    worker, extra = PARITY_SYSTEMS[system]
    overrides = [*MODELS["minilm"], f"strategy={strategy}", *parity_data(b),
                 f"batch_size={s.batch_size}", f"epochs={s.parity_epochs[strategy]}",
                 f"lr={s.parity_lr[strategy]}", f"seed={seed}", *extra]
    # Runs side by side share the cores instead of each starting one thread per core.
    threads = str(max(1, (os.cpu_count() or 1) // s.parity_workers))
    record = b.measure({"system": worker, "overrides": overrides},
                       f"parity-{strategy}-{seed}-{system}", env={"OMP_NUM_THREADS": threads})
    print(f"parity {strategy} seed {seed} {system}: test accuracy "
          f"{record.get('test_accuracy')}", flush=True)
    b.append("parity", {"strategy": strategy, "seed": seed, "system": system, **record,
                        "overrides": overrides})


def parity(b: Bench) -> None:
    """Ours vs HF Trainer, minilm on an IMDb subset, per seed (accuracy is not timed)."""
    if b.imdb is None:
        b.append("parity", {"skipped": f"no imdb/train.jsonl under {b.data_dir}"})
        return
    s = b.sizes
    jobs = product(s.parity_seeds, s.parity_strategies, s.parity_systems)
    with ThreadPoolExecutor(s.parity_workers) as pool:
        for future in [pool.submit(_parity_run, b, strategy, seed, system)
                       for seed, strategy, system in jobs]:
            future.result()


PHASES = {"throughput": throughput, "overhead": overhead, "parity": parity, "methods": methods}
