"""A trial's model, rows and hyper-parameters handed to HF Trainer (or any other loop).

peftsweep claims that a trial with random batches (``trainer.group_by_length=false``)
repeats HF Trainer's run for its seed, step for step. The test suite checks that
claim and the benchmarks compare speed and accuracy against HF Trainer; both
build the other side here, from the same config as the trial, so that only the
training loop differs. HF Trainer needs ``accelerate`` (the ``dev`` extra).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from peftsweep.data.cache import prepare
from peftsweep.models.backbone import build_backbone, load_tokenizer
from peftsweep.params.budget import trial_strategy
from peftsweep.spec.config import TrialConfig, task_spec
from peftsweep.spec.families import FAMILIES
from peftsweep.strategies import apply_strategy
from peftsweep.trial import runtime


@dataclass
class Workload:
    """What a trial trains: its config, tokenizer, tokenized splits and model."""

    cfg: TrialConfig
    tokenizer: Any
    splits: Any  # datasets.DatasetDict: train / validation / test
    model: torch.nn.Module
    device: torch.device
    precision: str

    @property
    def pad_multiple(self) -> int | None:
        # A trial pads to a multiple of 8 on GPU (tensor cores); a peer gets the same.
        return 8 if self.device.type == "cuda" else None


def build_workload(cfg: TrialConfig) -> Workload:
    """Seed, read the rows from the shared cache and build the model as a trial does."""
    import transformers

    runtime.configure(cfg)
    # Seeds python, numpy and torch as the trial's seed_everything does: the same random init.
    transformers.set_seed(cfg.seed)
    tokenizer = load_tokenizer(cfg.model, cfg.cache_dir)
    splits = prepare(cfg.data, tokenizer, cfg.cache_dir)
    backbone = build_backbone(cfg.model, task_spec(cfg.data), tokenizer, cfg.cache_dir)
    batches = math.ceil(len(splits["train"]) / cfg.batch_size)
    steps = math.ceil(batches / cfg.trainer.accumulate_grad_batches) * cfg.epochs
    model = apply_strategy(backbone, trial_strategy(cfg), FAMILIES[cfg.model.family],
                           total_steps=steps)  # AdaLoRA's schedule needs the step count
    device = torch.device("cuda" if runtime.use_gpu(cfg) else "cpu")
    return Workload(cfg, tokenizer, splits, model, device, runtime.precision(cfg))


def training_arguments(w: Workload, output_dir: str, grouped: bool = False, **extra):
    """The trial's hyper-parameters spelled as HF ``TrainingArguments`` (transformers 5.x)."""
    from transformers import TrainingArguments

    cfg, trainer = w.cfg, w.cfg.trainer
    return TrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=trainer.eval_batch_size or 2 * cfg.batch_size,
        num_train_epochs=cfg.epochs, learning_rate=cfg.lr, weight_decay=trainer.weight_decay,
        lr_scheduler_type="linear",
        # A float below 1 is a ratio of the total steps, as warmup_ratio is in a trial.
        warmup_steps=trainer.warmup_steps or trainer.warmup_ratio,
        optim="adamw_torch_fused" if trainer.fused_adamw else "adamw_torch",
        max_grad_norm=trainer.gradient_clip_val or 0.0,
        gradient_accumulation_steps=trainer.accumulate_grad_batches,
        logging_steps=trainer.log_every_n_steps, seed=cfg.seed,
        train_sampling_strategy="group_by_length" if grouped else "random",
        use_cpu=w.device.type == "cpu", bf16=w.precision.startswith("bf16"),
        fp16=w.precision == "16-mixed", dataloader_num_workers=0, report_to="none",
        disable_tqdm=True, **extra)


def hf_trainer(w: Workload, args, trainer_class=None, **extra):
    """HF Trainer (or a subclass) on the workload's train split, padded as a trial pads."""
    from transformers import DataCollatorWithPadding, Trainer

    collator = DataCollatorWithPadding(w.tokenizer, pad_to_multiple_of=w.pad_multiple)
    return (trainer_class or Trainer)(model=w.model, args=args, train_dataset=w.splits["train"],
                   data_collator=collator, processing_class=w.tokenizer, **extra)
