"""The search sweeper as Hydra discovers it: a thin shell, the logic loaded when it is used.

Like the grid's shell, it imports nothing of peftsweep when Hydra scans its plugins; the
work is done by :class:`peftsweep.sweep.search.sweeper.SearchSweep`
(``hydra/sweeper=search``).
"""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper


class SearchSweeper(Sweeper):
    def __init__(self, **options: Any) -> None:
        from peftsweep.sweep.search.sweeper import SearchSweep

        self.impl = SearchSweep(**options)

    def setup(self, **kwargs: Any) -> None:
        self.impl.setup(**kwargs)

    def sweep(self, arguments: list[str]) -> Any:
        return self.impl.sweep(arguments)
