"""One measurement in a fresh process: ``python benchmarks/worker.py SPEC.json``.

The spec names a system and a trial's Hydra overrides; the numbers go to
``spec["out"]``. ``ours`` executes ``train.py`` itself (same argv, real start-up).
The peers get the trial's model, rows and settings from ``peftsweep.trial.hf_trainer``,
so only the training loop differs: HF Trainer (random or length-grouped batches)
and a plain PyTorch loop with length-bucketed batches (the practical speed limit).
"""

from __future__ import annotations

import json
import math
import runpy
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

REPO = Path(__file__).resolve().parents[1]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":  # a timer must read finished GPU work
        torch.cuda.synchronize()


def run_ours(spec: dict) -> dict:
    """train.py as a user runs it; then the numbers of its result.json."""
    sys.argv = [str(REPO / "train.py"), *spec["overrides"], f"resume={spec['job_dir']}"]
    try:
        runpy.run_path(str(REPO / "train.py"), run_name="__main__")
    except SystemExit:
        pass
    found = sorted(Path(spec["job_dir"]).rglob("result.json"))
    if not found:
        raise RuntimeError(f"no result.json under {spec['job_dir']}")
    result = json.loads(found[-1].read_text())
    timing, best = result.get("timing", {}), (result.get("best") or {}).get("validation") or {}
    fused = result["config"]["trainer"].get("fused_adamw")
    return {"status": result["status"], "error": result.get("error"),
            "train_s": timing.get("train_s"), "train_samples_per_s":
            timing.get("train_samples_per_s"), "trial_wall_s": timing.get("wall_s"),
            "trainable": (result.get("params") or {}).get("trainable"),
            "validation_accuracy": best.get("accuracy"),
            "test_accuracy": (result.get("test") or {}).get("accuracy"),
            "precision": result["runtime"]["precision"],
            "optimizer": "AdamW fused" if fused else "AdamW foreach",
            "batches": (result.get("batches") or {}).get("order")}


def run_hf(w, grouped: bool) -> dict:
    """HF Trainer, train only (no evaluation, no checkpoints), timed from first to last step."""
    from transformers import TrainerCallback

    from peftsweep.trial.hf_trainer import hf_trainer, training_arguments

    class Timer(TrainerCallback):
        # on_train_begin comes after the dataloader and optimizer exist, as ours' clock starts.
        def on_train_begin(self, args, state, control, **kwargs):
            _sync(w.device)
            self.start = time.perf_counter()

        def on_train_end(self, args, state, control, **kwargs):
            _sync(w.device)
            self.seconds = time.perf_counter() - self.start

    timer = Timer()
    with tempfile.TemporaryDirectory(prefix="hf-bench-") as out_dir:
        args = training_arguments(w, out_dir, grouped, save_strategy="no", eval_strategy="no")
        hf_trainer(w, args, callbacks=[timer]).train()
    optimizer = getattr(args.optim, "value", args.optim)  # an enum in transformers 5.x
    return {"train_s": round(timer.seconds, 3), "optimizer": optimizer,
            "samples": len(w.splits["train"]) * w.cfg.epochs}


def run_hf_parity(w, grouped: bool) -> dict:
    """As a trial selects: evaluate each epoch, keep the best, test it once."""
    from peftsweep.trial.hf_trainer import hf_trainer, training_arguments

    def accuracy(prediction) -> dict:
        logits = prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        return {"accuracy": float((np.argmax(logits, -1) == prediction.label_ids).mean())}

    with tempfile.TemporaryDirectory(prefix="hf-parity-") as out_dir:
        args = training_arguments(w, out_dir, grouped, eval_strategy="epoch",
                                  save_strategy="epoch", save_total_limit=1, save_only_model=True,
                                  load_best_model_at_end=True, metric_for_best_model="accuracy")
        trainer = hf_trainer(w, args, eval_dataset=w.splits["validation"],
                             compute_metrics=accuracy)
        trainer.train()
        test = trainer.evaluate(w.splits["test"], metric_key_prefix="test")
    return {"validation_accuracy": trainer.state.best_metric,
            "test_accuracy": test["test_accuracy"]}


