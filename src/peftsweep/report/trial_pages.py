"""Every trial of a sweep as the HTML report shows it: one overview row and one detail section.

The overview lists all trials (finished or not) with a link to the trial's
section; the section holds the facts of its result file, the resolved config it
ran with, and its validation curve. Values are plain text here: the template
escapes them.
"""

from __future__ import annotations

import base64
from typing import Any, NamedTuple

import pandas as pd
import yaml

from peftsweep.report.collect import Collection
from peftsweep.report.format import DASH, fmt_count, fmt_init, fmt_lr, fmt_metric, fmt_percent
from peftsweep.report.plots import trial_curve_png
from peftsweep.report.render import trial_label


class TrialPage(NamedTuple):
    anchor: str
    label: str
    status: str
    facts: list[tuple[str, str]]
    config: str
    curve: str | None  # a data: URI of a PNG


def anchor(identity: str) -> str:
    """The id of a trial's section; identities are hex, so the id needs no escaping."""
    return f"trial-{identity}"


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _metric_value(row: pd.Series, prefix: str):
    return row.get(f"{prefix}/{row['metric']}") if isinstance(row.get("metric"), str) else None


def _text(value) -> str:
    missing = value is None or (pd.api.types.is_scalar(value) and pd.isna(value))
    return DASH if missing else str(value)


def overview(collection: Collection) -> tuple[pd.DataFrame, list[str]]:
    """All trials as display strings, and each row's anchor (same order)."""
    table = collection.table
    view = pd.DataFrame({
        "trial": table["job_dir"].map(_text),
        "status": table["status"].map(_text),
        "model": table["model"].map(_text),
        "data": table["data"].map(_text),
        "strategy": table["strategy"].map(_text),
        "init": table["pretrained"].map(fmt_init),
        "learning rate": table["lr"].map(fmt_lr),
        "batch size": table["batch_size"].map(fmt_count),
        "seed": table["seed"].map(fmt_count),
        "metric": table["metric"].map(_text),
        "best validation": [fmt_metric(_metric_value(row, "val")) for _, row in table.iterrows()],
        "test": [fmt_metric(_metric_value(row, "test")) for _, row in table.iterrows()],
        "best step": table["best_step"].map(fmt_count),
        "wall s": table["wall_s"].map(lambda v: DASH if pd.isna(v) else f"{float(v):.1f}"),
    })
    return view, [anchor(identity) for identity in table["identity"]]


def _facts(row: pd.Series) -> list[tuple[str, str]]:
    facts = [
        ("sweep", _text(row["sweep"])), ("folder", _text(row["job_dir"])),
        ("identity", _text(row["identity"])), ("status", _text(row["status"])),
    ]
    if row["status"] != "ok":
        facts += [("error", _text(row.get("error"))), ("failed at step",
                                                      fmt_count(row.get("failed_step")))]
    facts += [
        ("selection metric", f"{_text(row['metric'])} ({_text(row.get('metric_mode'))})"),
        ("best validation", fmt_metric(_metric_value(row, "val"))),
        ("test", fmt_metric(_metric_value(row, "test"))),
        ("best step / epoch", f"{fmt_count(row['best_step'])} / {fmt_count(row['best_epoch'])}"),
        ("trainable params", f"{fmt_count(row['params_trainable'])} "
                             f"({fmt_percent(row['trainable_percent'])}% of the model's "
                             "parameters)"),
        ("wall time s", _text(row.get("wall_s"))),
        ("finished at", _text(row.get("finished_at"))),
    ]
    return facts


def _config_text(config: dict[str, Any]) -> str:
    if not config:
        return "(the result file holds no config)"
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=True)


def trial_pages(collection: Collection, *, curves: bool = True) -> list[TrialPage]:
    """One page section per trial, in the collection's order."""
    pages = []
    for _, row in collection.table.iterrows():
        identity = row["identity"]
        png = None
        if curves and isinstance(row.get("metric"), str):
            png = trial_curve_png(collection.histories.get(identity, []), row["metric"],
                                  row["best_step"])
        pages.append(TrialPage(
            anchor=anchor(identity), label=trial_label(row), status=_text(row["status"]),
            facts=_facts(row), config=_config_text(collection.configs.get(identity, {})),
            curve=png_data_uri(png) if png else None,
        ))
    return pages
