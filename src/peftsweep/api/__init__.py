"""peftsweep as a library: a finished or running sweep as Python objects.

``peftsweep.load_sweep(folder)`` returns a :class:`Sweep` (see docs/api.md).
"""

from peftsweep.api.sweep import Sweep, load_sweep

__all__ = ["Sweep", "load_sweep"]
