"""The grid sweeper as Hydra discovers it: a thin shell, the logic loaded when it is used.

Hydra finds sweepers only under ``hydra_plugins`` and re-executes these modules each time
it scans its plugins, so this module imports nothing of peftsweep at import time; the
work is done by :class:`peftsweep.sweep.grid.GridSweep` (``hydra/sweeper=grid``, the
default of ``conf/train.yaml``).
"""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper


class GridSweeper(Sweeper):
    def __init__(self, **options: Any) -> None:
        from peftsweep.sweep.grid import GridSweep

        self.impl = GridSweep(**options)

    def setup(self, **kwargs: Any) -> None:
        self.impl.setup(**kwargs)

    def sweep(self, arguments: list[str]) -> Any:
        return self.impl.sweep(arguments)
