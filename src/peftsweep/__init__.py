"""peftsweep: Hydra-configured sweeps for fine-tuning BERT-family classifiers.

The library's face is :func:`load_sweep` (a sweep folder as a :class:`Sweep`); the
command line is ``peftsweep <command>`` (:mod:`peftsweep.cli`). Both are loaded on first
use, so importing one submodule (a trial's, a status reader's) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["Sweep", "load_sweep"]


def __getattr__(name: str) -> Any:
    # The package edge: the API pulls in pandas, torch and the report, which a trial
    # process or `peftsweep status` should not pay for at import time.
    if name in __all__:
        return getattr(importlib.import_module("peftsweep.api"), name)
    raise AttributeError(f"module 'peftsweep' has no attribute {name!r}")
