"""One measurement in a fresh process: ``python benchmarks/worker.py SPEC.json``.

The spec names a system and the Hydra overrides of the trial; the worker writes
its numbers to ``spec["out"]``. ``ours`` executes ``train.py`` itself (runpy,
same argv), so its start-up is the real one; the others build the same
workload through peftsweep and train it with their own loop.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _result_json(job_dir: Path) -> dict:
    found = sorted(job_dir.rglob("result.json"))
    if not found:
        raise RuntimeError(f"no result.json under {job_dir}")
    return json.loads(found[-1].read_text())


def _time_checkpoint_saves() -> list[float]:
    """Record how long each Lightning checkpoint write takes (outside train_s, inside wall)."""
    import time

    from pytorch_lightning.callbacks import ModelCheckpoint

    seconds: list[float] = []
    save = ModelCheckpoint._save_checkpoint

    def timed(self, trainer, filepath):
        started = time.perf_counter()
        save(self, trainer, filepath)
        seconds.append(time.perf_counter() - started)

    ModelCheckpoint._save_checkpoint = timed
    return seconds


def _optimizer_label(result: dict) -> str:
    # Mirrors SequenceClassifier.configure_optimizers: fused on CPU and GPU when enabled.
    fused = (result.get("config") or {}).get("trainer", {}).get("fused_adamw")
    return "AdamW fused" if fused else "AdamW foreach (torch default)"


def run_ours(spec: dict) -> dict:
    """train.py as a user runs it; then the numbers from its result.json."""
    job_dir = Path(spec["job_dir"])
    saves = _time_checkpoint_saves()
    sys.argv = [str(REPO / "train.py"), *spec["overrides"], f"resume={job_dir}"]
    code = 0
    try:
        runpy.run_path(str(REPO / "train.py"), run_name="__main__")
    except SystemExit as done:
        code = done.code or 0
    result = _result_json(job_dir)
    timing = result.get("timing", {})
    train = {"train_s": timing.get("train_s"), "train_samples_per_s":
             timing.get("train_samples_per_s"), "trial_wall_s": timing.get("wall_s"),
             "setup_s": timing.get("setup_s"), "eval_s": timing.get("eval_s"),
             "trainable": (result.get("params") or {}).get("trainable"),
             "status": result.get("status"), "exit": code, "error": result.get("error")}
    test = result.get("test") or {}
    best = (result.get("best") or {}).get("validation") or {}
    train.update(test_accuracy=test.get("accuracy"), validation_accuracy=best.get("accuracy"),
                 precision=(result.get("runtime") or {}).get("precision"),
                 optimizer=_optimizer_label(result), checkpoint_save_s=round(sum(saves), 3),
                 batches=(result.get("batches") or {}).get("order"),
                 checkpoint_saves=len(saves))
    return train


def run_peer(spec: dict) -> dict:
    import workload

    w = workload.load(spec["overrides"])
    system = spec["system"]
    if system == "plain":
        import plain_loop

        out = plain_loop.train(w)
    elif system in ("hf", "hf_grouped"):
        import peers

        out = peers.train(w, grouped=system == "hf_grouped")
    elif system in ("hf_parity", "hf_grouped_parity"):
        import peers

        out = peers.parity(w, grouped=system == "hf_grouped_parity")
    else:
        raise ValueError(f"unknown system {system!r}")
    out.update(trainable=workload.trainable(w.model), precision=w.precision)
    if "train_s" in out:
        out["train_samples_per_s"] = round(out["samples"] / max(out["train_s"], 1e-9), 2)
    return out


def run_prepare(spec: dict) -> dict:
    """Tokenize every dataset the run needs once, so no timed run pays for it."""
    from peftsweep.compose import compose_config
    from peftsweep.data.cache import prepare
    from peftsweep.models.backbone import load_tokenizer

    rows = {}
    for overrides in spec["configs"]:
        cfg = compose_config(overrides)
        splits = prepare(cfg.data, load_tokenizer(cfg.model, cfg.cache_dir), cfg.cache_dir)
        key = f"{cfg.model.name} {cfg.data.name} @{cfg.data.max_length}"
        rows[key] = {name: len(split) for name, split in splits.items()}
    return {"rows": rows}


def run_lockstep(spec: dict) -> dict:
    """Our trial and HF Trainer from the same seed, step by step."""
    import lockstep

    from peftsweep.compose import compose_config

    cfg = compose_config(spec["overrides"])
    job_dir = Path(spec["job_dir"])
    ours, _ = lockstep.our_steps(cfg, job_dir / "ours")
    return lockstep.compare(ours, lockstep.hf_steps(cfg, job_dir / "hf"))


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    runners = {"ours": run_ours, "prepare": run_prepare, "lockstep": run_lockstep}
    runner = runners.get(spec["system"], run_peer)
    try:
        out = runner(spec)
    except Exception as err:  # noqa: BLE001 - report the failure instead of losing the run
        out = {"error": f"{type(err).__name__}: {err}"}
        import traceback

        traceback.print_exc()
    from workload import gpu_peak_mb

    out["gpu_peak_mb"] = gpu_peak_mb()
    Path(spec["out"]).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
