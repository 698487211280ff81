"""A frozen base model's outputs as features: computed once, replayed under the task head.

Every family's classification head reads the base model's output at the first position
(RoBERTa, ELECTRA, DistilBERT, DeBERTa's pooler) or its pooler (BERT). So a frozen base
model in eval mode is summed up, per example, by those one or two vectors: the features.
Training a linear probe on them replays them in place of the base model, through the
model's own forward (``inputs_embeds`` carries them), so the head, the dropout in front of
it and the loss run exactly as they do on tokens. tests/models/test_features.py checks,
for each family, that replayed features give the logits the tokens give.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPooling

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def base_model(model: nn.Module) -> nn.Module:
    """The encoder under the classification head (``model.bert``, ``model.roberta``, ...)."""
    return model.base_model


@torch.no_grad()
def compute_features(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """(batch, 1 or 2, hidden): the first position's output, then the pooler's if any."""
    outputs = base_model(model)(**{k: v for k, v in batch.items() if k in MODEL_INPUTS})
    kept = [outputs.last_hidden_state[:, 0]]
    pooled = getattr(outputs, "pooler_output", None)
    if pooled is not None:
        kept.append(pooled)
    return torch.stack(kept, dim=1)


class FeatureReplay:
    """Stands in for the base model's forward: returns the features it is given as
    ``inputs_embeds`` in the shape of the base model's own output."""

    def __call__(self, *args, inputs_embeds: torch.Tensor | None = None, **kwargs):
        if inputs_embeds is None:
            raise RuntimeError("this model trains on cached features: batches hold "
                               "'inputs_embeds' (trainer.feature_cache=false runs the backbone)")
        pooled = inputs_embeds[:, 1] if inputs_embeds.shape[1] > 1 else None
        return BaseModelOutputWithPooling(last_hidden_state=inputs_embeds[:, :1],
                                          pooler_output=pooled)


def replay_features(model: nn.Module) -> None:
    """From now on the model's base model returns the features it is handed. Its parameters
    stay where they are: checkpoints, counts and saved weights are those of the whole model."""
    base_model(model).forward = FeatureReplay()


def run_backbone_again(model: nn.Module) -> None:
    """Undo :func:`replay_features` (the class's own forward is back)."""
    base_model(model).__dict__.pop("forward", None)
