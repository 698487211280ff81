"""Every model family with every strategy, on tiny random configs: one training step
reaches exactly the parameters the strategy trains, and nothing else."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from peftsweep.errors import ConfigError
from peftsweep.models.backbone import build_backbone
from peftsweep.spec.config import ModelConfig
from peftsweep.spec.families import FAMILIES
from peftsweep.spec.tasks import TASKS
from peftsweep.strategies import STRATEGIES, apply_strategy, validate_strategy

from helpers import SMALL_ARCHS

SPEC = dataclasses.replace(TASKS["demo"], label_names=("a", "b"))


class Vocabulary:
    """The 100-token vocabulary the small archs declare (no tokenizer needed)."""

    pad_token_id = 0

    def __len__(self) -> int:
        return 100


def test_every_family_has_a_small_arch():
    assert set(FAMILIES) <= set(SMALL_ARCHS)


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_one_step_trains_what_the_strategy_says(family, strategy):
    torch.manual_seed(0)
    config = ModelConfig(name=f"small_{family}", name_or_path="unused", pretrained=False,
                         family=family, arch=SMALL_ARCHS[family])
    model = build_backbone(config, SPEC, Vocabulary(), "unused")
    if strategy == "prefix" and not FAMILIES[family].prefix_tuning:
        with pytest.raises(ConfigError, match="prefix tuning needs"):
            validate_strategy({"name": strategy}, FAMILIES[family])
        return
    # A short prefix: prefix + tokens must fit the small archs' 24 positions.
    options = {"num_virtual_tokens": 4} if strategy == "prefix" else {}
    model = apply_strategy(model, validate_strategy({"name": strategy, **options},
                                                    FAMILIES[family]), FAMILIES[family])
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.5)
    model.train()
    inputs = torch.randint(1, 100, (4, 12))
    loss = model(input_ids=inputs, attention_mask=torch.ones_like(inputs),
                 labels=torch.tensor([0, 1, 0, 1])).loss
    loss.backward()
    optimizer.step()
    changed = {name for name, p in model.named_parameters()
               if not torch.equal(p.detach(), before[name])}
    wanted = {name for name, p in model.named_parameters() if p.requires_grad}
    assert wanted and changed <= wanted
    if strategy in ("lora", "ia3", "prefix", "peft"):  # peft: LoRA unless told otherwise
        # LoRA's B starts at zero, so its A has no gradient on the first step.
        assert any(key in n for n in changed for key in (".lora_B.", ".ia3_l.", "prompt_encoder"))
    else:
        # All but parameters whose first gradient vanishes below float resolution (DeBERTa's
        # LayerNorm scale over the relative position embeddings, at random init).
        still = {name for name, p in model.named_parameters() if name in wanted - changed
                 and (p.grad is None or p.grad.abs().max() < 1e-6)}
        assert changed | still == wanted and len(still) <= 1
    head = FAMILIES[family].head_modules[-1]
    assert any(head in name for name in changed)  # every strategy trains the task head
