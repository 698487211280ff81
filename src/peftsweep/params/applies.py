"""A trial's strategy applied to its model on the meta device, as the trial will apply it.

PEFT checks some options only against the model (a rank above a layer's width, a block size
that does not divide it, a group size): here they fail before any training, in one line.
PEFT also "adjusts" some invalid values with a warning (OFT's block size); a sweep that asked
for one value must not silently train another, so those warnings are errors too.
"""

from __future__ import annotations

import re
import warnings

from peftsweep.compose.validate import check_max_length
from peftsweep.errors import ConfigError
from peftsweep.params.budget import Sizing, sized, trial_strategy
from peftsweep.params.meta_model import build_for_counting, on_cpu
from peftsweep.spec.config import TrialConfig, task_spec
from peftsweep.spec.families import FAMILIES
from peftsweep.strategies import apply_strategy, parse, virtual_tokens
from peftsweep.strategies.base import first_line, option_named_in

_ADJUSTED = re.compile(r"Invalid `(\w+)` \(([^)]*)\)! Adjusted `\w+` to \(([^)]*)\)")


def check_applies(cfg: TrialConfig, total_steps: int) -> Sizing | None:
    """Size the budget, check lengths, apply the strategy; ConfigError on any problem."""
    sizing = sized(cfg)
    strategy = trial_strategy(cfg)
    family = FAMILIES[cfg.model.family]
    model = on_cpu(build_for_counting(cfg.model, task_spec(cfg.data), cfg.cache_dir))
    check_max_length(cfg.data, cfg.model, family,
                     getattr(model.config, "max_position_embeddings", None),
                     virtual_tokens(strategy))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            apply_strategy(model, strategy, family, total_steps)
        except (ValueError, TypeError, KeyError) as err:
            _, options = parse(strategy)
            message = first_line(err)
            steps = f" ({total_steps} optimizer steps)" if "total_step" in message else ""
            raise ConfigError(f"strategy.{option_named_in(message, options)}",
                              f"rejected by PEFT on model {cfg.model.name}{steps}: "
                              f"{message}") from err
    for warning in caught:
        if match := _ADJUSTED.search(str(warning.message)):
            raise ConfigError(f"strategy.{match.group(1)}", f"{match.group(2)} does not fit "
                              f"model {cfg.model.name} (PEFT would train "
                              f"{match.group(3)} instead)",
                              f"a divisor of the adapted layers' input width, e.g. "
                              f"{match.group(3)}")
    return sizing
