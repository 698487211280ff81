"""Each packed trial's own dropout stream: independent of its partners and of padding."""

from __future__ import annotations

import torch

from peftsweep.trial.packed.dropout import kept, mix

from helpers import run_pack_keeping_members, trial_config

SMALL = ("data.demo_size=200", "epochs=1")


def test_masks_keep_the_rate_differ_per_trial_and_ignore_padding():
    keys = [mix(1, 7), mix(2, 7)]
    masks = [kept(torch.Size([16, 40, 32]), key, 0.25, "cpu") for key in keys]
    assert abs(masks[0].float().mean().item() - 0.75) < 0.02
    assert 0.55 < (masks[0] == masks[1]).float().mean().item() < 0.70  # ~0.75² + 0.25²
    assert torch.equal(kept(torch.Size([16, 40, 32]), keys[0], 0.25, "cpu"), masks[0])
    # The pack pads a trial's rows to its partners' longest: the trial's own places keep
    # their draw, and the padding is not drawn.
    longer = kept(torch.Size([16, 64, 32]), keys[0], 0.25, "cpu", pad=24)
    assert torch.equal(longer[:, :40], masks[0]) and longer[:, 40:].all()
    probs = kept(torch.Size([16, 2, 40, 40]), keys[0], 0.1, "cpu")
    padded = kept(torch.Size([16, 2, 64, 64]), keys[0], 0.1, "cpu", pad=24)
    assert torch.equal(padded[:, :, :40, :40], probs) and padded[:, :, 40:].all()
    assert padded[:, :, :, 40:].all()
    pooled = kept(torch.Size([16, 32]), keys[0], 0.1, "cpu", pad=24)  # no sequence: all drawn
    assert torch.equal(pooled, kept(torch.Size([16, 32]), keys[0], 0.1, "cpu"))


def _losses_of(tmp_path, trials: dict[str, tuple]) -> dict[str, list[float]]:
    members: dict = {}
    outcome = run_pack_keeping_members(
        [(trial_config(*SMALL, *o), tmp_path / n) for n, o in trials.items()], members)
    assert {r["status"] for r in outcome.results.values()} == {"ok"}
    return {name: [float(x) for x in m.losses] for name, m in members.items()}


def test_a_trial_draws_the_same_dropout_whatever_its_partners(tmp_path, cache_dir):
    lora = ("strategy=lora", "lr=3e-3")
    dora = ("strategy=dora", "strategy.lora_dropout=0.1", "lr=3e-3")  # recomputes its base
    first = _losses_of(tmp_path / "a", {"lora": lora, "dora": dora,
                                        "bitfit": ("strategy=bitfit",)})
    second = _losses_of(tmp_path / "b", {"lora": lora, "dora": dora,
                                         "other": ("strategy=lora", "lr=1e-2",
                                                   "strategy.r=4", "seed=5")})
    off = _losses_of(tmp_path / "c", {"lora": (*lora, "model.dropout=0",
                                               "strategy.dropout=0"),
                                      "bitfit": ("strategy=bitfit", "model.dropout=0")})
    assert len(first["lora"]) == len(second["lora"]) > 1
    for name in ("lora", "dora"):
        assert max(abs(a - b) for a, b in zip(first[name], second[name], strict=True)) < 1e-5
    assert max(abs(a - b) for a, b in zip(first["lora"], off["lora"], strict=True)) > 1e-3
