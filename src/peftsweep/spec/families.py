"""Per-architecture defaults: one row per model family, used by every strategy.

Adding a family is one row here plus a preset under ``conf/model/``.
A family's key is its transformers ``model_type`` (models are built with
``AutoConfig.for_model(family)``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    head_modules: tuple[str, ...]
    """Module names of the task head (trained by bitfit/head/PEFT strategies)."""
    lora_targets: tuple[str, ...]
    """Default LoRA targets: the attention query and value projections."""
    ia3_targets: tuple[str, ...]
    ia3_feedforward: tuple[str, ...]
    """Subset of ia3_targets that are feed-forward layers (scaled on their input)."""
    prefix_tuning: bool = True
    """Attention layers take a key/value cache, so prefix tuning can prepend to it."""
    position_offset: int = 0
    """Positions the model reserves before the first token (RoBERTa: the padding index + 1)."""


FAMILIES: dict[str, Family] = {
    "bert": Family(
        name="bert",
        head_modules=("classifier",),
        lora_targets=("query", "value"),
        ia3_targets=("key", "value", "output.dense"),
        ia3_feedforward=("output.dense",),
    ),
    # DeBERTa-v2 and v3 (v3 is the v2 architecture). The ContextPooler is not part of the
    # pretrained checkpoints: it is head, trained with the classifier.
    "deberta-v2": Family(
        name="deberta-v2",
        head_modules=("pooler", "classifier"),
        lora_targets=("query_proj", "value_proj"),
        ia3_targets=("key_proj", "value_proj", "output.dense"),
        ia3_feedforward=("output.dense",),
        prefix_tuning=False,  # its attention takes no key/value cache
    ),
    "distilbert": Family(
        name="distilbert",
        head_modules=("pre_classifier", "classifier"),
        lora_targets=("q_lin", "v_lin"),
        ia3_targets=("k_lin", "v_lin", "lin2"),
        ia3_feedforward=("lin2",),
        prefix_tuning=False,
    ),
}
# RoBERTa has BERT's module names and reserves two positions for its padding offset.
FAMILIES["roberta"] = dataclasses.replace(FAMILIES["bert"], name="roberta", position_offset=2)
# ELECTRA's discriminator has BERT's module names (its head, `classifier`, is a dense layer
# plus out_proj), so BERT's row holds for it.
FAMILIES["electra"] = dataclasses.replace(FAMILIES["bert"], name="electra")
