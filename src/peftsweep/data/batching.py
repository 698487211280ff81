"""Training batch order and dynamic padding.

Two orders, both depending only on (seed, epoch), so a resumed run sees the
same batches:
- length-grouped: shuffled "mega-batches" sorted by length, so each batch holds
  similar lengths (little padding) while batch order stays random;
- random: HF Trainer's own order (one torch permutation seeded with
  seed + epoch, cut into consecutive batches), so a trial with random batches
  repeats an HF Trainer run with the same seed step for step. It keeps HF's
  quirk: seed s draws at epoch e + 1 the permutation seed s + 1 draws at epoch e.
Grouping trades some randomness for speed; `auto` takes the trade only where it
saves a real share of the padded tokens.

Under DDP (world_size > 1) every rank builds the same epoch order and takes its
share: the batches are dealt in runs of world_size neighbours of one length
group, so the ranks of one step see similar lengths (none waits long for
another), and every rank gets the same number of training batches (the last
run is filled with the epoch's first batches, as DistributedSampler does).
Evaluation batches are dealt round robin without filling: each example counts
once in the synchronised metrics. With world_size 1 the order is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

PAD_COLUMNS = {"input_ids": "pad", "token_type_ids": 0, "attention_mask": 0}
GROUP_BATCHES = 50  # batches per length-sorted group; 1 gives HF Trainer's random order
AUTO_MIN_SAVING = 0.10  # `auto` groups when that cuts padded training tokens by >= 10%


class LengthGroupedBatchSampler(Sampler[list[int]]):
    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int,
                 shuffle: bool = True, group_batches: int = GROUP_BATCHES,
                 rank: int = 0, world_size: int = 1):
        self.lengths = np.asarray(lengths)
        self.rank = rank
        self.world_size = world_size
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.group_batches = group_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def sampler(self) -> LengthGroupedBatchSampler:
        # Lightning sets the epoch (also after a resume) through batch_sampler.sampler, the
        # attribute torch's BatchSampler has; without it every epoch replays epoch 0's order.
        return self

    def __len__(self) -> int:
        batches = -(-len(self.lengths) // self.batch_size)
        if self.shuffle:
            return -(-batches // self.world_size)
        return len(range(self.rank, batches, self.world_size))

    def __iter__(self) -> Iterator[list[int]]:
        if not self.shuffle:
            # Evaluation: one global sort by length; order does not change metrics.
            order = np.argsort(-self.lengths, kind="stable")
            batches = _cut(order, self.batch_size)[self.rank::self.world_size]
            yield from (batch.tolist() for batch in batches)
            return
        yield from (batch.tolist() for batch in self.epoch_batches())

    def epoch_batches(self) -> list[np.ndarray]:
        """This rank's training batches of the current epoch."""
        world = self.world_size
        if self.group_batches == 1:
            # HF Trainer's order: accelerate seeds its sampler with seed + epoch.
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(len(self.lengths), generator=generator).numpy()
            return _fill(_cut(order, self.batch_size), world)[self.rank::world]
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        batches = []
        group = self.batch_size * self.group_batches
        for start in range(0, len(order), group):
            chunk = order[start:start + group]
            batches += _cut(chunk[np.argsort(-self.lengths[chunk], kind="stable")], self.batch_size)
        runs = _cut(_fill(batches, world), world)  # neighbours in length go to one step
        return [runs[index][self.rank] for index in rng.permutation(len(runs))]


def _cut(order: Sequence, size: int) -> list:
    return [order[i:i + size] for i in range(0, len(order), size)]


def _fill(batches: list[np.ndarray], world: int) -> list[np.ndarray]:
    """Repeat the first batches so that every rank gets as many."""
    missing = -len(batches) % world
    return batches + batches[:missing]


def grouping_saving(lengths: Sequence[int], batch_size: int, seed: int) -> float:
    """Share of the padded training tokens that length grouping saves over random batches."""
    lengths = np.asarray(lengths)

    def padded(group_batches: int) -> int:
        sampler = LengthGroupedBatchSampler(lengths, batch_size, seed, group_batches=group_batches)
        return sum(int(lengths[batch].max()) * len(batch) for batch in sampler.epoch_batches())

    random_tokens = padded(1)
    return 1 - padded(GROUP_BATCHES) / random_tokens if random_tokens else 0.0


def use_grouping(setting: bool | str, lengths: Sequence[int], batch_size: int,
                 seed: int) -> tuple[bool, float]:
    """Resolve trainer.group_by_length (true, false or auto) for one training split."""
    saving = grouping_saving(lengths, batch_size, seed)
    grouped = saving >= AUTO_MIN_SAVING if setting == "auto" else bool(setting)
    return grouped, saving


class TokenizedSplit(Dataset):
    """A tokenized split held as numpy arrays; fetches whole batches at once."""

    def __init__(self, hf_split, columns: list[str]):
        self.columns = columns
        self.rows = {c: [np.asarray(v, dtype=np.int64) for v in hf_split[c]]
                     for c in columns if c != "labels"}
        self.labels = np.asarray(hf_split["labels"])
        self.lengths = np.asarray(hf_split["length"])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict]:
        return [{**{c: self.rows[c][i] for c in self.rows}, "labels": self.labels[i]}
                for i in indices]


class PaddingCollator:
    def __init__(self, pad_token_id: int, pad_to_multiple_of: int | None = None):
        self.pad_token_id = pad_token_id
        self.multiple = pad_to_multiple_of

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        longest = max(len(row["input_ids"]) for row in rows)
        if self.multiple:
            longest = -(-longest // self.multiple) * self.multiple
        batch = {}
        for column, pad in PAD_COLUMNS.items():
            if column not in rows[0]:
                continue
            value = self.pad_token_id if pad == "pad" else pad
            out = np.full((len(rows), longest), value, dtype=np.int64)
            for i, row in enumerate(rows):
                out[i, :len(row[column])] = row[column]
            batch[column] = torch.from_numpy(out)
        batch["labels"] = label_tensor(rows)
        return batch


def label_tensor(rows: list[dict]) -> torch.Tensor:
    """The batch's labels: floats for a regression task, class indices otherwise."""
    labels = np.asarray([row["labels"] for row in rows])
    return torch.from_numpy(labels.astype(np.float32 if labels.dtype.kind == "f" else np.int64))