def _length_buckets(lengths: np.ndarray, size: int, rng: np.random.Generator) -> list:
    """Shuffled mega-batches of 50 batches, sorted by length inside: little padding."""
    order, batches = rng.permutation(len(lengths)), []
    for start in range(0, len(order), size * 50):
        chunk = order[start:start + size * 50]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i:i + size] for i in range(0, len(chunk), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _collate(columns: dict, labels: torch.Tensor, index: np.ndarray, pad_id: int,
             multiple: int | None) -> dict:
    batch = {"labels": labels[torch.from_numpy(index)]}
    for name, values in columns.items():
        pad = pad_id if name == "input_ids" else 0
        padded = pad_sequence([values[i] for i in index], batch_first=True, padding_value=pad)
        if multiple and padded.shape[1] % multiple:
            padded = torch.nn.functional.pad(padded, (0, multiple - padded.shape[1] % multiple),
                                             value=pad)
        batch[name] = padded
    return batch


def run_plain(w) -> dict:
    """A hand-written loop: same AdamW groups, schedule, clipping and precision; no logging."""
    from transformers import get_linear_schedule_with_warmup

    cfg, split = w.cfg, w.splits["train"]
    # Rows become tensors before the clock starts (a trial also converts during set-up).
    columns = {c: [torch.tensor(v) for v in split[c]] for c in
               ("input_ids", "token_type_ids", "attention_mask") if c in split.column_names}
    labels, lengths = torch.tensor(split["labels"]), np.asarray(split["length"])
    model = w.model.to(w.device).train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in trainable if p.ndim >= 2]},
              {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0}]
    fused = cfg.trainer.fused_adamw or None
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.trainer.weight_decay,
                                  fused=fused)
    total = math.ceil(len(labels) / cfg.batch_size) * cfg.epochs
    warmup = cfg.trainer.warmup_steps or math.ceil(cfg.trainer.warmup_ratio * total)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total)
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(w.precision)
    rng, pad_id = np.random.default_rng(cfg.seed), w.tokenizer.pad_token_id or 0
    # AdaLoRA's rank allocator is the loop's to step, as PEFT's own examples do.
    allocate = getattr(getattr(model, "base_model", None), "update_and_allocate", None)
    step = 0
    _sync(w.device)
    started = time.perf_counter()
    for _ in range(cfg.epochs):
        for index in _length_buckets(lengths, cfg.batch_size, rng):
            batch = _collate(columns, labels, index, pad_id, w.pad_multiple)
            batch = {k: v.to(w.device, non_blocking=True) for k, v in batch.items()}
            with torch.autocast(w.device.type, dtype=dtype, enabled=dtype is not None):
                loss = model(**batch).loss
            loss.backward()
            if cfg.trainer.gradient_clip_val:
                torch.nn.utils.clip_grad_norm_(trainable, cfg.trainer.gradient_clip_val)
            optimizer.step()
            if allocate is not None:
                allocate(step)
            step += 1
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
    _sync(w.device)
    return {"train_s": round(time.perf_counter() - started, 3),
            "samples": len(labels) * cfg.epochs,
            "optimizer": "AdamW fused" if fused else "AdamW foreach"}


def run_peer(spec: dict) -> dict:
    from peftsweep.compose.session import compose_config
    from peftsweep.trial.hf_trainer import build_workload

    w = build_workload(compose_config(spec["overrides"]))
    system = spec["system"]
    runners = {"hf": lambda: run_hf(w, False), "hf_grouped": lambda: run_hf(w, True),
               "hf_parity": lambda: run_hf_parity(w, False),
               "hf_grouped_parity": lambda: run_hf_parity(w, True), "plain": lambda: run_plain(w)}
    out = runners[system]()
    out.update(trainable=sum(p.numel() for p in w.model.parameters() if p.requires_grad),
               precision=w.precision)
    if "train_s" in out:
        out["train_samples_per_s"] = round(out["samples"] / max(out["train_s"], 1e-9), 2)
    return out


def run_prepare(spec: dict) -> dict:
    """Tokenize every dataset of the run once, so that no timed run pays for it."""
    from peftsweep.compose.session import compose_config
    from peftsweep.data.cache import prepare
    from peftsweep.models.backbone import load_tokenizer

    rows = {}
    for overrides in spec["configs"]:
        cfg = compose_config(overrides)
        splits = prepare(cfg.data, load_tokenizer(cfg.model, cfg.cache_dir), cfg.cache_dir)
        rows[f"{cfg.model.name} {cfg.data.name} @{cfg.data.max_length}"] = {
            name: len(split) for name, split in splits.items()}
    return {"rows": rows}


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    runner = {"ours": run_ours, "prepare": run_prepare}.get(spec["system"], run_peer)
    try:
        out = runner(spec)
    except Exception as err:  # noqa: BLE001 - report the failure instead of losing the run
        traceback.print_exc()
        out = {"error": f"{type(err).__name__}: {err}"}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["gpu_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    Path(spec["out"]).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
