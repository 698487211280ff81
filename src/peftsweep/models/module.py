"""The LightningModule: AdamW over trainable parameters, warmup + linear decay, metrics."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

from peftsweep.models.metrics import build_metrics, predictions
from peftsweep.spec.tasks import TaskSpec


class Diverged(RuntimeError):
    """The training loss became NaN or infinite."""

    def __init__(self, step: int):
        super().__init__(f"loss is not finite at step {step}")
        self.step = step


class SequenceClassifier(pl.LightningModule):
    def __init__(self, model: nn.Module, task: TaskSpec, lr: float, weight_decay: float,
                 warmup_steps: int, warmup_ratio: float, fused_adamw: bool,
                 check_every: int = 10, after_step: Callable[[int], None] | None = None,
                 keep_in_eval: tuple[nn.Module, ...] = ()):
        """``after_step``: called after each optimizer step with the steps taken (1, 2, ...),
        gradients still in place (AdaLoRA's rank allocation). ``keep_in_eval``: submodules
        that never train (a linear probe's frozen encoder: its dropout off)."""
        super().__init__()
        self.model = model
        self.keep_in_eval = keep_in_eval  # a tuple: not registered as submodules again
        self.task = task
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.warmup_ratio = warmup_ratio
        self.fused_adamw = fused_adamw
        self.check_every = check_every
        self.val_metrics = build_metrics(task)
        self.test_metrics = nn.ModuleList()
        self.test_names: list[str] = []
        self.history: list[dict] = []
        self.test_results: dict[str, float] = {}
        # Per test split: (label, prediction) of every example, in the loader's fixed order.
        self.test_examples: dict[str, tuple[list[int], list[int]]] = {}
        self._test_pairs: list[list[torch.Tensor]] = []
        self.after_step = after_step
        self._finite = None

    def set_test_splits(self, names: list[str]) -> None:
        self.test_names = names
        self.test_metrics = nn.ModuleList(build_metrics(self.task) for _ in names)
        self._test_pairs = [[] for _ in names]

    def forward(self, batch: dict) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        return self.model(**inputs).logits

    def on_fit_start(self) -> None:
        # from_pretrained returns a model in eval mode and Lightning (>= 2.2) keeps the
        # mode it finds: without this, pretrained backbones would train with dropout off.
        # Lightning's evaluation loops restore each module's mode, so the eval ones stay so.
        self.train()
        for module in self.keep_in_eval:
            module.eval()

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self.model(**batch).loss
        # Check finiteness on device and sync with the host only every few steps.
        finite = torch.isfinite(loss.detach())
        self._finite = finite if self._finite is None else self._finite & finite
        if (self.global_step + 1) % self.check_every == 0:
            self._raise_if_diverged()
            # Logging goes through Lightning's result collection: only when it is written.
            self.log("train/loss", loss.detach(), on_step=True, on_epoch=False,
                     batch_size=len(batch["labels"]))
        return loss

    def _raise_if_diverged(self) -> None:
        finite = self._finite is None or bool(self._finite)
        self._finite = None
        # Under DDP every rank stops together (one rank alone would leave the others waiting).
        if not self.trainer.strategy.reduce_boolean_decision(finite, all=True):
            raise Diverged(self.global_step)

    def on_train_epoch_end(self) -> None:
        self._raise_if_diverged()

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.val_metrics.update(predictions(self(batch), self.task), batch["labels"])

    def on_validation_epoch_end(self) -> None:
        values = {k: float(v) for k, v in self.val_metrics.compute().items()}
        self.val_metrics.reset()
        for name, value in values.items():
            # Already synchronised by torchmetrics; sync_dist only says so to Lightning.
            self.log(f"val/{name}", value, prog_bar=name == self.task.main_metric,
                     sync_dist=True)
        if not self.trainer.sanity_checking:
            entry = {"step": self.global_step, "epoch": self.current_epoch}
            entry.update({f"validation/{k}": v for k, v in values.items()})
            self.history.append(entry)

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        preds = predictions(self(batch), self.task)
        self.test_metrics[dataloader_idx].update(preds, batch["labels"])
        if not self.task.is_regression:  # kept for intervals over test examples
            pair = torch.stack([batch["labels"].detach(), preds.detach()]).cpu()
            self._test_pairs[dataloader_idx].append(pair)

    def on_test_epoch_end(self) -> None:
        for name, metrics in zip(self.test_names, self.test_metrics, strict=True):
            prefix = "" if name == "test" else f"{name.removeprefix('test_')}/"
            for metric, value in metrics.compute().items():
                self.test_results[f"{prefix}{metric}"] = float(value)
            metrics.reset()
        for name, pairs in zip(self.test_names, self._test_pairs, strict=True):
            if pairs:
                labels, preds = torch.cat(pairs, dim=1).tolist()
                self.test_examples[name] = (labels, preds)
            pairs.clear()

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None) -> None:
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        if self.after_step is not None:
            # Lightning counts this step once the hook returns.
            self.after_step(self.trainer.global_step + 1)

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None,
                                    gradient_clip_algorithm=None) -> None:
        # Lightning refuses to clip for fused optimizers under mixed precision, although
        # it has already unscaled the gradients here; clip by norm ourselves instead.
        if gradient_clip_val:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, gradient_clip_val)

    def configure_optimizers(self):
        decay, no_decay = [], []
        for param in self.model.parameters():
            if param.requires_grad:
                # No weight decay on biases and LayerNorm weights.
                (no_decay if param.ndim < 2 else decay).append(param)
        groups = [{"params": decay, "weight_decay": self.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        # The fused kernel exists for CPU and CUDA float tensors alike.
        optimizer = torch.optim.AdamW(groups, lr=self.lr, fused=self.fused_adamw or None)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = self.warmup_steps or math.ceil(self.warmup_ratio * total)
        # The same schedule as HF Trainer's "linear" (first step at lr 0), so results and
        # learning rates carry over between the two.
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler,
                                                         "interval": "step"}}

    # Resumed runs must continue with the same random stream and the same history.
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["peftsweep"] = {"history": self.history,
                                   "torch_rng": torch.get_rng_state()}
        if hasattr(self.after_step, "state_dict"):
            checkpoint["peftsweep"]["after_step"] = self.after_step.state_dict()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("peftsweep", {})
        self.history = list(state.get("history", []))
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
        if "after_step" in state and hasattr(self.after_step, "load_state_dict"):
            self.after_step.load_state_dict(state["after_step"])
