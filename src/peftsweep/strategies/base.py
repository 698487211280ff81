"""What a tuning strategy is: its options and the few facts the rest of peftsweep asks of it.

A strategy module defines an ``Options`` dataclass (a :class:`StrategyOptions`: keys,
defaults, help and allowed values in one place) and a :class:`Strategy` subclass decorated
with :func:`peftsweep.strategies.registry.register`. Nothing outside the module knows its
name.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from peftsweep.spec.families import Family
from peftsweep.spec.schema import InvalidOption, Schema, option

BUDGET_ALLOWED = ("a whole number of trainable parameters > 0, or 'N%' of the model with "
                  "0 < N <= 100")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*%\s*$")


@dataclass(frozen=True)
class StrategyOptions(Schema):
    """The options every strategy has; a strategy's own ``Options`` extend it."""

    budget: int | str | None = option(
        None, "Trainable parameters to size the capacity option to (rank, virtual tokens, ...), "
              "head included, as result.json counts them: N, or 'N%' of the model's "
              "parameters; null: the options as set.", omit_default=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.budget is not None:
            budget_share(self.budget)  # raises InvalidOption


def budget_share(budget: int | str) -> tuple[int | None, float | None]:
    """(parameters, None) for ``N``, (None, percent) for ``'N%'``; InvalidOption otherwise."""
    if isinstance(budget, int) and not isinstance(budget, bool):
        if budget > 0:
            return budget, None
    elif isinstance(budget, str) and (match := _PERCENT.match(budget)):
        percent = float(match.group(1))
        if 0 < percent <= 100:
            return None, percent
    raise InvalidOption("budget", f"must be a number of parameters or a percentage such as "
                        f"'0.5%', got {budget!r}", BUDGET_ALLOWED)


class Strategy:
    name: ClassVar[str]
    summary: ClassVar[str]
    """One line for tables and help."""
    Options: ClassVar[type[StrategyOptions]]
    open_options: ClassVar[bool] = False
    """Its keys depend on another of its options (the PEFT method): the Hydra node stays open,
    and :meth:`options_for` names the dataclass that checks them."""

    def options_for(self, values: dict[str, Any]) -> type[StrategyOptions]:
        """The dataclass that checks ``values`` (the strategy config without its name)."""
        return self.Options

    def label(self, options: Any, changed: list[str]) -> str:
        """How reports name it: 'lora(r=2, alpha=8)' from the options set away from defaults."""
        return f"{self.name}({', '.join(changed)})" if changed else self.name

    def trains_head(self, options: Any) -> bool:
        """Whether the task head trains (its modules must then exist in the model)."""
        return True

    def targets(self, options: Any, family: Family) -> list[str]:
        """Module names the strategy adapts; each must exist in the model."""
        return []

    def capacity(self, options: Any) -> str | None:
        """The option that ``budget`` sizes (a rank, a number of tokens); None: fixed size."""
        return None

    def virtual_tokens(self, options: Any) -> int:
        """Positions the strategy takes in front of every input (prompts, prefixes)."""
        return 0

    def trains_every_weight(self, options: Any) -> bool:
        """Whether every weight of the model trains (full fine-tuning)."""
        return False

    def kv_prefix(self, options: Any) -> bool:
        """Whether its virtual tokens are keys and values in every attention layer (prefix
        tuning) rather than input embeddings (prompt tuning)."""
        return False

    def with_capacity(self, options: Any, value: int) -> Any:
        """The options with the capacity option set to ``value`` (what a budget chose)."""
        return dataclasses.replace(options, **{self.capacity(options): value})

    def check(self, options: Any, family: Family) -> None:
        """Constraints that need the model family, before any model is built.

        Raise :class:`peftsweep.spec.schema.InvalidOption` (key relative to ``strategy``).
        """

    def for_training(self, options: Any, total_steps: int) -> Any:
        """The options a trial of ``total_steps`` optimizer steps trains with."""
        return options

    def frozen_backbone(self, options: Any) -> bool:
        """Whether the base model under the head is frozen and runs in eval mode, so that its
        outputs for an example never change (and can be computed once: the feature cache)."""
        return False

    def step_hook(self, model: nn.Module, options: Any) -> Callable[[int], None] | None:
        """Called after each optimizer step with the number of steps taken; None: nothing."""
        return None

    def apply(self, model: nn.Module, options: Any, family: Family) -> nn.Module:
        """Freeze or wrap ``model`` so that exactly this strategy's parameters train."""
        raise NotImplementedError


@dataclass(frozen=True)
class NoOptions(StrategyOptions):
    """The options of a strategy that has none of its own."""


class PeftStrategy(Strategy):
    """A strategy that is a PEFT config: checked by building it, applied by wrapping the model."""

    family_targets: ClassVar[str | None] = None
    """The family-table column of default targets, where ``options.target_modules`` is null."""

    def targets(self, options: Any, family: Family) -> list[str]:
        if self.family_targets is None:
            return []
        return list(options.target_modules or getattr(family, self.family_targets))

    def peft_config(self, options: Any, family: Family):
        """The PEFT config; import peft inside (it takes seconds, most trials never need it)."""
        raise NotImplementedError

    def check(self, options: Any, family: Family) -> None:
        # Building the config once runs PEFT's own checks between options, before training.
        try:
            self.peft_config(options, family)
        except (ValueError, TypeError) as err:
            first = first_line(err)
            raise InvalidOption(option_named_in(first, options), f"rejected by PEFT: {first}") \
                from err

    def prepare(self, model: nn.Module, options: Any) -> nn.Module:
        """Adjust the backbone before wrapping it; nothing by default."""
        return model

    def apply(self, model: nn.Module, options: Any, family: Family) -> nn.Module:
        from peft import get_peft_model

        config = self.peft_config(options, family)
        return get_peft_model(self.prepare(model, options), config)


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def option_named_in(message: str, options: Any) -> str:
    """The option a PEFT message mentions first, else ``name`` (the strategy as a whole)."""
    named = sorted((match.start(), f.name) for f in dataclasses.fields(options)
                   if (match := re.search(rf"\b{re.escape(f.name)}\b", message)))
    return named[0][1] if named else "name"
