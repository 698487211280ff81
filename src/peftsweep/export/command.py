"""How the export, predict and evaluate commands end: their output, or one line and exit 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

from peftsweep.errors import UserError


def run_command(action: Callable[[], object]) -> int:
    try:
        action()
    except UserError as err:
        print(f"peftsweep: error: {err}", file=sys.stderr)
        return 2
    return 0
