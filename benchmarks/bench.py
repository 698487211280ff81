"""What every phase shares: run sizes, the out folder, and fresh-process measurements.

Every measurement is its own child process, so its peak RSS (``os.wait4`` on
that one child) never mixes with another run's, and start-up is counted.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STRATEGIES = ("full", "bitfit", "lora")
# Every PEFT method peftsweep trains (presets, and OFT through strategy=peft), for `methods`.
METHODS = ("lora", "dora", "rslora", "adalora", "loha", "lokr", "vera", "oft", "ia3",
           "prompt_tuning", "p_tuning", "prefix")


@dataclass(frozen=True)
class Sizes:
    name: str
    samples: int  # training rows of each throughput run, the same for every system
    eval_samples: int  # caps validation/test of our trial in throughput runs
    # IMDb's own default; at 128 tokens 90% of reviews fill the length: no padding to save.
    max_length: int = 256
    batch_size: int = 32
    epochs: int = 1
    lr: float = 1e-4
    repeats: int = 1  # throughput runs per system, interleaved; the fastest counts
    models: dict = field(default_factory=lambda: dict.fromkeys(("bert_tiny", "minilm"),
                                                               STRATEGIES))
    model_samples: dict = field(default_factory=dict)  # fewer rows for a slow model
    demo_overrides: tuple = ()  # extra overrides of the 8-trial overhead grid
    parity_train: int = 1000
    parity_eval: int = 800  # caps the selection split and the test split
    parity_max_length: int = 128
    parity_epochs: dict = field(default_factory=lambda: {"full": 2, "bitfit": 4, "lora": 2})
    parity_lr: dict = field(default_factory=lambda: {"full": 5e-5, "bitfit": 5e-3,
                                                     "lora": 2e-3})
    parity_seeds: tuple = (1, 2)
    parity_strategies: tuple = STRATEGIES
    parity_systems: tuple = ("ours", "hf")  # of phases.PARITY_SYSTEMS
    parity_workers: int = 1  # parity runs at once
    timeout_s: float = 3600.0  # per child process
    method_samples: dict = field(default_factory=dict)  # rows per model in `methods`


PROFILES = {
    # Every phase at tiny sizes: proves the scripts end to end; the numbers mean nothing.
    "quick": Sizes("quick (smoke test: tiny sizes, numbers are not meaningful)", 192, 64,
                   max_length=64, models={"bert_tiny": STRATEGIES, "minilm": ("lora",)},
                   demo_overrides=("epochs=1", "data.demo_size=256"), parity_train=96,
                   parity_eval=64, parity_max_length=64,
                   parity_epochs=dict.fromkeys(STRATEGIES, 1), parity_seeds=(1,),
                   timeout_s=300.0, method_samples={"bert_tiny": 96, "minilm": 32}),
    # ~1 hour on 2 CPU cores; a minilm step costs ~20 BERT-tiny steps, so it gets fewer rows.
    "cpu": Sizes("cpu", 1024, 256, repeats=2, model_samples={"minilm": 256},
                 method_samples={"bert_tiny": 512, "minilm": 128}),
    "gpu": Sizes("gpu", 16384, 512, parity_train=8000, parity_eval=2000,
                 parity_max_length=256, parity_workers=6, timeout_s=600.0),
}


def choose_sizes(profile: str, models: list[str] | None, strategies: list[str] | None,
                 **given) -> Sizes:
    """The profile with the sizes given on the command line, cut to the named parts."""
    sizes = replace(PROFILES[profile], **{k: v for k, v in given.items() if v is not None})
    if given.get("samples"):
        sizes = replace(sizes, model_samples={})  # rows given on the command line: every model
    keep = set(strategies or STRATEGIES)
    chosen = {m: tuple(s for s in kept if s in keep)
              for m, kept in sizes.models.items() if not models or m in models}
    return replace(sizes, models={m: s for m, s in chosen.items() if s},
                   parity_strategies=tuple(s for s in sizes.parity_strategies if s in keep))


def run_child(args: list[str], log_path: Path, timeout_s: float,
              env: dict[str, str] | None = None) -> dict:
    """Run one child to the end: its exit code, wall seconds and own peak RSS."""
    started = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        killer = threading.Timer(timeout_s, proc.kill)
        killer.start()
        try:
            # wait4, not getrusage(RUSAGE_CHILDREN), which keeps the max over all children.
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
    return {"exit_code": os.waitstatus_to_exitcode(status),
            "process_wall_s": round(time.perf_counter() - started, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def write_json(path: Path, data) -> None:
    """Whole or nothing: a run killed mid-write leaves the previous file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


@dataclass
class Bench:
    out: Path  # the JSON results
    work: Path  # logs, specs and job folders (a temp folder)
    data_dir: Path
    sizes: Sizes
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def imdb(self) -> Path | None:
        folder = self.data_dir / "imdb"
        return folder if (folder / "train.jsonl").is_file() else None

    def append(self, phase: str, record: dict) -> None:
        """Add one record to OUT/<phase>.json (parallel runs share the file through the lock)."""
        with self.lock:
            path = self.out / f"{phase}.json"
            write_json(path, [*(json.loads(path.read_text()) if path.exists() else []), record])

    def measure(self, spec: dict, name: str, env: dict[str, str] | None = None) -> dict:
        """benchmarks/worker.py on one spec in a fresh process; its numbers and the process's."""
        spec = {**spec, "job_dir": str(self.work / name),
                "out": str(self.work / f"{name}.result.json")}
        spec_path = self.work / f"{name}.spec.json"
        spec_path.write_text(json.dumps(spec, indent=1))
        log = self.work / f"{name}.log"
        proc = run_child([sys.executable, str(REPO / "benchmarks" / "worker.py"), str(spec_path)],
                         log, self.sizes.timeout_s, env)
        try:
            report = json.loads(Path(spec["out"]).read_text())
        except (OSError, ValueError):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            report = {"error": f"no result (exit {proc['exit_code']})", "log_tail": tail}
        return {**report, **proc}


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def describe_machine() -> dict:
    """CPU, cores, memory, GPU and library versions, and the load when the run began."""
    import psutil
    import torch

    from peftsweep.trial.runtime import versions

    gpu = None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu = f"{props.name} ({props.total_memory / 2**30:.0f} GB, CUDA {torch.version.cuda})"
    return {"cpu": _cpu_model(), "cores": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "torch_threads": torch.get_num_threads(), "gpu": gpu,
            "versions": versions(("torch", "transformers", "peft", "pytorch-lightning",
                                  "datasets", "accelerate")),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "started_at": time.strftime("%Y-%m-%d %H:%M")}
