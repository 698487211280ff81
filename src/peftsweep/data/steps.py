"""How many optimizer steps a trial takes: what schedules set before training need.

The count is Lightning's (``estimated_stepping_batches``) for the batches the length-grouped
sampler makes: ceil(rows / batch size) batches per epoch, shared out among the DDP ranks,
one optimizer step per ``accumulate`` of them (the last, shorter group still steps).
"""

from __future__ import annotations

import math


def optimizer_steps(rows: int, batch_size: int, epochs: int, accumulate: int = 1,
                    world_size: int = 1) -> int:
    batches = math.ceil(math.ceil(rows / batch_size) / world_size)
    return epochs * math.ceil(batches / accumulate)
