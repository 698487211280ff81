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
                  "bitfit": "BitFit", "lora": "LoRA", "ia3": "(IA)³", "dora": "DoRA",
                  "rslora": "rsLoRA", "adalora": "AdaLoRA", "loha": "LoHa", "lokr": "LoKr",
                  "vera": "VeRA", "oft": "OFT", "prompt_tuning": "prompt tuning",
                  "p_tuning": "p-tuning", "prefix": "prefix tuning",
                  "prefix_tuning": "prefix tuning", "peft-lora": "LoRA (PEFT's defaults)"}
ALPHA = 0.05


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


def describe_scope(rows: pd.DataFrame, modes: dict, tables: Tables | None = None) -> list[str]:
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
    if tables is not None:
        lines += _significance(tables.comparisons, best) + _front(tables.pareto, best)
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


def _significance(comparisons: pd.DataFrame, best: pd.Series) -> list[str]:
    """Which strategies the best one beats once the p-values are Holm-adjusted."""
    if comparisons.empty:
        return []
    same = comparisons[(comparisons["factor"] == "strategy") &
                       (comparisons["model"] == best["model"]) &
                       (comparisons["data"] == best["data"]) &
                       ((comparisons["a"] == best["strategy"]) |
                        (comparisons["b"] == best["strategy"]))].dropna(subset=["p_holm"])
    if same.empty:
        return []
    beaten, level = [], []
    for _, row in same.iterrows():
        other = row["b"] if row["a"] == best["strategy"] else row["a"]
        ahead = (row["diff"] > 0) == (row["a"] == best["strategy"])
        (beaten if row["p_holm"] < ALPHA and ahead else level).append(_name(other))
    correction = same["correction"].iloc[0]
    parts = []
    if beaten:
        parts.append(f"it is ahead of {', '.join(beaten)} (Holm-adjusted p < {ALPHA})")
    if level:
        parts.append(f"not distinguishable from {', '.join(level)}")
    return [_capital(f"After correcting for multiple comparisons ({correction}, "
                     f"{same['test'].iloc[0]}): {'; '.join(parts)}.")]


def _front(pareto: pd.DataFrame, best: pd.Series) -> list[str]:
    scope = pareto[(pareto["model"] == best["model"]) & (pareto["data"] == best["data"]) &
                   (pareto["pretrained"] == best["pretrained"]) & pareto["on_front"]]
    if scope.empty or len(pareto) < 2:
        return []
    names = [f"{_name(row['strategy'])} ({fmt_count(row['params_trainable'])})"
             for _, row in scope.iterrows()]
    return [f"On the Pareto front of test {scope['metric'].iloc[0]} against trainable "
            f"parameters: {', '.join(names)}."]


def findings(tables: Tables) -> list[str]:
    """One paragraph (a list of sentences) per model, data and initialisation."""
    test = tables.test
    if test.empty:
        return []
    modes = dict(zip(tables.selection["metric"], tables.selection["mode"], strict=True))
    paragraphs = []
    for _, rows in test.groupby(SCOPE, dropna=False, sort=False):
        lines = describe_scope(rows, modes, tables)
        if lines:
            paragraphs.append(" ".join(lines))
    return paragraphs


def findings_markdown(tables: Tables) -> str:
    paragraphs = findings(tables)
    return "\n\n".join(paragraphs) if paragraphs else "_(no finished trials to compare)_"
