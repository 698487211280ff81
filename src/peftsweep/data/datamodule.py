"""The LightningDataModule: cached tokenized splits -> length-grouped padded batches."""

from __future__ import annotations

import logging

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from peftsweep.data.batching import (
    GROUP_BATCHES,
    LengthGroupedBatchSampler,
    PaddingCollator,
    TokenizedSplit,
    use_grouping,
)
from peftsweep.data.cache import prepare
from peftsweep.data.feature_split import FeatureSplit, collate_features
from peftsweep.spec.config import DataConfig, task_spec

log = logging.getLogger(__name__)


class ClassificationDataModule(pl.LightningDataModule):
    def __init__(self, data: DataConfig, tokenizer, cache_dir: str, *, batch_size: int,
                 eval_batch_size: int | None, seed: int, group_by_length: bool | str,
                 pad_to_multiple_of: int | None = None):
        super().__init__()
        self.data = data
        self.tokenizer = tokenizer
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or 2 * batch_size
        self.seed = seed
        self.group_by_length = group_by_length
        self.spec = task_spec(data)
        self.collate = PaddingCollator(tokenizer.pad_token_id or 0, pad_to_multiple_of)
        self.splits: dict[str, TokenizedSplit] = {}
        self.batching: dict = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        tokenized = prepare(self.data, self.tokenizer, self.cache_dir)
        for name, split in tokenized.items():
            self.splits[name] = TokenizedSplit(split, split.column_names)
        self._choose_batching()

    def _choose_batching(self) -> None:
        setting = self.group_by_length
        grouped, saving = use_grouping(setting, self.splits["train"].lengths,
                                       self.batch_size, self.seed)
        self.batching = {"order": "length-grouped" if grouped else "random",
                         "group_by_length": setting, "padded_tokens_saved": round(saving, 4)}
        log.info("training batches: %s (group_by_length=%s; grouping saves %.1f%% of the "
                 "padded tokens)", self.batching["order"], setting, 100 * saving)

    def use_features(self, features: dict[str, torch.Tensor]) -> None:
        """Serve every split as features (one tensor per split, rows in the split's order)
        in the batches its tokens would have made."""
        self.splits = {name: FeatureSplit(features[name], split)
                       for name, split in self.splits.items()}
        self.collate = collate_features

    @property
    def test_split_names(self) -> list[str]:
        return sorted(name for name in self.splits if name.startswith("test"))

    def _loader(self, name: str, train: bool) -> DataLoader:
        split = self.splits[name]
        size = self.batch_size if train else self.eval_batch_size
        group = GROUP_BATCHES if train and self.batching["order"] == "length-grouped" else 1
        # Each DDP rank takes its own share of the batches (see LengthGroupedBatchSampler).
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        sampler = LengthGroupedBatchSampler(split.lengths, size, self.seed, shuffle=train,
                                            group_batches=group, rank=rank, world_size=world)
        return DataLoader(split, batch_sampler=sampler, collate_fn=self.collate)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", train=False)

    def test_dataloader(self) -> list[DataLoader]:
        return [self._loader(name, train=False) for name in self.test_split_names]
