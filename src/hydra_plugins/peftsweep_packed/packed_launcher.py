"""The packed launcher as Hydra discovers it: a thin shell, the logic loaded when it is used.

Hydra re-executes these modules each time it scans its plugins, so this module imports
nothing of peftsweep at import time; the work is done by
:class:`peftsweep.sweep.packing.PackedLaunch` (``hydra/launcher=packed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.plugins.launcher import Launcher


class PackedLauncher(Launcher):
    def __init__(self, **options: Any) -> None:
        from peftsweep.sweep.packing import PackedLaunch

        self.impl = PackedLaunch(**options)

    def setup(self, **kwargs: Any) -> None:
        self.impl.setup(**kwargs)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
        return self.impl.launch(job_overrides, initial_job_idx)
