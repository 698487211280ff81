"""Dependencies run one way: entry -> sweep / trial -> (data, models, strategies) -> leaves.

Read from the source with ``ast`` (imports inside functions count too), so a
shortcut taken anywhere fails here rather than in a reviewer's head.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import peftsweep

PACKAGE = Path(peftsweep.__file__).parent
# Shared by everything below the entry points; they import only each other.
LEAVES = {"errors", "schema", "tasks", "demo_task", "config", "families", "results", "offline"}
# Each of these packages may import the leaves and itself, nothing else of peftsweep.
LOWER = {"data", "models", "strategies", "report"}


def unit_of(path: Path) -> str:
    """'data' for data/cache.py, 'config' for config.py."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_units(path: Path) -> set[str]:
    units = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "peftsweep":
                names = [f"peftsweep.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        units |= {name.split(".")[1] for name in names
                  if name.startswith("peftsweep.") and len(name.split(".")) > 1}
    return units


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if unit_of(p) in LEAVES | LOWER)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    unit = unit_of(path)
    allowed = LEAVES if unit in LEAVES else LEAVES | {unit}
    wrong = imported_units(path) - allowed
    assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"


def test_the_layers_name_real_modules():
    units = {unit_of(p) for p in PACKAGE.rglob("*.py")}
    assert LEAVES | LOWER <= units
