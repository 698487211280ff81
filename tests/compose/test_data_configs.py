"""Every data config composes to the same `data` section it always had.

The GLUE task files set only their name and task on top of conf/data/_glue.yaml;
this table pins what each one resolves to, key by key. A trial's identity is
a hash of its science config, so equal sections keep every identity unchanged.
"""

from __future__ import annotations

import dataclasses

import pytest

from peftsweep.compose.session import compose_config

from helpers import CONF

# Every data key's default, as the data schema (peftsweep.spec.config.DataConfig) declares it.
BASE = {"source": "hub", "hub_path": None, "hub_name": None, "data_dir": None,
        "train_file": None, "validation_file": None, "test_file": None, "column_names": None,
        "text_fields": None, "label_field": None, "label_names": None,
        "selection": "validation", "test_on": "test", "validation_fraction": 0.1,
        "split_seed": 0, "max_length": 128, "max_train_samples": None,
        "max_eval_samples": None, "demo_size": 2000}
# GLUE's test labels are hidden: select on a seeded split of train, test on validation.
GLUE = {"selection": "split_train", "test_on": "validation"}
GLUE_TASKS = ("cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli")
EXPECTED = {
    **{task: {"name": task, "task": task, **GLUE} for task in GLUE_TASKS},
    "demo": {"name": "demo", "task": "demo", "source": "demo", "max_length": 32},
    "imdb": {"name": "imdb", "task": "imdb", "selection": "split_train", "max_length": 256},
    # data_dir is the one key the test gives: the files source needs a folder.
    "files": {"name": "files", "task": "sst2", "source": "files", "data_dir": "<tmp>", **GLUE},
}
DATA_CONFIGS = sorted(p.stem for p in (CONF / "data").glob("*.yaml") if not p.stem.startswith("_"))


def test_every_data_config_has_an_expected_section():
    assert sorted(EXPECTED) == DATA_CONFIGS


@pytest.mark.parametrize("name", DATA_CONFIGS)
def test_data_config_resolves_as_expected(name, tmp_path):
    # MiniLM (offline, 512 positions) fits every config's max_length.
    overrides = [f"data={name}", "model=minilm"]
    if name == "files":
        overrides.append(f"data.data_dir={tmp_path}")
    data = dataclasses.asdict(compose_config(overrides, CONF).data)
    expected = {**BASE, **EXPECTED[name]}
    if name == "files":
        expected["data_dir"] = str(tmp_path)
    assert data == expected


def test_glue_task_files_say_only_what_differs():
    for task in GLUE_TASKS:
        text = (CONF / "data" / f"{task}.yaml").read_text()
        keys = {line.split(":")[0] for line in text.splitlines()
                if line and not line.startswith(("#", " ", "-"))}
        assert keys == {"defaults", "name", "task"}, task
