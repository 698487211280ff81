"""The config schema: every key declared once, every key checked the same way.

The bad-value table is generated from the schema itself, so a key added to any
group or strategy is covered without touching this file.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import typing

import pytest
import yaml
from omegaconf import OmegaConf

from peftsweep.compose.session import compose_config, conf_dir, hydra_session
from peftsweep.compose.validate import validate
from peftsweep.errors import ConfigError
from peftsweep.spec.config import GROUPS, MlflowConfig, RunConfig, TrialConfig
from peftsweep.spec.families import FAMILIES
from peftsweep.spec.schema import defaults, type_hints
from peftsweep.spec.search import SearchSettings, parse_settings
from peftsweep.strategies import STRATEGIES, validate_strategy

CONF = conf_dir()
SCHEMAS = {**GROUPS, "": RunConfig}
# Sub-groups, with the override that turns them on.
NESTED = {"logger.mlflow": (MlflowConfig, "logger=mlflow")}


def composed(*overrides: str) -> dict:
    """The plain composed config, as Hydra hands it to a trial."""
    from hydra import compose

    with hydra_session(CONF, list(overrides)):
        return OmegaConf.to_container(compose("train", overrides=list(overrides)), resolve=True)


def bad_values(f: dataclasses.Field, hint) -> list[tuple[object, str]]:
    """Values that break a field's declaration, each with the problem it must report."""
    members = typing.get_args(hint) or (hint,)
    origins = {typing.get_origin(m) or m for m in members}
    cases = []
    if str in origins and int in origins:  # e.g. a budget: 5000 or '0.5%'
        cases.append(([1, 2], "must be"))
    elif str in origins:
        cases.append((12345, "must be"))
    elif bool in origins:
        cases.append(("maybe", "must be true or false"))
    else:
        cases.append(("abc", "must be"))
    meta = f.metadata
    if meta.get("choices") and str in origins:
        cases.append(("no-such-value", "unknown value 'no-such-value'"))
    if float in origins and meta.get("finite", True):  # one rule: no infinity, no NaN
        cases += [(math.inf, "must be finite, got inf"), (-math.inf, "must be finite"),
                  (math.nan, "must be finite, got nan")]
    for key, below in (("gt", 0), ("ge", 1)):
        if meta.get(key) is not None:
            cases.append((meta[key] - below, f"must be {'>' if key == 'gt' else '>='}"))
    for key, above in (("lt", 0), ("le", 1)):
        if meta.get(key) is not None:
            cases.append((meta[key] + above, f"must be {'<' if key == 'lt' else '<='}"))
    return cases


def every_field_case():
    for group, cls in SCHEMAS.items():
        hints = type_hints(cls)
        for f in dataclasses.fields(cls):
            for value, problem in bad_values(f, hints[f.name]):
                key = f"{group}.{f.name}" if group else f.name
                yield pytest.param(group, None, f.name, value, problem, id=f"{key}={value!r}")
    for group, (cls, _) in NESTED.items():
        hints = type_hints(cls)
        for f in dataclasses.fields(cls):
            for value, problem in bad_values(f, hints[f.name]):
                yield pytest.param(group, None, f.name, value, problem,
                                   id=f"{group}.{f.name}={value!r}")
    for name, strategy in STRATEGIES.items():
        hints = type_hints(strategy.Options)
        for f in dataclasses.fields(strategy.Options):
            for value, problem in bad_values(f, hints[f.name]):
                yield pytest.param("strategy", name, f.name, value, problem,
                                   id=f"strategy={name}.{f.name}={value!r}")


@pytest.fixture(scope="module")
def base_configs():
    configs = {None: composed()}
    for group, (_, override) in NESTED.items():
        configs[group] = composed(override)
    for name in STRATEGIES:
        configs[name] = composed(f"strategy={name}")
    return configs


@pytest.mark.parametrize(("group", "strategy", "key", "value", "problem"), list(every_field_case()))
def test_every_key_rejects_a_bad_value_by_name(base_configs, group, strategy, key, value,
                                               problem):
    raw = copy.deepcopy(base_configs[group if group in NESTED else strategy])
    section = raw
    for part in filter(None, group.split(".")):
        section = section[part]
    section[key] = value
    full_key = f"{group}.{key}" if group else key
    with pytest.raises(ConfigError) as caught:
        validate(raw)
    message = str(caught.value)
    assert message.startswith(f"{full_key}: "), message
    assert problem in message, message
    assert "(allowed: " in message, message
    assert "\n" not in message


def search_cases():
    hints = type_hints(SearchSettings)
    for f in dataclasses.fields(SearchSettings):
        for value, problem in bad_values(f, hints[f.name]):
            yield pytest.param(f.name, value, problem, id=f"search.{f.name}={value!r}")


@pytest.mark.parametrize(("key", "value", "problem"), list(search_cases()))
def test_every_search_key_rejects_a_bad_value_by_name(key, value, problem):
    with pytest.raises(ConfigError) as caught:
        parse_settings({key: value})
    message = str(caught.value)
    assert message.startswith(f"search.{key}: ") and problem in message, message
    assert "(allowed: " in message and "\n" not in message


@pytest.mark.parametrize("group", [g for g in SCHEMAS if g])
def test_unknown_keys_are_named_with_the_allowed_ones(base_configs, group):
    raw = copy.deepcopy(base_configs[None])
    raw[group]["no_such_key"] = 1
    with pytest.raises(ConfigError, match=rf"^{group}.no_such_key: unknown key \(allowed: "):
        validate(raw)


def test_unknown_top_level_key(base_configs):
    raw = {**base_configs[None], "lerning_rate": 1e-3}
    with pytest.raises(ConfigError, match=r"^lerning_rate: unknown key \(allowed: .*lr"):
        validate(raw)


