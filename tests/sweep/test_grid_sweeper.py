"""The grid sweeper is a plain Hydra Sweeper: a second plugin scan in one process leaves it
working (Hydra re-executes plugin modules when it scans again, as notebooks and test suites
make it do)."""

from __future__ import annotations

import ast
import inspect
import sys

import pytest
from hydra.core.plugins import Plugins
from hydra.core.singleton import Singleton
from hydra.plugins.sweeper import Sweeper

from peftsweep.spec.results import read_result
from peftsweep.sweep.launch import run

from helpers import FAST

pytestmark = pytest.mark.integration


def test_a_second_plugin_scan_leaves_the_grid_working(cache_dir, tmp_path):
    for attempt in (1, 2):
        Singleton.set_state(Singleton.get_state())  # Hydra discovers its plugins again
        sweep = tmp_path / f"sweep{attempt}"
        assert run(["-m", *FAST, "epochs=1", "seed=1,2", f"resume={sweep}"]) == 0
        results = [read_result(p) for p in sweep.glob("*/result.json")]
        assert sorted(r["science"]["seed"] for r in results) == [1, 2]
        assert all(r["status"] == "ok" for r in results)


def test_the_discovered_shells_are_sweepers_that_import_peftsweep_only_when_used():
    found = {cls.__name__: cls for cls in Plugins.instance().discover(Sweeper)}
    assert {"GridSweeper", "SearchSweeper"} <= set(found)
    for name in ("GridSweeper", "SearchSweeper"):
        tree = ast.parse(inspect.getsource(sys.modules[found[name].__module__]))
        module_level = [node for node in tree.body if isinstance(node, (ast.Import,
                                                                        ast.ImportFrom))]
        names = [getattr(node, "module", None) or node.names[0].name for node in module_level]
        assert not [n for n in names if n.startswith("peftsweep")], names
