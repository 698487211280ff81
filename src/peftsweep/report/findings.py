"""What the numbers show, in a few sentences written from the test table.

For each model, data and initialisation, the strategies are ranked by their
mean test metric at their selected hyper-parameters; the note names the best,
how far each other strategy is from it and with how many trainable
parameters, the cheapest strategy that comes close, and where the learning
rates chosen on validation differ. It describes; it does not test significance.
"""

from __future__ import annotations

import pandas as pd

from peftsweep.report.format import fmt_count, fmt_init, fmt_lr
from peftsweep.report.tables import Tables

SCOPE = ["model", "data", "pretrained"]
STRATEGY_NAMES = {"full": "full fine-tuning", "head": "the linear probe (head only)",
                  "bitfit": "BitFit", "lora": "LoRA", "ia3": "(IA)³"}


def _name(strategy: str) -> str:
    """The name people write; a label's options ("lora(r=2)") stay as they are."""
    base, options = (str(strategy).split("(", 1) + [""])[:2]
    return STRATEGY_NAMES.get(base, base) + (f"({options}" if options else "")


def _capital(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _share(row: pd.Series) -> str:
    percent = row["trainable_percent"]
    share = "" if pd.isna(percent) else f", {percent:.3g}% of {fmt_count(row['params_total'])}"
    return f"{fmt_count(row['params_trainable'])} trainable parameters{share}"


def _score(row: pd.Series) -> str:
    mean, std = row["mean"], row["std"]
    spread = f" ± {std:.3f}" if row["seeds"] > 1 and not pd.isna(std) else ""
    return f"{mean:.3f}{spread}"


def _close(best: pd.Series, other: pd.Series) -> bool:
    """Within the seeds' spread (the smaller of the two std, at least 0.01) of the best.

    The smaller one: a strategy whose seeds scatter widely is not thereby close.
    """
    spreads = [v for v in (best["std"], other["std"]) if not pd.isna(v)]
    margin = max(min(spreads, default=0.0), 0.01)
    return abs(best["mean"] - other["mean"]) <= margin + 1e-9  # float noise counts as close


def _ranked(rows: pd.DataFrame, modes: dict) -> tuple[pd.DataFrame, str]:
    metric = str(rows["metric"].iloc[0])
    rows = rows[rows["metric"] == metric].copy()
    rows["mean"] = rows[f"test/{metric} mean"]
    rows["std"] = rows[f"test/{metric} std"]
    rows = rows.dropna(subset=["mean"])
    descending = modes.get(metric, "max") == "max"
    return rows.sort_values("mean", ascending=not descending), metric


def describe_scope(rows: pd.DataFrame, modes: dict) -> list[str]:
    ranked, metric = _ranked(rows, modes)
    if ranked.empty:
        return []
    best = ranked.iloc[0]
    where = f"{best['data']} with {best['model']} ({fmt_init(best['pretrained'])})"
    seeds = int(best["seeds"])
    lines = [f"On {where}, {_name(best['strategy'])} scored best: test {metric} "
             f"{_score(best)} over {seeds} seed{'s' if seeds > 1 else ''} at lr "
             f"{fmt_lr(best['lr'])}, with {_share(best)}."]
    for _, other in ranked.iloc[1:].iterrows():
        gap = other["mean"] - best["mean"]
        lines.append(_capital(f"{_name(other['strategy'])}: {_score(other)} ({gap:+.3f}), "
                              f"{_share(other)}."))
    lines += _cheapest_close(ranked, best) + _learning_rates(ranked)
    if int(ranked["seeds"].min()) < 2:
        lines.append("Some strategies ran one seed only: their differences may be noise.")
    return lines


def _cheapest_close(ranked: pd.DataFrame, best: pd.Series) -> list[str]:
    close = [row for _, row in ranked.iterrows() if _close(best, row)
             and pd.notna(row["params_trainable"]) and row["params_trainable"] > 0
             and row["params_trainable"] < best["params_trainable"]]
    if not close:
        return []
    cheapest = min(close, key=lambda row: row["params_trainable"])
    ratio = best["params_trainable"] / cheapest["params_trainable"]
    return [_capital(f"{_name(cheapest['strategy'])} came within the seeds' spread of the "
                     f"best with {ratio:,.0f}x fewer trainable parameters.")]


def _learning_rates(ranked: pd.DataFrame) -> list[str]:
    if ranked["lr"].nunique() < 2:
        return []
    chosen = ", ".join(f"{_name(row['strategy'])} {fmt_lr(row['lr'])}"
                       for _, row in ranked.iterrows())
    return [f"Validation chose different learning rates per strategy ({chosen})."]


def findings(tables: Tables) -> list[str]:
    """One paragraph (a list of sentences) per model, data and initialisation."""
    test = tables.test
    if test.empty:
        return []
    modes = dict(zip(tables.selection["metric"], tables.selection["mode"], strict=True))
    paragraphs = []
    for _, rows in test.groupby(SCOPE, dropna=False, sort=False):
        lines = describe_scope(rows, modes)
        if lines:
            paragraphs.append(" ".join(lines))
    return paragraphs


def findings_markdown(tables: Tables) -> str:
    paragraphs = findings(tables)
    return "\n\n".join(paragraphs) if paragraphs else "_(no finished trials to compare)_"
