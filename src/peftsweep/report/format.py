"""How the report writes one value: metrics, counts, learning rates, intervals, p-values.

Every table, the findings note, the plots and the HTML page format through here, so a
number reads the same everywhere; '–' stands where there is nothing to show.
"""

from __future__ import annotations

import pandas as pd

DASH = "–"


def missing(value) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def fmt_metric(value) -> str:
    return DASH if missing(value) else f"{float(value):.4f}"


def fmt_count(value) -> str:
    return DASH if missing(value) else f"{round(float(value)):,}"


def fmt_percent(value) -> str:
    return DASH if missing(value) else f"{float(value):.4g}"


def fmt_lr(value) -> str:
    """3e-4 rather than 0.0003: learning rates are read as powers of ten."""
    if missing(value):
        return DASH
    value = float(value)
    if value == 0 or abs(value) >= 1e-2:
        return f"{value:g}"
    mantissa, exponent = f"{value:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def fmt_interval(low, high) -> str:
    if missing(low) or missing(high):
        return DASH
    return f"[{float(low):.4f}, {float(high):.4f}]"


def fmt_p(value) -> str:
    """p-values to 4 decimals; tiny ones in scientific notation rather than as 0.0000."""
    if missing(value):
        return DASH
    value = float(value)
    return f"{value:.1e}" if value < 1e-4 else f"{value:.4f}"


def fmt_init(value) -> str:
    if missing(value):
        return DASH
    return "pretrained" if bool(value) else "random"


def fmt_mean_std(mean, std, seeds) -> str:
    """Mean ± sample std; a single seed has no spread to show."""
    if missing(mean):
        return DASH
    spread = DASH if missing(std) or (seeds is not None and seeds < 2) else f"{std:.4f}"
    return f"{mean:.4f} ± {spread}"
