"""How every command ends: its output and exit 0, or one line and exit 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

from peftsweep.errors import UserError


def run_command(action: Callable[[], int | None]) -> int:
    try:
        code = action()
    except UserError as err:
        print(f"peftsweep: error: {err}", file=sys.stderr)
        return 2
    return int(code or 0)
