"""Grid vs pruned, confirmed search at the same trial budget, over search seeds (make bench-search).

Runs a grid and, for each search seed, a search over the same ranges with as many trials
(TPE + the median pruner), which then re-runs its best configurations at more seeds
(search.confirm). From the result files it reports, per seed and as a mean with its 95%
interval over the seeds:

* without confirmation: the share of the grid's training epochs the search had spent when
  its best validation metric came within 1 point of the grid's best (trials in the order
  they finished; pruned trials count the epochs they trained);
* with confirmation: the share of the grid's epochs spent by the search and its
  confirmation trials together, where the confirmed selection's seed mean came within 1
  point of the grid's best (a confirmed search knows its answer only at the end).

The grid's best is one seed per point, as the search's points are; a grid has to run every
trial to know its best, so its share is 1.

    python benchmarks/search_vs_grid.py --task demo
    python benchmarks/search_vs_grid.py --task sst2 --data-dir ../shared/data/sst2

A finished grid or search under --out is reused, so an interrupted run continues.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from peftsweep import load_sweep  # noqa: E402
from peftsweep.report.search_plots import epochs_spent, load_results, progress  # noqa: E402
from peftsweep.report.stats import mean_interval  # noqa: E402

STRATEGIES = ["full", "bitfit"]
TASKS = {
    "demo": {"base": ["data=demo", "model=tiny", "epochs=4"],
             "lrs": ["1e-4", "3e-4", "1e-3", "3e-3"], "batches": ["16", "32"]},
    # MiniLM on 1,000 SST-2 training sentences, 500 per evaluation split, 2 epochs: a
    # grid and three confirmed searches fit in about an hour on 2 CPU cores.
    "sst2": {"base": ["model=minilm", "data=sst2", "data.source=files",
                      "data.max_train_samples=1000", "data.max_eval_samples=500",
                      "data.max_length=64", "epochs=2"],
             "lrs": ["1e-4", "3e-4", "1e-3", "3e-3"], "batches": ["32"]},
}
MARGIN = 0.01  # "reached the grid's best": within 1 point of it


def space(task: dict) -> str:
    batches = ",".join(task["batches"])
    return (f"search.space={{lr:{{type:float,low:{task['lrs'][0]},high:{task['lrs'][-1]},"
            f"log:true}},batch_size:{{type:categorical,choices:[{batches}]}},"
            f"strategy:{{type:categorical,choices:[{','.join(STRATEGIES)}]}}}}")


def finished_sweep(root: Path) -> tuple[Path, float] | None:
    """An earlier complete sweep under root and its wall time (from summary.json's age)."""
    for summary in root.glob("*/*/summary.json"):
        counts = json.loads(summary.read_text())["counts"]
        if counts.get("missing", 0) == 0:
            wall = json.loads((summary.parent / "wall.json").read_text())["wall_s"] \
                if (summary.parent / "wall.json").exists() else None
            return summary.parent, wall
    return None


def run(args: list[str], root: Path) -> tuple[Path, float]:
    found = finished_sweep(root)
    if found:
        return found
    started = time.time()
    subprocess.run([sys.executable, str(REPO / "train.py"), "-m", *args, "logger=none",
                    f"sweep_root={root}"], cwd=REPO, check=True)
    (summary,) = root.glob("*/*/summary.json")
    wall = time.time() - started
    (summary.parent / "wall.json").write_text(json.dumps({"wall_s": wall}) + "\n")
    return summary.parent, wall


def is_confirmation(result: dict) -> bool:
    return (result.get("search") or {}).get("confirms") is not None


def epochs_to_reach(results: list[dict], target: float) -> float | None:
    return next((x for x, y in progress(results) if y is not None and y >= target), None)


def search_record(search_dir: Path, wall: float, grid_best: float, grid_epochs: float) -> dict:
    results = load_results(search_dir)
    searched = [r for r in results if not is_confirmation(r)]
    target = grid_best - MARGIN
    reached = epochs_to_reach(searched, target)
    selection = load_sweep(search_dir).selection()
    confirmed = selection[selection["confirmed"].astype(bool)]
    top = confirmed.sort_values("val_mean", ascending=False).iloc[0] if not confirmed.empty \
        else None
    spent = sum(epochs_spent(r) for r in results)
    searched_best = max((r["best"]["validation"][r["metric"]["name"]] for r in searched
                         if r["status"] == "ok"), default=None)
    return {
        "dir": str(search_dir), "wall_s": wall,
        "search": {"best": searched_best, "epochs": sum(epochs_spent(r) for r in searched),
                   "pruned": sum(r["status"] == "pruned" for r in searched),
                   "epochs_to_target": reached,
                   "share": None if reached is None else reached / grid_epochs},
        "confirmed": {
            "selected": None if top is None else {
                "strategy": top["strategy"], "lr": top["lr"],
                "batch_size": int(top["batch_size"]), "seeds": int(top["seeds"]),
                "val_mean": float(top["val_mean"])},
            "epochs": spent, "trials": sum(is_confirmation(r) for r in results),
            "reached": top is not None and float(top["val_mean"]) >= target,
            "share": spent / grid_epochs},
    }


def summarize(records: list[dict], key: str) -> dict:
    shares = [r[key]["share"] for r in records
              if r[key]["share"] is not None and r[key].get("reached", True)]
    interval = mean_interval(shares)
    return {"reached": len(shares), "of": len(records), "share_mean": interval.mean,
            "share_ci": [interval.low, interval.high]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="demo")
    parser.add_argument("--data-dir", default="../shared/data/sst2")
    parser.add_argument("--seeds", default="0,1,2", help="search seeds (search.seed)")
    parser.add_argument("--top-k", type=int, default=2, help="search.confirm.top_k")
    parser.add_argument("--confirm-seeds", type=int, default=3, help="search.confirm.seeds")
    parser.add_argument("--pruner", default="median")
    parser.add_argument("--out", type=Path, default=REPO / ".cache" / "bench" / "search")
    opts = parser.parse_args()
    task = TASKS[opts.task]
    base = task["base"] + ([f"data.data_dir={Path(opts.data_dir).resolve()}"]
                           if opts.task == "sst2" else [])
    out = opts.out / opts.task
    grid_dir, grid_s = run([*base, f"lr={','.join(task['lrs'])}",
                            f"batch_size={','.join(task['batches'])}",
                            f"strategy={','.join(STRATEGIES)}"], out / "grid")
    grid_results = load_results(grid_dir)
    grid_best = max(r["best"]["validation"][r["metric"]["name"]] for r in grid_results
                    if r["status"] == "ok")
    grid_epochs = sum(epochs_spent(r) for r in grid_results)
    n_trials = len(task["lrs"]) * len(task["batches"]) * len(STRATEGIES)
    records = []
    for seed in [int(s) for s in opts.seeds.split(",")]:
        search_dir, wall = run([*base, "hydra/sweeper=search", "search=demo", space(task),
                                f"search.n_trials={n_trials}", f"search.pruner={opts.pruner}",
                                f"search.seed={seed}", f"search.confirm.top_k={opts.top_k}",
                                f"search.confirm.seeds={opts.confirm_seeds}"],
                               out / f"search-seed{seed}")
        records.append({"seed": seed, **search_record(search_dir, wall, grid_best,
                                                      grid_epochs)})
    summary = {"task": opts.task, "command": " ".join(sys.argv),
               "grid": {"best": grid_best, "epochs": grid_epochs, "trials": len(grid_results),
                        "wall_s": grid_s},
               "without_confirmation": summarize(records, "search"),
               "with_confirmation": summarize(records, "confirmed"), "seeds": records}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
