"""Bad input: one line naming the key and what is allowed, exit 2, no result written."""

from __future__ import annotations

import pytest

from peftsweep.sweep.launch import run as cli

from helpers import RTE_HEADER, write_tsv


def rte(folder, *extra) -> list[str]:
    # The tiny demo model has 64 positions.
    return ["data=files", "data.task=rte", f"data.data_dir={folder}", "data.max_length=64",
            *extra]


CASES = {
    "unknown strategy": (["strategy=sgd"], r"^strategy: .*sgd.*allowed: .*bitfit.*lora"),
    "unknown model": (["model=gpt9"], r"^model: .*gpt9.*allowed: .*bert_tiny"),
    "unknown data": (["data=squad"], r"^data: .*squad.*allowed: .*imdb.*rte"),
    "zero lr": (["lr=0"], r"^lr: must be > 0, got 0"),
    "negative lr": (["lr=-3e-4"], r"^lr: must be > 0"),
    "zero batch size": (["batch_size=0"], r"^batch_size: must be > 0"),
    "fractional batch size": (["batch_size=1.5"],
                              r"^batch_size: must be an integer, got 1.5 \(allowed: an integer"),
    "unknown key": (["strategy.rank=4", "strategy=lora"],
                    r"^strategy.rank: unknown key \(allowed: alpha, bias, budget, dropout, name, "
                    r"r,"),
    "missing file": (["data=files", "data.train_file=/no/such/train.csv"],
                     r"^data.train_file: no such file: /no/such/train.csv"),
    "lora target": (["strategy=lora", "strategy.target_modules=[q_proj]"],
                    r"^strategy.target_modules: model has no module 'q_proj'.*allowed: .*query"),
    # Not in the (empty) caches while offline: the line says which flag is set and what to do.
    "offline hub model": (["model=bert_base"],
                          r"^model.name_or_path: cannot load 'bert-base-uncased'.*HF_HUB_OFFLINE"
                          r".* is set .* load it once with network access"),
    "offline hub data": (["data=imdb", "data.max_length=64"],
                         r"^data.hub_path: cannot load 'stanfordnlp/imdb'.*HF_DATASETS_OFFLINE"
                         r".* is set .*data.source=files"),
    "unknown data key": (["data.max_lenght=64"],
                         r"^data.max_lenght: unknown key \(allowed: .*max_length"),
    "bad policy": (["data.selection=validation", "data.test_on=validation"], r"^data.test_on"),
    "non-boolean switch": (["trainer.fused_adamw=maybe"],
                           r"^trainer.fused_adamw: must be true or false, got 'maybe'"),
    "bad batch order": (["trainer.group_by_length=maybe"],
                        r"^trainer.group_by_length: unknown value 'maybe' "
                        r"\(allowed: true, false, auto\)"),
    "strategy option of the wrong type": (["strategy=lora", "strategy.r=abc"],
                                          r"^strategy.r: must be an integer, got 'abc'"),
    "length beyond the model": (["data.max_length=512"],
                                r"^data.max_length: 512 is beyond the 64 positions of model tiny"),
    "prefix on a family without caches": (["strategy=prefix", "model=distilbert"],
                                          r"^strategy.name: prefix tuning needs .*distilbert"),
    "no devices": (["trainer.devices=0"], r"^trainer.devices: "),
    # Infinity and NaN pass a check for > 0 (or fail it with a puzzling message): one rule.
    "infinite lr": (["lr=inf"], r"^lr: must be finite, got inf \(allowed: a finite number > 0"),
    "lr overflowing to infinity": (["lr=1e999"], r"^lr: must be finite, got inf"),
    "NaN lr": (["lr=nan"], r"^lr: must be finite, got nan"),
    "infinite clipping": (["trainer.gradient_clip_val=inf"],
                          r"^trainer.gradient_clip_val: must be finite"),
    "infinite weight decay": (["trainer.weight_decay=inf"],
                              r"^trainer.weight_decay: must be finite"),
    "NaN warmup": (["trainer.warmup_ratio=nan"], r"^trainer.warmup_ratio: must be finite"),
    "infinite strategy option": (["strategy=lora", "strategy.alpha=inf"],
                                 r"^strategy.alpha: must be finite"),
    "infinite number inside a mapping": (["model=bert_tiny", "model.pretrained=false",
                                          "+model.arch.layer_norm_eps=inf"],
                                         r"^model.arch.layer_norm_eps: must be finite"),
    "password in the tracking URI": (["logger=mlflow",
                                      "logger.mlflow.tracking_uri=http://me:pw@host:5000"],
                                     r"^logger.mlflow.tracking_uri: holds a password"),
    "override the grammar cannot parse": (["lr=1=2"], r"^lr: cannot parse the override "
                                                      r"\(mismatched input '='.*lr='...'"),
}