CROSS_FIELD = {
    "test on the selection split": (["data.test_on=validation"], r"^data.test_on: cannot test"),
    "fraction of an epoch above 1": (["trainer.val_check_interval=1.5"],
                                     r"^trainer.val_check_interval: a fraction of an epoch"),
    "length beyond the positions": (["data.max_length=65"],
                                    r"^data.max_length: 65 is beyond the 64 positions"),
    "PEFT's own constraint": (["strategy=ia3", "strategy.target_modules=[query]",
                               "strategy.feedforward_modules=[value]"],
                              r"^strategy.feedforward_modules: rejected by PEFT: "),
    "prefix without caches": (["strategy=prefix", "model=distilbert"],
                              r"^strategy.name: prefix tuning needs .* distilbert"),
    "prefix MLP size without the MLP": (["strategy=prefix", "strategy.encoder_hidden_size=64"],
                                        r"^strategy.encoder_hidden_size: only used with"),
    "files without a train file": (["data=files"], r"^data.train_file: data.source=files needs"),
    "missing folder": (["data=files", "data.data_dir=/no/such/folder"],
                       r"^data.data_dir: no such folder"),
}


@pytest.mark.parametrize("case", sorted(CROSS_FIELD))
def test_cross_field_constraints(case):
    overrides, pattern = CROSS_FIELD[case]
    with pytest.raises(ConfigError, match=pattern):
        compose_config(overrides)


def test_every_key_carries_help_text():
    classes = [*SCHEMAS.values(), *(s.Options for s in STRATEGIES.values())]
    for cls in classes:
        for f in dataclasses.fields(cls):
            assert f.metadata.get("help"), f"{cls.__qualname__}.{f.name} has no help text"


def _schema_of(path) -> dict:
    """The defaults a group YAML file starts from (its schema node, or a base YAML file)."""
    raw = yaml.safe_load(path.read_text()) or {}
    group = path.parent.name
    base: dict = {}
    for entry in raw.get("defaults", []):
        if entry == "_self_":
            continue
        if entry == "_schema":
            base.update(defaults({**GROUPS, "search": SearchSettings}[group]))
        elif entry.startswith("_schema_"):
            name = entry.removeprefix("_schema_")
            # strategy=peft: the keys are those of the method the file names.
            options = STRATEGIES[name].options_for({k: v for k, v in raw.items()
                                                    if k != "defaults"})
            base.update({"name": name, **defaults(options)})
        else:
            parent = path.with_name(f"{entry}.yaml")
            base.update(_schema_of(parent))
            base.update({k: v for k, v in yaml.safe_load(parent.read_text()).items()
                         if k != "defaults"})
    return base


GROUP_FILES = sorted(p for g in ("model", "data", "trainer", "logger", "strategy", "search")
                     for p in (CONF / g).glob("*.yaml"))


@pytest.mark.parametrize("path", GROUP_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_presets_only_override(path):
    """A group file sets only keys of its schema, and only to values other than its base's."""
    raw = yaml.safe_load(path.read_text()) or {}
    assert raw.get("defaults"), f"{path.name} does not start from a schema"
    base = _schema_of(path)
    for key, value in raw.items():
        if key == "defaults":
            continue
        assert key in base, f"{path.name}: {key} is not a key of its schema"
        assert value != base[key], f"{path.name}: {key}: {value!r} repeats a default"


def test_train_yaml_declares_no_defaults():
    raw = yaml.safe_load((CONF / "train.yaml").read_text())
    assert set(raw) == {"defaults"}, "top-level defaults belong to RunConfig"


def test_composed_defaults_are_the_declared_ones(base_configs):
    raw = base_configs[None]
    assert {k: raw[k] for k in defaults(RunConfig)} == defaults(RunConfig)
    assert raw["trainer"] == defaults(GROUPS["trainer"])
    assert raw["parallel"] == defaults(GROUPS["parallel"])


def test_runtime_keys_stay_out_of_the_identity():
    cfg = compose_config([])
    for key in ("num_threads", "log_every_n_steps", "devices", "eval_batch_size",
                "keep_checkpoint", "enable_progress_bar"):
        value = {"num_threads": 3, "log_every_n_steps": 7, "devices": 2, "eval_batch_size": 9,
                 "keep_checkpoint": True, "enable_progress_bar": True}[key]
        changed = dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, **{key: value}))
        assert changed.identity() == cfg.identity(), key
    other = dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, warmup_ratio=0.1))
    assert other.identity() != cfg.identity()


def test_identity_is_stable_across_spellings():
    assert compose_config(["lr=1"]).identity() == compose_config(["lr=1.0"]).identity()
    assert isinstance(compose_config(["lr=1"]).lr, float)


def test_trial_config_round_trips_through_its_dict():
    cfg = compose_config(["strategy=lora_r2"])
    raw = cfg.to_dict()
    assert set(raw) == {f.name for f in dataclasses.fields(TrialConfig)}
    assert raw["strategy"]["r"] == 2 and cfg.strategy_label == "lora(r=2, alpha=8, dropout=0.01)"


def test_validate_strategy_fills_defaults():
    filled = validate_strategy({"name": "prefix"}, FAMILIES["bert"])
    # Every key but the budget, which joins the identity only when set.
    expected = {k: v for k, v in defaults(STRATEGIES["prefix"].Options).items() if k != "budget"}
    assert filled == {"name": "prefix", **expected}


def test_error_lists_group_options_without_schema_nodes():
    with pytest.raises(ConfigError) as caught:
        compose_config(["strategy=sgd"])
    allowed = re.search(r"allowed: (.*)\)", str(caught.value)).group(1).split(", ")
    assert "lora" in allowed and "prefix" in allowed
    assert not any(option.startswith("_") for option in allowed)
