"""The HF Trainer peer (PEFT for LoRA comes through peftsweep's own strategy code).

DataCollatorWithPadding pads each batch; length grouping is the installed
transformers' option for it: ``train_sampling_strategy="group_by_length"`` in
5.x (``group_by_length=True`` before). No evaluation or saving while timed.
"""

from __future__ import annotations

import inspect
import tempfile
import time

import numpy as np
import torch
from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments
from workload import Workload, sync

ARG_NAMES = set(inspect.signature(TrainingArguments.__init__).parameters)


class TrainTimer(TrainerCallback):
    """Seconds from the first to the last training step, like our trial's train_s.

    on_train_begin fires after the dataloader, sampler and optimizer exist, so
    set-up (e.g. the length pass of grouping) is left out, as in ours.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.start = 0.0
        self.seconds = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        sync(self.device)
        self.start = time.perf_counter()

    def on_train_end(self, args, state, control, **kwargs):
        sync(self.device)
        self.seconds = time.perf_counter() - self.start


def _version_kwargs(w: Workload, grouped: bool) -> dict:
    """Options whose names changed between transformers 4.x and 5.x."""
    cfg = w.cfg
    kwargs = {}
    if "train_sampling_strategy" in ARG_NAMES:
        kwargs["train_sampling_strategy"] = "group_by_length" if grouped else "random"
    else:
        kwargs["group_by_length"] = grouped
    warmup = cfg.trainer.warmup_steps or cfg.trainer.warmup_ratio
    if "warmup_ratio" in ARG_NAMES and not cfg.trainer.warmup_steps:
        kwargs["warmup_ratio"] = warmup
    else:
        kwargs["warmup_steps"] = warmup  # 5.x: a float < 1 is a ratio
    if "use_cpu" in ARG_NAMES:
        kwargs["use_cpu"] = w.device.type == "cpu"  # the device our trial would use
    return kwargs


def arguments(w: Workload, out_dir: str, grouped: bool, **extra) -> TrainingArguments:
    """The trial's hyper-parameters spelled as TrainingArguments."""
    cfg = w.cfg
    optim = "adamw_torch_fused" if cfg.trainer.fused_adamw else "adamw_torch"
    return TrainingArguments(
        output_dir=out_dir, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.trainer.eval_batch_size or 2 * cfg.batch_size,
        num_train_epochs=cfg.epochs, learning_rate=cfg.lr,
        weight_decay=cfg.trainer.weight_decay, lr_scheduler_type="linear", optim=optim,
        max_grad_norm=cfg.trainer.gradient_clip_val or 0.0,
        gradient_accumulation_steps=cfg.trainer.accumulate_grad_batches,
        logging_steps=cfg.trainer.log_every_n_steps, report_to="none", disable_tqdm=True,
        seed=cfg.seed, bf16=w.precision.startswith("bf16"), fp16=w.precision == "16-mixed",
        dataloader_num_workers=0, **_version_kwargs(w, grouped), **extra)


def _trainer(w: Workload, args: TrainingArguments, callbacks: list, **extra) -> Trainer:
    collator = DataCollatorWithPadding(w.tokenizer, pad_to_multiple_of=w.pad_multiple)
    return Trainer(model=w.model, args=args, train_dataset=w.splits["train"],
                   data_collator=collator, processing_class=w.tokenizer,
                   callbacks=callbacks, **extra)


def train(w: Workload, grouped: bool) -> dict:
    """Throughput run: train only (no eval, no checkpoints), timed by TrainTimer."""
    timer = TrainTimer(w.device)
    with tempfile.TemporaryDirectory(prefix="hf-bench-") as out_dir:
        args = arguments(w, out_dir, grouped, save_strategy="no", eval_strategy="no")
        trainer = _trainer(w, args, [timer])
        output = trainer.train()
    samples = len(w.splits["train"]) * w.cfg.epochs
    return {"train_s": round(timer.seconds, 3), "samples": samples,
            "steps": output.global_step, "optimizer": args.optim,
            "hf_train_runtime_s": output.metrics.get("train_runtime"),
            "final_loss": output.training_loss}


def _accuracy(prediction) -> dict:
    logits = prediction.predictions
    logits = logits[0] if isinstance(logits, tuple) else logits
    return {"accuracy": float((np.argmax(logits, -1) == prediction.label_ids).mean())}


def parity(w: Workload, grouped: bool = False) -> dict:
    """Same selection as ours: eval each epoch, keep the best, test it on the official split."""
    with tempfile.TemporaryDirectory(prefix="hf-parity-") as out_dir:
        args = arguments(w, out_dir, grouped=grouped, eval_strategy="epoch",
                         save_strategy="epoch", save_total_limit=1, save_only_model=True,
                         load_best_model_at_end=True, metric_for_best_model="accuracy",
                         greater_is_better=True)
        trainer = _trainer(w, args, [], eval_dataset=w.splits["validation"],
                           compute_metrics=_accuracy)
        trainer.train()
        best_val = trainer.state.best_metric
        test = trainer.evaluate(w.splits["test"], metric_key_prefix="test")
    return {"validation_accuracy": best_val, "test_accuracy": test["test_accuracy"]}
