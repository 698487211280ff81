"""Fresh-process measurements and the description of the machine they ran on.

Every measurement is its own child process, so peak RSS (from ``os.wait4`` on
that one child) never mixes the peaks of two runs, and start-up is counted.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO / "benchmarks" / "worker.py"
PACKAGES = ("torch", "transformers", "peft", "pytorch-lightning", "datasets", "accelerate")


def run_child(args: list[str], log_path: Path, timeout_s: float,
              env: dict[str, str] | None = None) -> dict:
    """Run one child to the end; its exit code, wall seconds and own peak RSS."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        killer = threading.Timer(timeout_s, proc.kill)
        killer.start()
        try:
            # wait4, not getrusage(RUSAGE_CHILDREN): the latter keeps the max over all children.
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"exit_code": proc.returncode, "process_wall_s": round(time.perf_counter() - started, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_worker(spec: dict, work_dir: Path, name: str, timeout_s: float,
               env: dict[str, str] | None = None) -> dict:
    """Run benchmarks/worker.py on one spec; merge its own report with the process numbers."""
    work_dir.mkdir(parents=True, exist_ok=True)
    spec = {**spec, "out": str(work_dir / f"{name}.result.json")}
    spec_path = work_dir / f"{name}.spec.json"
    spec_path.write_text(json.dumps(spec, indent=1))
    log_path = work_dir / f"{name}.log"
    proc = run_child([sys.executable, str(WORKER), str(spec_path)], log_path, timeout_s, env)
    try:
        report = json.loads(Path(spec["out"]).read_text())
    except (OSError, ValueError):
        report = {"error": f"no result (exit {proc['exit_code']})", "log_tail": log_tail(log_path)}
    return {**report, **proc}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> dict:
    from peftsweep.runtime import versions

    return versions(PACKAGES)


def describe_machine() -> dict:
    """CPU, cores, memory, GPU and library versions, plus the load when the run began."""
    import psutil
    import torch

    gpu = None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu = {"name": props.name, "memory_gb": round(props.total_memory / 2**30, 1),
               "bf16": torch.cuda.is_bf16_supported(), "cuda": torch.version.cuda}
    return {
        "cpu": _cpu_model(), "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "torch_threads": torch.get_num_threads(), "gpu": gpu,
        "platform": platform.platform(), "versions": _versions(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write_json(path: Path, data) -> None:
    """Write whole-or-nothing, so a run killed mid-write leaves the previous file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)
