"""Hydra only instantiates plugins defined under ``hydra_plugins``: the search sweeper's name
there. The logic lives in :mod:`peftsweep.search.sweeper`."""

from peftsweep.search.sweeper import SearchSweeperBase


class SearchSweeper(SearchSweeperBase):
    """``hydra/sweeper=search`` (conf/hydra/sweeper/search.yaml)."""
