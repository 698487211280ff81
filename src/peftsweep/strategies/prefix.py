"""Prefix tuning (Li and Liang, 2021) through the PEFT library.

Trained key/value vectors are prepended to every attention layer; the encoder
and its embeddings stay frozen, and the task head trains (``modules_to_save``).
It needs attention layers that accept a key/value cache, which the family table
records (``Family.prefix_tuning``).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from peftsweep.spec.families import Family
from peftsweep.spec.schema import InvalidOption, option
from peftsweep.strategies.base import PeftStrategy, StrategyOptions
from peftsweep.strategies.registry import register


@dataclass(frozen=True)
class Options(StrategyOptions):
    num_virtual_tokens: int = option(20, "Prefix length: virtual tokens per layer.", gt=0)
    prefix_projection: bool = option(False, "Reparametrise the prefix through a two-layer "
                                            "MLP (the paper's setting for stability).")
    encoder_hidden_size: int | None = option(None, "Hidden size of that MLP; null: the "
                                                   "model's hidden size.", gt=0)

    def check(self) -> None:
        if self.encoder_hidden_size is not None and not self.prefix_projection:
            raise InvalidOption("encoder_hidden_size", "only used with prefix_projection=true",
                                "null, or set strategy.prefix_projection=true")


def expose_past_key_values(model: nn.Module) -> nn.Module:
    """Let PEFT find the ``past_key_values`` argument that PEFT's prefix tuning looks for.

    transformers 5 renamed it to ``cache`` in BERT-style encoders, but PEFT decides from the
    forward signature whether a model takes a prefix. The instance gets a forward with the
    old name in its signature that hands the prefix on under the new one.
    """
    forward = model.forward

    def forward_with_prefix(*args, past_key_values=None, **kwargs):
        return forward(*args, cache=past_key_values, **kwargs)

    model.forward = forward_with_prefix
    return model


@register("prefix", "trained key/value prefixes in every layer (PEFT)", Options)
class PrefixTuning(PeftStrategy):
    def capacity(self, options: Options) -> str:
        return "num_virtual_tokens"

    def virtual_tokens(self, options: Options) -> int:
        # The prefix sits in front of every input: its positions are the real tokens' too.
        return options.num_virtual_tokens

    def kv_prefix(self, options: Options) -> bool:
        return True

    def peft_config(self, options: Options, family: Family):
        from peft import PrefixTuningConfig, TaskType

        return PrefixTuningConfig(task_type=TaskType.SEQ_CLS,
                                  num_virtual_tokens=options.num_virtual_tokens,
                                  prefix_projection=options.prefix_projection,
                                  # None: PEFT takes the model's hidden size.
                                  encoder_hidden_size=options.encoder_hidden_size,
                                  modules_to_save=list(family.head_modules))

    def check(self, options: Options, family: Family) -> None:
        if not family.prefix_tuning:
            raise InvalidOption("name", f"prefix tuning needs attention layers that take a "
                                f"key/value cache, which {family.name} models lack",
                                "a model family with prefix_tuning set in families.py")
        super().check(options, family)

    def prepare(self, model: nn.Module, options: Options) -> nn.Module:
        return expose_past_key_values(model)
