"""Command-line overrides as Hydra parses them, and the jobs a grid makes of them.

The product is Hydra's basic sweep (every discrete sweep ``key=a,b`` times the others),
written here on Hydra's public override parser so that the preflight and the grid sweeper
expand a command line the same way without reaching into Hydra's internals.
"""

from __future__ import annotations

import itertools

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException


def parse(lines: list[str], config_loader=None) -> list:
    return OverridesParser.create(config_loader=config_loader).parse_overrides(list(lines))


def sweep_keys(lines: list[str]) -> list[str]:
    """The overrides that sweep (``lr=1e-3,1e-4``), as written."""
    return [o.input_line for o in parse(lines) if o.is_sweep_override()]


def cartesian(parsed: list) -> list[list[str]]:
    """One override list per job; a later override of a key replaces an earlier one."""
    choices: dict[str, list[str]] = {}
    for override in parsed:
        key = override.get_key_element()
        if not override.is_sweep_override():
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            raise HydraException(f"{key}: a grid takes a list of values (a,b,c), not "
                                 f"{override.value_type.name.lower()}")
    return [list(job) for job in itertools.product(*choices.values())]
