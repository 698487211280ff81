"""What a tuning strategy is: its options and the few facts the rest of peftsweep asks of it.

A strategy module defines an ``Options`` dataclass (a :class:`peftsweep.schema.Schema`:
keys, defaults, help and allowed values in one place) and a :class:`Strategy`
subclass decorated with :func:`peftsweep.strategies.registry.register`. Nothing
outside the module knows its name.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from peftsweep.families import Family
from peftsweep.schema import Schema


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

        Raise :class:`peftsweep.schema.InvalidOption` (key relative to ``strategy``).
        """

    def apply(self, model: nn.Module, options: Any, family: Family) -> nn.Module:
        """Freeze or wrap ``model`` so that exactly this strategy's parameters train."""
        raise NotImplementedError
