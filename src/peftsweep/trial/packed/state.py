"""What the pack's current forward holds, shared by every packed layer and dropout."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PackState:
    active: list[int] = field(default_factory=list)
    """The trial slots of the current batch, in row order."""
    streams: list[int] = field(default_factory=list)
    """Each active trial's dropout stream for this step (packed/dropout.py), in row order."""
    padding: list[int] = field(default_factory=list)
    """Each active trial's padding: positions the pack appends to its rows, in row order."""
    rows: int = 0
    """Rows of the stacked batch: a tensor with another first size is not per trial."""
