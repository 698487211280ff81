"""Replayed features give, for every family, the logits and loss that tokens give."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

from peftsweep.models.backbone import set_dropout
from peftsweep.models.features import compute_features, replay_features, run_backbone_again

from helpers import SMALL_ARCHS


def small_model(family: str) -> torch.nn.Module:
    torch.manual_seed(0)
    config = AutoConfig.for_model(family, **SMALL_ARCHS[family], num_labels=3)
    return AutoModelForSequenceClassification.from_config(config)


@pytest.mark.parametrize("family", sorted(SMALL_ARCHS))
def test_replayed_features_give_the_logits_of_the_tokens(family):
    model = small_model(family)
    # The encoder frozen in eval mode; the head in train mode, its own dropout included.
    model.eval()
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 100, (4, 12), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0  # a padded row
    batch = {"input_ids": ids, "attention_mask": mask}
    labels = torch.tensor([0, 2, 1, 0])
    expected = model(**batch, labels=labels)
    features = compute_features(model, batch)
    assert features.shape[:2] == (4, 2 if family == "bert" else 1)  # BERT's head reads its pooler
    replay_features(model)
    replayed = model(inputs_embeds=features, labels=labels)
    torch.testing.assert_close(replayed.logits, expected.logits, rtol=0, atol=1e-6)
    torch.testing.assert_close(replayed.loss, expected.loss, rtol=0, atol=1e-6)
    with pytest.raises(RuntimeError, match="cached features"):
        model(**batch)  # tokens reach a replaying model only by mistake
    run_backbone_again(model)
    torch.testing.assert_close(model(**batch).logits, expected.logits)


@pytest.mark.parametrize("family", sorted(SMALL_ARCHS))
def test_model_dropout_sets_every_rate_of_the_config(family):
    config = AutoConfig.for_model(family, **SMALL_ARCHS[family])
    set_dropout(config, 0.0)
    rates = {k: v for k, v in config.to_dict().items() if "dropout" in k and v is not None}
    assert rates and set(rates.values()) == {0.0}, rates
    model = AutoModelForSequenceClassification.from_config(config).train()
    ids = torch.randint(5, 100, (2, 10))
    # No dropout anywhere: train mode gives the eval-mode logits.
    train_logits = model(input_ids=ids).logits
    torch.testing.assert_close(train_logits, model.eval()(input_ids=ids).logits)