def check_rejected(capsys, tmp_path, argv, pattern):
    sweep = tmp_path / "sweep"
    code = cli([*argv, f"resume={sweep}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("peftsweep: error: ")
    assert __import__("re").search(pattern, err[0].removeprefix("peftsweep: error: ")), err[0]
    assert not list(tmp_path.rglob("result.json"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_rejected_before_training(case, capsys, tmp_path, cache_dir):
    argv, pattern = CASES[case]
    check_rejected(capsys, tmp_path, argv, pattern)


def test_missing_column(capsys, tmp_path, rte_dir, cache_dir):
    check_rejected(capsys, tmp_path, rte(rte_dir, "data.text_fields=[premise,hypothesis]"),
                   r"column 'premise' not in split .*sentence1")


def test_label_outside_declared_set(capsys, tmp_path, rte_dir, cache_dir):
    with open(rte_dir / "train.tsv", "a", encoding="utf-8") as handle:
        handle.write("99\tA.\tB.\tneutral\n")
    check_rejected(capsys, tmp_path, rte(rte_dir), r"label 'neutral' .*not one of")


def test_empty_split(capsys, tmp_path, rte_dir, cache_dir):
    write_tsv(rte_dir / "validation.tsv", RTE_HEADER, [])
    check_rejected(capsys, tmp_path, rte(rte_dir), r"validation.tsv is empty")


def test_bad_value_in_one_grid_axis_fails_the_whole_sweep(capsys, tmp_path, cache_dir):
    check_rejected(capsys, tmp_path, ["-m", "strategy=full,bitfit", "lr=1e-3,0,2e-3"],
                   r"^lr: must be > 0, got 0")
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("override", [
    "+search.space.trainer.weight_decay={type:float,low:0,high:inf}",
    "+search.space.trainer.warmup_steps={type:int,low:nan,high:10}",
    "search.space.lr.choices=[0.003,inf]"])
def test_non_finite_search_bounds_stop_the_search(capsys, tmp_path, search_conf, monkeypatch,
                                                  override):
    from peftsweep.sweep import launch

    monkeypatch.setattr(launch, "CONF_DIR", search_conf)
    check_rejected(capsys, tmp_path, ["-m", "hydra/sweeper=search", "search=test", override],
                   r"^search.space.\S+: must be finite, got (inf|nan)")


def test_the_space_parser_refuses_non_finite_bounds_itself():
    from peftsweep.errors import ConfigError
    from peftsweep.study.space import parse_space

    with pytest.raises(ConfigError, match=r"^search.space.lr.high: must be finite, got inf"):
        parse_space({"lr": {"type": "float", "low": 1e-5, "high": float("inf")}})
    with pytest.raises(ConfigError, match=r"^search.space.r.low: must be finite, got -inf"):
        parse_space({"r": {"type": "int", "low": float("-inf"), "high": 8}})


def test_an_unparsable_storage_override_is_named_without_its_password(capsys, tmp_path,
                                                                      search_conf, monkeypatch):
    """A query string needs quoting in Hydra's grammar; unquoted, one line names the key."""
    from peftsweep.sweep import launch

    monkeypatch.setattr(launch, "CONF_DIR", search_conf)
    url = "postgresql://me:pw-not-shown@127.0.0.1:1/db?sslmode=require&connect_timeout=3"
    code = launch.run(["-m", "hydra/sweeper=search", "search=test", f"search.storage={url}",
                       f"resume={tmp_path / 'sweep'}"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("peftsweep: error: search.storage: cannot parse the "
                                        "override"), err
    assert "pw-not-shown" not in err and not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(("overrides", "pattern"), [
    (["hydra.sweeper.pack_size=0"], r"^hydra.sweeper.pack_size: must be a whole number >= 1"),
    (["hydra/launcher=packed", "hydra.launcher.workers=two"],
     r"^hydra.launcher.workers: must be a whole number >= 1, got 'two'"),
    (["hydra/launcher=packed", "hydra.sweeper.pack_size=4"],
     r"^hydra.sweeper.pack_size: hydra/launcher=packed packs by itself")])
def test_pack_options_are_checked_before_any_trial(capsys, tmp_path, cache_dir, overrides,
                                                   pattern):
    check_rejected(capsys, tmp_path, ["-m", "strategy=bitfit,lora", *overrides], pattern)
    assert not (tmp_path / "sweep").exists()
