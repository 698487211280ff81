"""Grid vs pruned search at the same budget of training epochs (make bench-search).

Runs a grid and a search over the same ranges through train.py, then reports, from the
result files, the best validation metric each reached and after how many training epochs
(pruned trials count the epochs they trained). Goal: the search reaches the grid's best
(within 1 point) with at most half of the grid's epochs.

    python benchmarks/search_vs_grid.py --task demo --out .cache/bench/search
    python benchmarks/search_vs_grid.py --task sst2 --data-dir ../shared/data/sst2

A finished grid under --out is reused, so several pruners can be compared against one grid.
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

from peftsweep.report.search_plots import load_results, progress  # noqa: E402

LRS = ["1e-4", "3e-4", "1e-3", "3e-3"]
BATCHES = ["16", "32"]
STRATEGIES = ["full", "bitfit"]
SPACE = ("search.space={lr:{type:float,low:1e-4,high:3e-3,log:true},"
         "batch_size:{type:categorical,choices:[16,32]},"
         "strategy:{type:categorical,choices:[full,bitfit]}}")
TASKS = {
    "demo": ["data=demo", "model=tiny", "epochs=4"],
    # MiniLM on 4,000 SST-2 training sentences: affordable on 2 CPU cores.
    "sst2": ["model=minilm", "data=sst2", "data.source=files", "data.max_train_samples=4000",
             "data.max_length=64", "epochs=3"],
}


def finished_sweep(root: Path) -> tuple[Path, float] | None:
    """An earlier complete sweep under root and its wall time (plan written -> summary)."""
    for summary in root.glob("*/*/summary.json"):
        plan = json.loads((summary.parent / "plan.json").read_text())
        if json.loads(summary.read_text())["counts"].get("missing", 0) == 0:
            return summary.parent, summary.stat().st_mtime - plan["created_at"]
    return None


def run(args: list[str], root: Path) -> tuple[Path, float]:
    started = time.time()
    subprocess.run([sys.executable, str(REPO / "train.py"), "-m", *args, "logger=none",
                    f"sweep_root={root}"], cwd=REPO, check=True)
    (summary,) = root.glob("*/*/summary.json")
    return summary.parent, time.time() - started


def curve(sweep_dir: Path) -> dict:
    points = progress(load_results(sweep_dir))
    return {"epochs": [x for x, _ in points], "best": [y for _, y in points],
            "statuses": [r["status"] for r in load_results(sweep_dir)]}


def epochs_to_reach(c: dict, target: float) -> float | None:
    pairs = zip(c["epochs"], c["best"], strict=True)
    return next((x for x, y in pairs if y is not None and y >= target), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="demo")
    parser.add_argument("--data-dir", default="../shared/data/sst2")
    # median: on the demo task it reached the grid's best with fewer epochs than hyperband.
    parser.add_argument("--pruner", default="median")
    parser.add_argument("--out", type=Path, default=REPO / ".cache" / "bench" / "search")
    opts = parser.parse_args()
    base = TASKS[opts.task] + ([f"data.data_dir={opts.data_dir}"] if opts.task == "sst2" else [])
    out = opts.out / opts.task
    grid_dir, grid_s = finished_sweep(out / "grid") or run(
        [*base, f"lr={','.join(LRS)}", f"batch_size={','.join(BATCHES)}",
         f"strategy={','.join(STRATEGIES)}"], out / "grid")
    grid = curve(grid_dir)
    n_trials = len(LRS) * len(BATCHES) * len(STRATEGIES)
    search_dir, search_s = run([*base, "hydra/sweeper=search", "search=demo", SPACE,
                                f"search.n_trials={n_trials}", f"search.pruner={opts.pruner}",
                                "search.seed=0"], out / f"search-{opts.pruner}")
    search = curve(search_dir)
    target = grid["best"][-1] - 0.01
    summary = {
        "task": opts.task, "pruner": opts.pruner, "command": " ".join(sys.argv),
        "grid": {"best": grid["best"][-1], "epochs": grid["epochs"][-1], "wall_s": grid_s},
        "search": {"best": search["best"][-1], "epochs": search["epochs"][-1],
                   "wall_s": search_s, "pruned": search["statuses"].count("pruned"),
                   "epochs_to_grid_best_minus_1pt": epochs_to_reach(search, target)},
        "curves": {"grid": grid, "search": search},
    }
    reached = summary["search"]["epochs_to_grid_best_minus_1pt"]
    summary["goal_met"] = reached is not None and reached <= grid["epochs"][-1] / 2
    (out / f"summary-{opts.pruner}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "curves"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
