"""Any PEFT method as a strategy: ``strategy=peft strategy.method=loha strategy.r=4``.

The method's options are the fields of PEFT's own config class (:mod:`.peft_options`): an
unknown option, a wrong type or a value outside a declared set is one line before training,
and the config is built once during validation so that PEFT's checks between options run
there too. As for ``lora``, the family's task head trains and is saved with the adapter
(``modules_to_save``), and null ``target_modules`` means the family's default targets.
Presets (``conf/strategy/dora.yaml``, ``loha.yaml``, ...) are this strategy with a method set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from peftsweep.errors import ConfigError
from peftsweep.spec.families import Family
from peftsweep.spec.schema import InvalidOption, option
from peftsweep.strategies.base import PeftStrategy, StrategyOptions
from peftsweep.strategies.peft_methods import (
    NOT_APPLICABLE,
    REQUIRED,
    TARGETS,
    VARIANTS,
    Method,
    methods,
)
from peftsweep.strategies.peft_options import (
    RESERVED,
    UNSUPPORTED,
    options_class,
    peft_keywords,
)
from peftsweep.strategies.prefix import expose_past_key_values
from peftsweep.strategies.rank_allocation import RankAllocation
from peftsweep.strategies.registry import STRATEGIES, register

DEFAULT_METHOD = "lora"


@dataclass(frozen=True)
class Options(StrategyOptions):
    method: str = option(DEFAULT_METHOD, "The PEFT method, PEFT's type in lower case (lora, "
                                         "adalora, loha, lokr, vera, oft, prompt_tuning, "
                                         "p_tuning, ...); its options are PEFT's own.")


def method_of(options: Any) -> Method:
    return methods()[options.method]


@register("peft", "any PEFT method; options read from PEFT's config class", Options)
class Peft(PeftStrategy):
    open_options = True

    def options_for(self, values: dict[str, Any]) -> type:
        name = values.get("method", DEFAULT_METHOD)
        table = methods()
        if not isinstance(name, str):
            raise ConfigError("strategy.method", f"must be a string, got {name!r}",
                              ", ".join(table))
        if name in NOT_APPLICABLE:
            raise ConfigError("strategy.method", f"{name} does not apply to sequence "
                              f"classification: {NOT_APPLICABLE[name]}", ", ".join(table))
        if name not in table:
            raise ConfigError("strategy.method", f"unknown PEFT method {name!r}",
                              ", ".join(table))
        for key in values:
            if key in RESERVED:
                raise ConfigError(f"strategy.{key}", f"not an option: {RESERVED[key]}")
            if key in UNSUPPORTED:
                raise ConfigError(f"strategy.{key}", f"not supported: {UNSUPPORTED[key]}")
        method = table[name]
        return options_class(name, method.config_class, Options, method.defaults)

    def label(self, options: Any, changed: list[str]) -> str:
        name = options.method
        for variant, (base, flag) in VARIANTS.items():
            if name == base and getattr(options, flag, False):
                name, changed = variant, [c for c in changed if not c.startswith(f"{flag}=")]
        changed = [c for c in changed if not c.startswith("method=")]
        # `peft-lora` is PEFT's LoRA at PEFT's defaults, not the `lora` strategy at its own.
        name = f"peft-{name}" if name in STRATEGIES else name
        return f"{name}({', '.join(changed)})" if changed else name

    def capacity(self, options: Any) -> str | None:
        return method_of(options).capacity

    def virtual_tokens(self, options: Any) -> int:
        return int(options.num_virtual_tokens or 0) if method_of(options).virtual_tokens else 0

    def kv_prefix(self, options: Any) -> bool:
        return method_of(options).kv_prefix

    def targets(self, options: Any, family: Family) -> list[str]:
        """The target names to look for in the model (a regex is PEFT's to match)."""
        if not method_of(options).has_targets:
            return []
        chosen = self._targets(options, family)
        return list(chosen) if isinstance(chosen, (list, tuple)) else []

    def _targets(self, options: Any, family: Family):
        if options.target_modules is not None:
            return options.target_modules
        default = TARGETS.get(options.method, "lora_targets")
        if isinstance(default, str) and hasattr(family, default):
            return list(getattr(family, default))
        return default

    def check(self, options: Any, family: Family) -> None:
        method = method_of(options)
        if method.kv_prefix and not family.prefix_tuning:
            raise InvalidOption("method", f"{method.name} needs attention layers that take a "
                                f"key/value cache, which {family.name} models lack",
                                "a method without a key/value prefix, or another model family")
        required = REQUIRED.get(method.name)
        if required and not getattr(options, required):
            raise InvalidOption(required, f"{method.name} trains nothing without it",
                                "a non-empty list")
        super().check(options, family)

    def peft_config(self, options: Any, family: Family):
        from peft import TaskType

        method = method_of(options)
        kwargs = peft_keywords(options, method.config_class)
        kwargs.update(task_type=TaskType.SEQ_CLS, modules_to_save=list(family.head_modules))
        if method.has_targets:
            kwargs["target_modules"] = self._targets(options, family)
        if method.name == "ia3" and options.feedforward_modules is None:
            targets = kwargs["target_modules"]
            kwargs["feedforward_modules"] = [t for t in family.ia3_feedforward
                                             if isinstance(targets, list) and t in targets]
        if hasattr(options, "total_step"):
            # Before a trial sets it: any schedule leaves room for budgeting.
            placeholder = max(options.tinit, 0) + max(options.tfinal, 0) + 1
            kwargs["total_step"] = options.total_step or placeholder
        return method.config_class(**kwargs)

    def with_capacity(self, options: Any, value: int) -> Any:
        method = method_of(options)
        changed = {method.capacity: value}
        if method.name == "adalora":
            # AdaLoRA prunes from init_r down to target_r; unless target_r was chosen, keep
            # PEFT's default ratio between them (8 of 12).
            peft = {f.name: f.default for f in dataclasses.fields(method.config_class)}
            if options.target_r == peft["target_r"]:
                changed["target_r"] = max(1, round(value * peft["target_r"] / peft["init_r"]))
        return dataclasses.replace(options, **changed)

    def for_training(self, options: Any, total_steps: int) -> Any:
        if hasattr(options, "total_step"):
            return dataclasses.replace(options, total_step=total_steps)
        return options

    def step_hook(self, model: nn.Module, options: Any) -> Callable[[int], None] | None:
        return RankAllocation(model) if options.method == "adalora" else None

    def prepare(self, model: nn.Module, options: Any) -> nn.Module:
        return expose_past_key_values(model) if method_of(options).kv_prefix else model

    def apply(self, model: nn.Module, options: Any, family: Family) -> nn.Module:
        from peft import get_peft_model

        config = self.peft_config(options, family)
        if getattr(config, "is_prompt_learning", False):
            # PEFT reads these under BERT's names; DistilBERT calls them dim, n_layers, ...
            shape = model.config
            config.token_dim = config.token_dim or shape.hidden_size
            config.num_layers = config.num_layers or shape.num_hidden_layers
            config.num_attention_heads = config.num_attention_heads or \
                shape.num_attention_heads
        return get_peft_model(self.prepare(model, options), config)
