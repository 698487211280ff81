"""Turn the numeric tables into what people read: Markdown, LaTeX, and CSV files.

CSV files keep the raw numbers (full precision, machine-readable); Markdown and
LaTeX show the formatted view: metrics to 4 decimals, parameter counts with
thousands separators, mean ± sample std, [low, high] for a 95% confidence
interval, and '–' where there is nothing to show.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from peftsweep.report.findings import findings_markdown
from peftsweep.report.format import (
    DASH,
    fmt_count,
    fmt_init,
    fmt_interval,
    fmt_lr,
    fmt_mean_std,
    fmt_metric,
    fmt_p,
    fmt_percent,
    missing,
)
from peftsweep.report.tables import GROUP, Tables
from peftsweep.spec.results import atomic_write_text

SECTIONS = {
    "selection": "Selection: best hyper-parameters on validation (mean over seeds)",
    "test": "Test at the selected hyper-parameters",
    "comparisons": "Comparisons: paired over matched seeds, test metric at the selected "
                   "hyper-parameters (p-values also Holm-adjusted for the number of comparisons)",
    "pareto": "Test metric against trainable parameters: the Pareto front",
    "per_seed": "Per seed at the selected hyper-parameters",
    "gaps": "Gaps: failed, diverged and unusable results",
}
TEXT_COLUMNS = {"model", "data", "strategy", "init", "status", "trial", "error", "path",
                "compared", "a", "b", "within", "metric", "unmatched seeds", "warning", "test",
                "interval", "budget", "sized", "on the front", "correction"}


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["model", "data", "strategy"]].astype(object).map(
        lambda v: DASH if missing(v) else str(v)
    )
    out["init"] = frame["pretrained"].map(fmt_init)
    return out


def _hparams(out: pd.DataFrame, frame: pd.DataFrame) -> None:
    out["learning rate"] = frame["lr"].map(fmt_lr)
    out["batch size"] = frame["batch_size"].map(fmt_count)


def _by_metric(out: pd.DataFrame, frame: pd.DataFrame, column: str, label: str) -> None:
    """One display column per metric name, since groups may be selected on different metrics."""
    for metric in dict.fromkeys(frame["metric"]):
        values = frame[column].where(frame["metric"] == metric)
        out[f"{label} {metric}"] = values.map(fmt_metric)


def display_selection(frame: pd.DataFrame) -> pd.DataFrame:
    out = _keys(frame)
    _by_metric(out, frame, "val_mean", "validation")
    _hparams(out, frame)
    out["seeds"] = frame["seeds"].map(fmt_count)
    return out


def display_test(frame: pd.DataFrame) -> pd.DataFrame:
    out = _keys(frame)
    _hparams(out, frame)
    out["trainable params"] = frame["params_trainable"].map(fmt_count)
    out["% of model parameters"] = frame["trainable_percent"].map(fmt_percent)
    for column in frame.columns:
        if column.startswith("test/") and column.endswith(" mean"):
            key = column[len("test/"):-len(" mean")]
            cells = zip(frame[column], frame[f"test/{key} std"], frame["seeds"], strict=True)
            out[f"test {key}"] = [fmt_mean_std(m, s, n) for m, s, n in cells]
            bounds = zip(frame[f"test/{key} ci_low"], frame[f"test/{key} ci_high"], strict=True)
            out[f"95% CI {key}"] = [fmt_interval(low, high) for low, high in bounds]
            if f"test/{key} interval" in frame:
                out[f"interval {key}"] = frame[f"test/{key} interval"].map(_text)
    out["seeds"] = frame["seeds"].map(fmt_count)
    out["warning"] = frame["warning"].map(lambda text: text or "")
    return out


def _within(row: pd.Series) -> str:
    """What two compared setups share: the keys other than the compared factor."""
    parts = [str(row[key]) for key in ("model", "data", "strategy") if not missing(row[key])]
    label = "/".join(parts)
    if row["factor"] != "pretrained":
        label += f" ({fmt_init(row['pretrained'])})"
    return label


def _level(factor: str, value) -> str:
    if factor == "pretrained":
        return fmt_init(value)
    return DASH if missing(value) else str(value)


def _unmatched(only_a, only_b) -> str:
    parts = [f"{side}: {seeds}" for side, seeds in (("a", only_a), ("b", only_b))
             if not missing(seeds) and str(seeds)]
    return "; ".join(parts) or DASH


def _text(value) -> str:
    return "" if missing(value) else str(value)


def display_comparisons(frame: pd.DataFrame) -> pd.DataFrame:
    tests = list(dict.fromkeys(frame["test"]))
    # One test for every row: named in the header; else a column says which test each used.
    p_header = f"p ({tests[0]})" if len(tests) == 1 else "p"
    holm = frame["correction"].iloc[0] if "correction" in frame else ""
    view = pd.DataFrame({
        "compared": frame["factor"].map(lambda f: "init" if f == "pretrained" else f),
        "a": [_level(f, v) for f, v in zip(frame["factor"], frame["a"], strict=True)],
        "b": [_level(f, v) for f, v in zip(frame["factor"], frame["b"], strict=True)],
        "within": [_within(row) for _, row in frame.iterrows()],
        "metric": frame["metric"].astype(object),
        "seeds": frame["seeds"].map(fmt_count),
        "mean a": frame["mean_a"].map(fmt_metric),
        "mean b": frame["mean_b"].map(fmt_metric),
        "difference a - b": frame["diff"].map(lambda v: DASH if missing(v) else f"{v:+.4f}"),
        "95% CI of difference": [fmt_interval(low, high) for low, high in
                                 zip(frame["diff_ci_low"], frame["diff_ci_high"], strict=True)],
        p_header: frame["p_value"].map(fmt_p),
        f"p, {holm}" if holm else "p, Holm": frame["p_holm"].map(fmt_p),
        "unmatched seeds": [_unmatched(a, b) for a, b in
                            zip(frame["seeds_only_a"], frame["seeds_only_b"], strict=True)],
        "warning": frame["warning"].map(lambda text: "" if missing(text) else text),
    })
    if len(tests) > 1:
        view.insert(list(view.columns).index(p_header) + 1, "test", frame["test"].map(_text))
    return view


def display_pareto(frame: pd.DataFrame) -> pd.DataFrame:
    out = _keys(frame)
    out["budget"] = frame["budget"].map(_text)
    out["sized"] = frame["capacity"].map(_text)
    out["trainable params"] = frame["params_trainable"].map(fmt_count)
    out["% of total"] = frame["trainable_percent"].map(fmt_percent)
    out["metric"] = frame["metric"].astype(object)
    out["test mean"] = frame["mean"].map(fmt_metric)
    out["95% CI"] = [fmt_interval(low, high) for low, high in
                     zip(frame["ci_low"], frame["ci_high"], strict=True)]
    out["rank"] = frame["rank"].map(fmt_count)
    out["on the front"] = frame["on_front"].map(lambda front: "yes" if front else "")
    return out


def display_per_seed(frame: pd.DataFrame) -> pd.DataFrame:
    out = _keys(frame)
    _hparams(out, frame)
    out["seed"] = frame["seed"].map(fmt_count)
    _by_metric(out, frame, "val", "best validation")
    out["best step"] = frame["best_step"].map(fmt_count)
    _by_metric(out, frame, "test", "test")
    return out


def trial_label(row: pd.Series) -> str:
    if all(missing(row[key]) for key in GROUP):
        return DASH
    parts = [str(row[key]) for key in ("model", "data", "strategy") if not missing(row[key])]
    label = "/".join(parts)
    if not missing(row["pretrained"]):
        label += f" ({fmt_init(row['pretrained'])})"
    hparams = f"lr={fmt_lr(row['lr'])} bs={fmt_count(row['batch_size'])}"
    return f"{label} {hparams} seed={fmt_count(row['seed'])}"


def _short(text, limit: int = 120) -> str:
    if missing(text):
        return DASH
    line = str(text).strip().splitlines()[0] if str(text).strip() else DASH
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _without_prefix(error, path) -> str | None:
    """read_result's reasons start with the file's path, which the path column already shows."""
    if missing(error) or missing(path):
        return error
    return str(error).removeprefix(f"{path}: ")


def display_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "status": frame["status"].astype(object),
        "trial": [trial_label(row) for _, row in frame.iterrows()],
        "step": frame["step"].map(fmt_count),
        "error": [_short(_without_prefix(e, p)) for e, p in zip(frame["error"], frame["path"],
                                                                  strict=True)],
        "path": frame["path"].astype(object),
    }, columns=["status", "trial", "step", "error", "path"])


DISPLAY = {
    "selection": display_selection,
    "test": display_test,
    "comparisons": display_comparisons,
    "per_seed": display_per_seed,
    "gaps": display_gaps,
    "pareto": display_pareto,
}


def display(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The formatted (all-string) view of one numeric table."""
    if frame.empty:
        return pd.DataFrame()
    return DISPLAY[name](frame).reset_index(drop=True)


