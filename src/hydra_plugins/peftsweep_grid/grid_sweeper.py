"""Hydra finds sweepers only under ``hydra_plugins``: this names peftsweep's grid sweeper there.

The logic lives in :mod:`peftsweep.sweepers.grid`; select it with ``hydra/sweeper=grid``
(the default of ``conf/train.yaml``).
"""

from peftsweep.sweepers import grid


class GridSweeper(grid.GridSweeper):
    """Registered under this module's name, as Hydra requires of a plugin."""
