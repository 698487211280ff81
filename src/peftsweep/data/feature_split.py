"""A split whose examples are a frozen backbone's features instead of tokens.

It keeps the tokenized split's labels and lengths, so the batch samplers deal exactly the
batches they deal over tokens: a trial on features sees the same examples in the same
order as one on tokens (models/features.py says what a feature is).
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from peftsweep.data.batching import TokenizedSplit, label_tensor


class FeatureSplit(Dataset):
    def __init__(self, features: torch.Tensor, tokenized: TokenizedSplit):
        if len(features) != len(tokenized):
            raise ValueError(f"{len(features)} feature rows for a split of {len(tokenized)}")
        self.features = features
        self.labels = tokenized.labels
        self.lengths = tokenized.lengths

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict]:
        return [{"inputs_embeds": self.features[i], "labels": self.labels[i]} for i in indices]


def collate_features(rows: list[dict]) -> dict[str, torch.Tensor]:
    """Features are one size: stacked, never padded."""
    return {"inputs_embeds": torch.stack([row["inputs_embeds"] for row in rows]),
            "labels": label_tensor(rows)}
