"""The benchmark phases; each appends to its JSON file in the out folder after every run.

A run killed by a time limit therefore keeps every finished measurement, and
``run.py --render`` rebuilds docs/benchmarks.md from whatever is there.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from measure import REPO, run_child, run_worker, write_json
from profiles import Sizes, samples_for

# Throughput systems: (worker system, extra overrides). ours_random is the control: our loop
# on random batches, so ours_random/HF shows what is left once length grouping is taken away.
SYSTEMS = {"ours": ("ours", []), "ours_random": ("ours", ["trainer.group_by_length=false"]),
           "hf": ("hf", []), "hf_grouped": ("hf_grouped", []), "plain": ("plain", [])}
MODEL_OVERRIDES = {"bert_tiny": ["model=bert_tiny", "model.pretrained=false"],
                   "minilm": ["model=minilm"]}


@dataclass
class Bench:
    out: Path
    work: Path
    data_dir: Path
    sizes: Sizes
    deadline: float
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def imdb(self) -> Path | None:
        folder = self.data_dir / "imdb"
        return folder if (folder / "train.jsonl").is_file() else None

    @property
    def rte(self) -> Path | None:
        folder = self.data_dir / "rte"
        return folder if (folder / "train.tsv").is_file() else None

    def out_of_time(self) -> bool:
        return time.time() > self.deadline

    def append(self, name: str, record: dict) -> None:
        """Add one record to out/<name>.json (threads share the file through the lock)."""
        with self.lock:
            path = self.out / f"{name}.json"
            records = json.loads(path.read_text()) if path.exists() else []
            write_json(path, [*records, record])


def throughput_data(b: Bench, model: str) -> list[str]:
    """IMDb (first N of a seeded shuffle) when present, the built-in demo data otherwise."""
    s = b.sizes
    rows = samples_for(s, model)
    common = [f"data.max_length={s.max_length}", f"++data.max_eval_samples={s.eval_samples}"]
    if b.imdb is None:
        return ["data=demo", f"data.demo_size={rows}", *common]
    return ["data=imdb", "data.source=files", f"++data.data_dir={b.imdb}",
            f"++data.max_train_samples={rows}", *common]


def parity_source(b: Bench) -> Path | None:
    return b.imdb if b.sizes.parity_task == "imdb" else b.rte


def parity_data(b: Bench, train: int | None = None, evaluate: int | None = None) -> list[str]:
    s = b.sizes
    train, evaluate = train or s.parity_train, evaluate or s.parity_eval
    limits = [f"++data.max_train_samples={train}"] if train else []
    limits += [f"++data.max_eval_samples={evaluate}"] if evaluate else []
    # Both select on a seeded 10% of train. IMDb tests once on (a fixed subset of) its
    # official test split, RTE on GLUE's official validation split (test labels hidden).
    task = ["data=imdb"] if s.parity_task == "imdb" else ["data=rte", "data.test_on=validation"]
    return [*task, "data.source=files", f"++data.data_dir={parity_source(b)}",
            "data.selection=split_train", f"data.max_length={s.parity_max_length}", *limits]


def prepare(b: Bench) -> dict:
    """Tokenize every dataset once, before any timed run (one child process)."""
    configs = [[*MODEL_OVERRIDES[m], *throughput_data(b, m)] for m in b.sizes.models]
    if parity_source(b) is not None:
        configs.append(["model=minilm", *parity_data(b)])
    return run_worker({"system": "prepare", "configs": configs}, b.work, "prepare",
                      b.sizes.timeout_s)


def _measure(b: Bench, system: str, overrides: list[str], name: str,
             env: dict[str, str] | None = None) -> dict:
    spec = {"system": system, "overrides": overrides, "job_dir": str(b.work / name)}
    record = run_worker(spec, b.work, name, b.sizes.timeout_s, env)
    shutil.rmtree(b.work / name, ignore_errors=True)
    return record


def throughput(b: Bench) -> None:
    """Every system on the same rows, model and settings, one fresh process each."""
    s = b.sizes
    for model, strategies in s.models.items():
        for strategy in strategies:
            overrides = [*MODEL_OVERRIDES[model], f"strategy={strategy}",
                         *throughput_data(b, model), f"batch_size={s.batch_size}",
                         f"epochs={s.epochs}", f"lr={s.lr}", "seed=1"]
            for repeat, system in product(range(s.repeats), SYSTEMS):
                _throughput_run(b, {"model": model, "strategy": strategy, "system": system,
                                    "repeat": repeat}, overrides)


def _throughput_run(b: Bench, key: dict, overrides: list[str]) -> None:
    if b.out_of_time():
        b.append("throughput", {**key, "skipped": "time budget spent"})
        return
    name = "-".join(str(v) for v in key.values())
    print(f"throughput {name} ...", flush=True)
    # The load average shows whether other work shared the machine during the run.
    load = os.getloadavg()[0]
    worker_system, extra = SYSTEMS[key["system"]]
    overrides = [*overrides, *extra]
    record = _measure(b, worker_system, overrides, f"tp-{name}")
    b.append("throughput", {**key, **record, "load_before": round(load, 2),
                            "overrides": overrides})


def _trial_results(sweep_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(sweep_dir.rglob("result.json"))]


def overhead(b: Bench) -> None:
    """The 8-trial demo grid in one sweep, on an empty cache, to count tokenizations."""
    from peftsweep.data.cache import tokenization_count

    if b.out_of_time():
        write_json(b.out / "overhead.json", {"skipped": "time budget spent"})
        return
    cache = b.work / "overhead-cache"
    sweep = b.work / "overhead-sweep"
    for folder in (cache, sweep):
        shutil.rmtree(folder, ignore_errors=True)
    before = tokenization_count(cache)
    args = [sys.executable, str(REPO / "train.py"), "-m", "experiment=demo",
            f"resume={sweep}", *b.sizes.demo_overrides]
    print("overhead: demo grid ...", flush=True)
    proc = run_child(args, b.work / "overhead.log", b.sizes.timeout_s * 4,
                     env={"PEFTSWEEP_CACHE": str(cache)})
    trials = [{"status": r["status"], **r.get("timing", {})} for r in _trial_results(sweep)]
    record = {"args": args[2:], **proc, "trials": trials,
              "tokenizations": tokenization_count(cache) - before}
    write_json(b.out / "overhead.json", record)


# Parity systems: (worker system, extra overrides). Each tool's defaults (ours:
# group_by_length=auto), and ours or HF Trainer with the batch order forced.
PARITY_SYSTEMS = {"ours": ("ours", []),
                  "ours_random": ("ours", ["trainer.group_by_length=false"]),
                  "ours_grouped": ("ours", ["trainer.group_by_length=true"]),
                  "hf": ("hf_parity", []),
                  "hf_grouped": ("hf_grouped_parity", [])}


def _parity_job(b: Bench, strategy: str, seed: int, system: str) -> None:
    key = {"strategy": strategy, "seed": seed, "system": system}
    if b.out_of_time():
        b.append("parity", {**key, "skipped": "time budget spent"})
        return
    s = b.sizes
    worker_system, extra = PARITY_SYSTEMS[system]
    overrides = ["model=minilm", f"strategy={strategy}", *parity_data(b),
                 f"batch_size={s.batch_size}", f"epochs={s.parity_epochs[strategy]}",
                 f"lr={s.parity_lr[strategy]}", f"seed={seed}", *extra]
    name = f"parity-{strategy}-{seed}-{system}"
    # Runs side by side share the cores instead of each starting one thread per core.
    threads = str(max(1, (os.cpu_count() or 1) // s.parity_workers))
    record = _measure(b, worker_system, overrides, name,
                      env={"OMP_NUM_THREADS": threads})
    print(f"parity {strategy} seed {seed} {system}: test accuracy "
          f"{record.get('test_accuracy')}", flush=True)
    b.append("parity", {**key, **record, "overrides": overrides})


def parity(b: Bench) -> None:
    """Ours vs HF Trainer with minilm on IMDb or RTE; runs side by side (accuracy is not timed)."""
    if parity_source(b) is None:
        write_json(b.out / "parity.json",
                   [{"skipped": f"no {b.sizes.parity_task} data under {b.data_dir}"}])
        return
    jobs = [(strategy, seed, system) for seed in b.sizes.parity_seeds
            for strategy in b.sizes.parity_strategies for system in b.sizes.parity_systems]
    with ThreadPoolExecutor(b.sizes.parity_workers) as pool:
        for future in [pool.submit(_parity_job, b, *job) for job in jobs]:
            future.result()


def lockstep(b: Bench) -> None:
    """Ours vs HF Trainer step by step on minilm (benchmarks/lockstep.py), on CPU."""
    if parity_source(b) is None:
        write_json(b.out / "lockstep.json",
                   [{"skipped": f"no {b.sizes.parity_task} data under {b.data_dir}"}])
        return
    s = b.sizes
    for strategy in s.parity_strategies:
        if b.out_of_time():
            b.append("lockstep", {"strategy": strategy, "skipped": "time budget spent"})
            continue
        # Few rows: the check is per step; evaluation is not compared and kept tiny.
        overrides = ["model=minilm", f"strategy={strategy}",
                     *parity_data(b, s.lockstep_train, s.batch_size),
                     "trainer.group_by_length=false", "trainer.accelerator=cpu",
                     f"batch_size={s.batch_size}", "epochs=2", f"lr={s.parity_lr[strategy]}",
                     "seed=1"]
        print(f"lockstep {strategy} ...", flush=True)
        record = _measure(b, "lockstep", overrides, f"lockstep-{strategy}")
        b.append("lockstep", {"strategy": strategy, **record, "overrides": overrides})
