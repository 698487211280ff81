"""Wall time of one 16-trial BERT-tiny grid with 1, 2 and 4 trials packed on each GPU.

    python benchmarks/packing.py --data-dir ../shared/data/imdb --out /tmp/packing

Each packing runs the same grid (4 batch sizes x 4 learning rates, random-init
BERT-tiny, one epoch on the first reviews of IMDb) into its own sweep folder
through `hydra/launcher=local_parallel`, and records the wall time of the whole
command and the status of every trial in <out>/packing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRID = ["batch_size=16,32,64,128", "lr=3e-4,1e-4,5e-5,3e-5"]


def grid_args(data_dir: str, train_samples: int) -> list[str]:
    return ["-m", *GRID, "model=bert_tiny", "model.pretrained=false", "strategy=full",
            "data=imdb", "data.source=files", f"data.data_dir={data_dir}",
            f"data.max_train_samples={train_samples}", "data.max_eval_samples=1000",
            "data.max_length=128", "epochs=1", "logger=none",
            "hydra/launcher=local_parallel"]


def run_packing(per_gpu: int, args: argparse.Namespace, out: Path) -> dict:
    sweep = out / f"sweep_x{per_gpu}"
    cmd = [sys.executable, str(ROOT / "train.py"), *grid_args(args.data_dir, args.train_samples),
           f"parallel.trials_per_gpu={per_gpu}", f"resume={sweep}"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    results = [json.loads(p.read_text()) for p in sweep.rglob("result.json")]
    ok = [r for r in results if r["status"] == "ok"]
    return {"trials_per_gpu": per_gpu, "wall_s": round(wall, 1), "returncode": proc.returncode,
            "trials": len(results), "ok": len(ok),
            "train_s_sum": round(sum(r["timing"]["train_s"] for r in ok), 1),
            "errors": sorted({r.get("error") for r in results if r["status"] != "ok"}),
            "stderr_tail": proc.stderr[-1500:] if proc.returncode else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "imdb"))
    parser.add_argument("--train-samples", type=int, default=3000)
    parser.add_argument("--packings", default="1,2,4")
    parser.add_argument("--out", type=Path, default=Path("/tmp/peftsweep-packing"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for per_gpu in (int(k) for k in args.packings.split(",")):
        rows.append(run_packing(per_gpu, args, args.out))
        print(json.dumps(rows[-1]), flush=True)
        (args.out / "packing.json").write_text(json.dumps({
            "device": os.environ.get("PEFTSWEEP_DEVICE_NAME", ""), "rows": rows}, indent=2))
    return 0 if all(r["ok"] == r["trials"] == 16 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
