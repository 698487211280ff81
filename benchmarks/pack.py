"""Packed trials against one trial at a time, in one run: wall time and peak memory.

    python benchmarks/pack.py --grid demo            # the demo grid (experiment=demo_minilm)
    python benchmarks/pack.py --grid imdb16          # 16 bert_tiny-shape trials on IMDb
    python benchmarks/pack.py --grid gpu --packs 8,16,40   # the seeds' 40-trial grid (a GPU)

Each sweep runs in its own process, one after the other on the same machine and load; the
peak resident memory is that of the sweep's process (a packed sweep trains in it). On the
gpu grid a second baseline runs two trials at a time on the GPU, each in its own process
(hydra/launcher=local_parallel parallel.trials_per_gpu=2). ``--smoke`` cuts any grid to one
learning rate and a few batches: the same commands, checked in a minute on a CPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMDB = ROOT.parent / "shared" / "data" / "imdb"
LRS8 = "1e-4,2e-4,3e-4,5e-4,1e-3,2e-3,3e-3,5e-3"


SMOKE = ["data.max_train_samples=96", "data.max_eval_samples=48"]


def grids(imdb: Path, smoke: bool = False) -> dict[str, list[str]]:
    files = ["data=imdb", "data.source=files", f"data.data_dir={imdb}",
             "data.selection=split_train", "model=bert_tiny", "model.pretrained=false"]
    lrs = "3e-3" if smoke else LRS8
    imdb_sizes = SMOKE if smoke else ["data.max_train_samples=2000",
                                      "data.max_eval_samples=500"]
    return {
        "demo": ["experiment=demo_minilm", *(["data.demo_size=64", "epochs=1"] if smoke else [])],
        "imdb16": [*files, *imdb_sizes, "data.max_length=128", "epochs=1", "batch_size=32",
                   "seed=1", "strategy=bitfit,lora", f"lr={lrs}"],
        # The seeds' grid: 40 BERT-tiny trials x 4 epochs, IMDb 25k at 256 tokens.
        "gpu": [*files, *(SMOKE if smoke else []), "data.max_length=256",
                f"epochs={1 if smoke else 4}", "batch_size=32", "seed=1",
                "strategy=bitfit,lora,lora_r2,ia3,bitfit_biases", f"lr={lrs}"],
    }


# Runs one command and prints the peak RSS of its process tree: each sweep's own peak.
PEAK = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
        "print('peak_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "file=sys.stderr); sys.exit(rc)")


def sweep(args: list[str], out: Path, name: str) -> dict:
    folder = out / name
    command = [sys.executable, "-c", PEAK, sys.executable, str(ROOT / "train.py"), "-m", *args,
               "logger=none", f"hydra.sweep.dir={folder}"]
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    peak = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("peak_kb")]
    results = [json.loads(p.read_text()) for p in folder.glob("*/result.json")]
    return {"name": name, "rc": proc.returncode, "wall_s": round(wall, 1),
            "peak_rss_mb": round(int(peak[-1]) / 1024) if peak else None,
            "trials": len(results), "ok": sum(r["status"] == "ok" for r in results),
            "packed": sum("pack" in r for r in results),
            "stderr_tail": proc.stderr[-400:] if proc.returncode else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=("demo", "imdb16", "gpu"), default="demo")
    parser.add_argument("--packs", default="16", help="pack sizes, comma-separated")
    parser.add_argument("--workers", default="1",
                        help="packed runs' worker processes (hydra.launcher.workers), "
                             "comma-separated")
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "bench" / "pack")
    parser.add_argument("--imdb", type=Path, default=IMDB)
    parser.add_argument("--smoke", action="store_true",
                        help="one learning rate and a few batches: check the commands")
    options = parser.parse_args()
    args = grids(options.imdb, options.smoke)[options.grid]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = [sweep(args, options.out / stamp, "alone")]
    if options.grid == "gpu":
        rows.append(sweep([*args, "hydra/launcher=local_parallel", "parallel.trials_per_gpu=2"],
                          options.out / stamp, "two_per_gpu"))
    for size in options.packs.split(","):
        for workers in options.workers.split(","):
            name = f"packed{size}" + (f"_workers{workers}" if workers != "1" else "")
            rows.append(sweep([*args, "hydra/launcher=packed", f"hydra.launcher.pack_size={size}",
                               f"hydra.launcher.workers={workers}"], options.out / stamp, name))
    base = rows[0]["wall_s"]
    for row in rows:
        print(json.dumps({**row, "speedup": round(base / max(row["wall_s"], 1e-9), 2)}))


if __name__ == "__main__":
    main()
