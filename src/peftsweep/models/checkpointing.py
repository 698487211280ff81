"""Gradient (activation) checkpointing: trade recomputation for activation memory.

transformers' non-reentrant checkpointing (use_reentrant=False) is used: it
restores the RNG state for the recomputation (same dropout masks, so the same
loss and gradients as without it) and needs no input that requires grad, so
frozen-backbone strategies (head, BitFit, LoRA, IA3) do not pay for a backward
pass through the embeddings that they do not train.
"""

from __future__ import annotations

from torch import nn

from peftsweep.errors import ConfigError


def enable_gradient_checkpointing(model: nn.Module) -> None:
    """Checkpoint every layer of the backbone, also inside a PEFT model (after the strategy)."""
    model = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise ConfigError("trainer.gradient_checkpointing",
                          f"{type(model).__name__} does not support it", "false")
    model.activation_checkpointing_enable(
        activation_checkpointing_kwargs={"use_reentrant": False})
    # transformers also hooks the embeddings to output tensors that require grad, which only
    # reentrant checkpointing needs; it would make frozen embeddings part of the backward pass.
    model.disable_input_require_grads()