def _align(view: pd.DataFrame, left: str, right: str) -> list[str]:
    return [left if column in TEXT_COLUMNS else right for column in view.columns]


def to_markdown(view: pd.DataFrame) -> str:
    # The cells are already formatted; number parsing would turn "3e-4" back into 0.0003.
    if view.empty:
        return "_(none)_"
    align = _align(view, "left", "right")
    return view.to_markdown(index=False, disable_numparse=True, colalign=align)


def to_latex(view: pd.DataFrame) -> str:
    """A booktabs table; cells are escaped, ± and – become their LaTeX spellings."""
    if view.empty:
        return "% no rows\n"
    align = "".join(_align(view, "l", "r"))
    styler = view.style.hide(axis="index").format(escape="latex")
    styler = styler.format_index(escape="latex", axis=1)
    text = styler.to_latex(hrules=True, column_format=align)
    return text.replace("±", r"$\pm$").replace(DASH, "--").replace("…", r"\ldots{}")


def markdown_report(tables: Tables) -> str:
    """All tables under level-2 headings, as printed to the terminal and saved as report.md."""
    parts = [f"## What the numbers show\n\n{findings_markdown(tables)}\n"]
    for name, heading in SECTIONS.items():
        parts.append(f"## {heading}\n\n{to_markdown(display(name, getattr(tables, name)))}\n")
    return "\n".join(parts)


def write_tables(tables: Tables, out_dir: Path, trials: pd.DataFrame | None = None) -> list[Path]:
    """CSV (raw numbers) and LaTeX (formatted) per table, plus report.md; returns the paths."""
    out_dir = Path(out_dir)
    written = []
    for name in SECTIONS:
        frame = getattr(tables, name)
        written.append(_write(out_dir / f"{name}.csv", frame.to_csv(index=False)))
        written.append(_write(out_dir / f"{name}.tex", to_latex(display(name, frame))))
    written.append(_write(out_dir / "grid.csv", tables.grid.to_csv(index=False)))
    if trials is not None:
        written.append(_write(out_dir / "trials.csv", trials.to_csv(index=False)))
    written.append(_write(out_dir / "report.md", markdown_report(tables)))
    return written


def _write(path: Path, text: str) -> Path:
    atomic_write_text(path, text)
    # The atomic writer's temp file is private (0600); a report is meant to be shared.
    path.chmod(0o644)
    return path
