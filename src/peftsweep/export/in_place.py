"""Whether transformers, loading an adapter export in place, rebuilds the trained model.

transformers applies a PEFT adapter that sits beside a backbone (``pipeline(model=folder)``
works), but its integration does not cover every method or option: some it refuses
(methods with state shared between layers, VeRA), others it loads without error and
wrongly (a DoRA magnitude saved under a name it does not read starts again from the
backbone's norms). An export is the trial's model or nothing, so the writer loads the
folder as a user would and compares its logits with the trial's before it keeps that
layout.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

PROBE_TEXTS = ["a short text to compare the two models on", "and a second, longer one, so "
               "that the batch is padded and the attention mask matters"]
# Same weights, same inputs: any difference beyond float noise is a wrong load.
TOLERANCE = 1e-5


@torch.inference_mode()
def _logits(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return model.eval()(**batch).logits.float()


def loads_in_place(folder: Path, model: nn.Module, tokenizer) -> bool:
    """True when ``AutoModelForSequenceClassification.from_pretrained(folder)`` gives
    ``model``'s logits (both on the CPU)."""
    from transformers import AutoModelForSequenceClassification

    batch = dict(tokenizer(PROBE_TEXTS, padding=True, return_tensors="pt"))
    try:
        loaded = AutoModelForSequenceClassification.from_pretrained(str(folder))
    except (ValueError, OSError, RuntimeError, KeyError):  # the method is not supported
        return False
    expected, got = _logits(model, batch), _logits(loaded, batch)
    return got.shape == expected.shape and bool((got - expected).abs().max() <= TOLERANCE)
