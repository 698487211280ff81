"""The pack's loop: every step, one forward and backward of the shared backbone over each
running trial's own batch, then each trial's own optimizer step; evaluation packed too."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from peftsweep.data.batching import PAD_COLUMNS
from peftsweep.models.metrics import build_metrics, predictions
from peftsweep.spec.tasks import TaskSpec
from peftsweep.trial.packed.dropout import stream
from peftsweep.trial.packed.member import Member
from peftsweep.trial.packed.prompts import with_prompts
from peftsweep.trial.packed.state import PackState


@dataclass
class Pack:
    model: nn.Module
    state: PackState
    members: list[Member]
    splits: dict
    collate: object
    task: TaskSpec
    device: torch.device
    precision: str
    eval_batch_size: int
    pad_token_id: int
    train_s: float = 0.0
    eval_s: float = 0.0
    epochs_trained: int = 0
    test: dict = field(default_factory=dict)

    def running(self) -> list[Member]:
        return [m for m in self.members if m.training]


def train(pack: Pack, epochs: int, batches: int, every: int, check_every: int) -> None:
    """Train every running member to its last epoch (or its early stop or divergence)."""
    first_epoch = min(m.epoch for m in pack.running()) if pack.running() else epochs
    for epoch in range(first_epoch, epochs):
        members = pack.running()
        if not members:
            break
        orders = {}
        for member in members:
            member.epoch = epoch
            member.sampler.set_epoch(epoch)
            orders[member.slot] = member.sampler.epoch_batches()
            member.heartbeat.epoch_started(epoch)
        skip = members[0].batches_done  # > 0 only when resuming inside this epoch
        pack.model.train()
        mark = _now(pack.device)
        for index in range(skip, batches):
            members = pack.running()
            if not members:
                break
            rows = [pack.collate(pack.splits["train"].__getitems__(orders[m.slot][index].tolist()))
                    for m in members]
            losses = _losses(pack, members, rows)
            sum(losses).backward()
            for member, loss in zip(members, losses, strict=True):
                _step(member, loss, check_every, last=index == batches - 1)
                member.batches_done = index + 1
            if (index + 1) % every == 0:
                pack.train_s += _now(pack.device) - mark
                _validate(pack, [m for m in members if m.training])
                mark = _now(pack.device)
                pack.model.train()
        pack.train_s += _now(pack.device) - mark
        pack.epochs_trained += 1
        for member in pack.running():
            member.heartbeat.epoch_ended(epoch)
            member.batches_done = 0
    for member in pack.running():
        member.status = "done"


def _step(member: Member, loss: torch.Tensor, check_every: int, last: bool) -> None:
    member.losses.append(loss.detach())
    finite = torch.isfinite(loss.detach())
    member.finite = finite if member.finite is None else member.finite & finite
    try:
        member.clip_and_step()
    except Exception as err:  # noqa: BLE001 - one trial's failure leaves the others running
        member.status, member.error = "failed", f"{type(err).__name__}: {err}"
        member.failed_step = member.step
        return
    if member.step % member.cfg.trainer.log_every_n_steps == 0:
        member.log({"train/loss": float(loss.detach())})
    if member.step % check_every == 0 or last:
        if not bool(member.finite):
            member.status, member.failed_step = "diverged", member.step
            member.error = f"loss is not finite at step {member.step}"
        member.finite = None


def _losses(pack: Pack, members: list[Member], rows: list[dict]) -> list[torch.Tensor]:
    logits = _logits(pack, members, rows)
    out = []
    for logit, row in zip(logits, rows, strict=True):
        labels = row["labels"].to(pack.device)
        if pack.task.is_regression:
            out.append(F.mse_loss(logit.squeeze(), labels.squeeze()))
        else:
            out.append(F.cross_entropy(logit.view(-1, logit.shape[-1]), labels.view(-1)))
    return out


def _logits(pack: Pack, members: list[Member], rows: list[dict]) -> list[torch.Tensor]:
    """Each member's logits for its own rows, from one forward of the shared backbone."""
    longest = max(row["input_ids"].shape[1] for row in rows)
    inputs = {}
    for column, pad in PAD_COLUMNS.items():
        if column in rows[0]:
            value = pack.pad_token_id if pad == "pad" else pad
            inputs[column] = torch.cat([F.pad(row[column], (0, longest - row[column].shape[1]),
                                              value=value) for row in rows]).to(pack.device)
    pack.state.active = [m.slot for m in members]
    pack.state.streams = [stream(m.cfg.seed, m.step) for m in members]
    pack.state.padding = [longest - row["input_ids"].shape[1] for row in rows]
    pack.state.rows = inputs["input_ids"].shape[0]
    sizes = [len(row["labels"]) for row in rows]
    prompts = [m.twin.prompt for m in members]
    if prompts[0] is not None:
        inputs = with_prompts(pack.model, prompts, sizes, inputs)
    with _autocast(pack):
        logits = pack.model(**inputs).logits
    return list(logits.float().split(sizes))


def _validate(pack: Pack, members: list[Member]) -> None:
    if not members:
        return
    started = _now(pack.device)
    values = _evaluate(pack, members, "validation")
    for member in members:
        member.validated(values[member.slot][0], pack.task.main_metric)
        member.save()
    pack.eval_s += _now(pack.device) - started


@torch.no_grad()
def _evaluate(pack: Pack, members: list[Member], split_name: str) -> dict[int, tuple]:
    """slot -> (metrics, labels, predictions) over one split, rows in the loader's order."""
    pack.model.eval()
    split = pack.splits[split_name]
    order = np.argsort(-np.asarray(split.lengths), kind="stable")
    metrics = {m.slot: build_metrics(pack.task).to(pack.device) for m in members}
    pairs: dict[int, list] = {m.slot: [] for m in members}
    for start in range(0, len(order), pack.eval_batch_size):
        batch = pack.collate(split.__getitems__(order[start:start + pack.eval_batch_size]
                                                .tolist()))
        labels = batch["labels"].to(pack.device)
        for member, logit in zip(members, _logits(pack, members, [batch] * len(members)),
                                 strict=True):
            preds = predictions(logit, pack.task)
            metrics[member.slot].update(preds, labels)
            pairs[member.slot].append(torch.stack([labels, preds]).cpu())
    out = {}
    for member in members:
        values = {k: float(v) for k, v in metrics[member.slot].compute().items()}
        if pack.task.is_regression:
            out[member.slot] = (values, None, None)
        else:
            labels, preds = torch.cat(pairs[member.slot], dim=1).tolist()
            out[member.slot] = (values, labels, preds)
    return out


def test_at_best(pack: Pack, members: list[Member], test_splits: list[str]) -> None:
    """Each member's best weights back in place, then every test split, packed."""
    started = _now(pack.device)
    with torch.no_grad():
        for member in members:
            for name, param in member.twin.named.items():
                param.copy_(member.best_state[name])
    for split in test_splits:
        for slot, found in _evaluate(pack, members, split).items():
            pack.test.setdefault(slot, {})[split] = found
    pack.eval_s += _now(pack.device) - started


def _autocast(pack: Pack):
    if pack.precision.startswith("bf16"):
        return torch.autocast(pack.device.type, dtype=torch.bfloat16)
    if pack.precision.startswith("16"):
        return torch.autocast(pack.device.type, dtype=torch.float16)
    return contextlib.nullcontext()


def _now(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()
