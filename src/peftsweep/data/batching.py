"""Length-grouped batches with dynamic padding.

Training batches come from shuffled "mega-batches" sorted by length, so each
batch holds similar lengths (little padding) while batch order stays random.
The shuffle depends only on (seed, epoch): a resumed run sees the same batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

PAD_COLUMNS = {"input_ids": "pad", "token_type_ids": 0, "attention_mask": 0}
GROUP_BATCHES = 50  # batches per length-sorted group; 1 gives plain random batches


class LengthGroupedBatchSampler(Sampler[list[int]]):
    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int,
                 shuffle: bool = True, group_batches: int = GROUP_BATCHES):
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.group = batch_size * group_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def sampler(self) -> LengthGroupedBatchSampler:
        # Lightning sets the epoch (also after a resume) through batch_sampler.sampler, the
        # attribute torch's BatchSampler has; without it every epoch replays epoch 0's order.
        return self

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        if not self.shuffle:
            # Evaluation: one global sort by length; order does not change metrics.
            order = np.argsort(-self.lengths, kind="stable")
            yield from (order[i:i + self.batch_size].tolist()
                        for i in range(0, len(order), self.batch_size))
            return
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        batches = []
        for start in range(0, len(order), self.group):
            chunk = order[start:start + self.group]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        for index in rng.permutation(len(batches)):
            yield batches[index].tolist()


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
        labels = np.asarray([row["labels"] for row in rows])
        batch["labels"] = torch.from_numpy(labels.astype(
            np.float32 if labels.dtype.kind == "f" else np.int64))
        return batch
