"""What a tuning strategy is: its options and the few facts the rest of peftsweep asks of it.

A strategy module defines an ``Options`` dataclass (a :class:`peftsweep.spec.schema.Schema`:
keys, defaults, help and allowed values in one place) and a :class:`Strategy`
subclass decorated with :func:`peftsweep.strategies.registry.register`. Nothing
outside the module knows its name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from peftsweep.spec.families import Family
from peftsweep.spec.schema import InvalidOption, Schema


class Strategy:
    name: ClassVar[str]
    summary: ClassVar[str]
    """One line for tables and help."""
    Options: ClassVar[type[Schema]]

    def trains_head(self, options: Any) -> bool:
        """Whether the task head trains (its modules must then exist in the model)."""
        return True

    def targets(self, options: Any, family: Family) -> list[str]:
        """Module names the strategy adapts; each must exist in the model."""
        return []

    def check(self, options: Any, family: Family) -> None:
        """Constraints that need the model family, before any model is built.

        Raise :class:`peftsweep.spec.schema.InvalidOption` (key relative to ``strategy``).
        """

    def apply(self, model: nn.Module, options: Any, family: Family) -> nn.Module:
        """Freeze or wrap ``model`` so that exactly this strategy's parameters train."""
        raise NotImplementedError


@dataclass(frozen=True)
class NoOptions(Schema):
    """The options of a strategy that has none."""


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
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InvalidOption(_option_named_in(first, options), f"rejected by PEFT: {first}") \
                from err

    def prepare(self, model: nn.Module, options: Any) -> nn.Module:
        """Adjust the backbone before wrapping it; nothing by default."""
        return model

    def apply(self, model: nn.Module, options: Any, family: Family) -> nn.Module:
        from peft import get_peft_model

        config = self.peft_config(options, family)
        return get_peft_model(self.prepare(model, options), config)


def _option_named_in(message: str, options: Any) -> str:
    """The option a PEFT message mentions first, else ``name`` (the strategy as a whole)."""
    named = sorted((message.index(f.name), f.name) for f in dataclasses.fields(options)
                   if f.name in message)
    return named[0][1] if named else "name"
