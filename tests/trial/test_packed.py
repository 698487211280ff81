"""Packed trials: one backbone, each trial's own tensors; equal to the trial run alone."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from peftsweep.models.module import SequenceClassifier
from peftsweep.trial import run as trial_module
from peftsweep.trial.log_rows import rows_up_to
from peftsweep.trial.packed import loop
from peftsweep.trial.packed.run import run_pack
from peftsweep.trial.weights import TRAINABLE_FILE, WEIGHTS_DIR

from helpers import run_pack_keeping_members, tensorboard_scalars, trial_config

# No dropout anywhere: then a packed trial must repeat its run alone.
EXACT = ("model.dropout=0", "data.demo_size=200", "lr=1e-2")
PACKS = {"lora": ("strategy=lora", "strategy.dropout=0"),
         "lora_r4": ("strategy=lora", "strategy.dropout=0", "strategy.r=4",
                     "strategy.alpha=8", "lr=3e-3"),
         "dora": ("strategy=dora", "lr=3e-3"),
         "ia3": ("strategy=ia3",),
         "bitfit": ("strategy=bitfit",),
         "bitfit_wd": ("strategy=bitfit", "trainer.weight_decay=0.1", "trainer.warmup_steps=3",
                       "trainer.gradient_clip_val=0.05")}
# Virtual tokens lengthen every row: these pack only with their own kind and length.
PROMPT_PACKS = {"prompt": ("strategy=prompt_tuning", "lr=3e-2"),
                "p_tuning": ("strategy=p_tuning", "lr=3e-3")}
PREFIX_PACKS = {"prefix": ("strategy=prefix", "lr=3e-2"),
                "prefix_mlp": ("strategy=prefix", "strategy.prefix_projection=true", "lr=3e-3")}
ALL = {**PACKS, **PROMPT_PACKS, **PREFIX_PACKS}

def alone(tmp_path, name: str, *overrides: str) -> tuple[dict, list[float]]:
    losses = []
    original = SequenceClassifier.training_step

    def recorded(self, batch, batch_idx):
        loss = original(self, batch, batch_idx)
        losses.append(float(loss.detach()))
        return loss

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SequenceClassifier, "training_step", recorded)
        result = trial_module.run_trial(trial_config(*EXACT, *overrides), tmp_path / name)
    return result, losses


def packed(tmp_path, trials: dict[str, tuple], record: dict | None = None):
    pairs = [(trial_config(*EXACT, *o), tmp_path / n) for n, o in trials.items()]
    return run_pack(pairs) if record is None else run_pack_keeping_members(pairs, record)


@pytest.fixture(scope="module")
def pack_and_alone(tmp_path_factory, cache_dir):
    root = tmp_path_factory.mktemp("pack")
    members: dict = {}
    results, sizes = {}, {}
    for group in (PACKS, PROMPT_PACKS, PREFIX_PACKS):
        outcome = packed(root / "packed", group, members)
        assert not outcome.alone, outcome.alone
        results.update(outcome.results)
        sizes.update({name: len(group) for name in group})
    solo = {name: alone(root / "alone", name, *overrides) for name, overrides in ALL.items()}
    return root, results, sizes, members, solo


@pytest.mark.parametrize("name", sorted(ALL))
def test_a_packed_trial_repeats_its_run_alone(pack_and_alone, name):
    root, results, sizes, members, solo = pack_and_alone
    result = results[root / "packed" / name]
    expected, expected_losses = solo[name]
    assert result["status"] == expected["status"] == "ok", result["error"]
    assert result["identity"] == expected["identity"]
    losses = [float(loss) for loss in members[name].losses]
    assert len(losses) == len(expected_losses) == expected["optimizer_steps"]
    assert max(abs(a - b) for a, b in zip(losses, expected_losses, strict=True)) < 1e-4
    assert [e["step"] for e in result["history"]] == [e["step"] for e in expected["history"]]
    for ours, theirs in zip(result["history"], expected["history"], strict=True):
        assert ours["validation/accuracy"] == theirs["validation/accuracy"]
    assert result["best"]["step"] == expected["best"]["step"]
    assert result["test"] == expected["test"]
    assert result["test_examples"] == expected["test_examples"]
    assert result["params"] == expected["params"]
    assert result["weights"]["frozen_fingerprint"] == expected["weights"]["frozen_fingerprint"]
    kept = load_file(root / "packed" / name / WEIGHTS_DIR / TRAINABLE_FILE)
    theirs = load_file(root / "alone" / name / WEIGHTS_DIR / TRAINABLE_FILE)
    assert kept.keys() == theirs.keys()  # named as alone: export reads them unchanged
    for key in kept:
        torch.testing.assert_close(kept[key], theirs[key], rtol=0, atol=1e-4)
    assert result["pack"]["size"] == sizes[name]


def test_trials_that_cannot_share_the_backbone_are_handed_back_with_the_reason(tmp_path,
                                                                               cache_dir):
    outcome = packed(tmp_path, {"lora": ("strategy=lora",), "full": ("strategy=full",),
                                "head": ("strategy=head",), "loha": ("strategy=loha",),
                                "seed2": ("strategy=bitfit", "seed=2"),
                                "prompt": ("strategy=prompt_tuning",)})
    assert outcome.results[tmp_path / "lora"]["status"] == "ok"
    assert outcome.results[tmp_path / "lora"]["pack"]["size"] == 1
    reasons = {path.name: why for path, why in outcome.alone.items()}
    assert set(reasons) == {"full", "head", "loha", "seed2", "prompt"}
    assert reasons["prompt"] == "its virtual tokens (embeddings:20) differ from the pack's (None)"
    assert "every weight" in reasons["full"] and "feature_cache" in reasons["head"]
    assert "hada_w1" in reasons["loha"] and "differs from the pack's backbone" in reasons["seed2"]
    assert not (tmp_path / "full" / "result.json").exists()  # nothing written for them


def test_a_diverged_trial_leaves_the_others_training(tmp_path, cache_dir):
    outcome = packed(tmp_path, {"bad": ("strategy=bitfit", "lr=1e30",
                                        "trainer.gradient_clip_val=null"),
                                "good": ("strategy=lora",)})
    bad, good = outcome.results[tmp_path / "bad"], outcome.results[tmp_path / "good"]
    assert bad["status"] == "diverged" and "not finite" in bad["error"]
    assert bad["failed_step"] is not None and bad["failed_step"] < good["optimizer_steps"]
    assert good["status"] == "ok" and len(good["history"]) == 2
    assert all(v == v for v in good["test"].values())  # finite, untouched by the NaNs


@pytest.mark.parametrize("dropout", [False, True], ids=["no-dropout", "dropout"])
def test_a_pack_stopped_after_a_validation_resumes_and_ends_as_if_never_stopped(
        tmp_path, cache_dir, dropout):
    # With dropout on, each trial's masks come from its seed and step: drawn again alike.
    on = ("logger.csv=true", "logger.tensorboard=true",
          *(("model.dropout=0.1",) if dropout else ()))
    trials = {"lora": (*PACKS["lora"], *on, *(("strategy.dropout=0.1",) if dropout else ())),
              "bitfit": (*PACKS["bitfit"], *on)}
    whole = packed(tmp_path / "whole", trials)
    original = loop._validate
    calls = []

    def stop_after_first(pack, members):
        original(pack, members)
        calls.append(1)
        raise KeyboardInterrupt  # as a kill right after the checkpoints were written

    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(loop, "_validate", stop_after_first)
        packed(tmp_path / "cut", trials)
    assert not (tmp_path / "cut" / "lora" / "result.json").exists()
    resumed = packed(tmp_path / "cut", trials)
    for name in trials:
        again, first = resumed.results[tmp_path / "cut" / name], whole.results[
            tmp_path / "whole" / name]
        assert again["status"] == "ok" and again["resumed_from_step"] == 7
        assert again["history"] == first["history"]
        assert again["test"] == first["test"]
        # csv/metrics.csv: every row of the uninterrupted run, each once.
        rows, expected = (rows_up_to(tmp_path / run / name / "csv" / "metrics.csv", 10**9)
                          for run in ("cut", "whole"))
        assert len(rows) == len(expected) > 3 and "hp/trainable_params" in rows[-1]
        for ours, theirs in zip(rows, expected, strict=True):
            assert ours.keys() == theirs.keys()
            assert all(float(ours[k]) == pytest.approx(float(theirs[k]), abs=1e-6)
                       for k in ours)
        # TensorBoard: the same tags at the same steps, the killed run's later steps hidden.
        scalars, want = (tensorboard_scalars(tmp_path / run / name) for run in ("cut", "whole"))
        assert {"train/loss", "epoch", "hp/trainable_params"} <= want.keys()
        assert scalars.keys() == want.keys()
        for tag, points in want.items():
            assert [s for s, _ in scalars[tag]] == [s for s, _ in points], tag
            assert [v for _, v in scalars[tag]] == pytest.approx([v for _, v in points],
                                                                 abs=1e-6), tag


def test_seeds_of_a_pretrained_backbone_share_one_pack(tmp_path, cache_dir):
    # The heads start apart (one draw per seed); the pretrained weights under them are one.
    common = ("model=minilm", "data.demo_size=64", "epochs=1", "batch_size=16")
    outcome = run_pack([(trial_config(*common, "strategy=lora", f"seed={seed}"),
                         tmp_path / f"seed{seed}") for seed in (1, 2)])
    assert not outcome.alone
    results = [outcome.results[tmp_path / f"seed{seed}"] for seed in (1, 2)]
    assert [r["status"] for r in results] == ["ok", "ok"]
    assert [r["pack"]["size"] for r in results] == [2, 2]
