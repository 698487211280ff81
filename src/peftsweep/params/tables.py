"""The parameter report of ``peftsweep params``, as Markdown: every component's count, what
each strategy trains, and the closed-form formula checked against the exact count.

Nothing is downloaded: the model is built from ``model.arch`` on the meta device (no
weights), as weights never change counts.
"""

from __future__ import annotations

import pandas as pd

from peftsweep import params
from peftsweep.compose.session import compose_config
from peftsweep.params.budget import Sizing, sized, trial_strategy
from peftsweep.params.meta_model import build_for_counting
from peftsweep.params.method_table import MethodRow, method_rows
from peftsweep.spec.config import task_spec

DASH = "–"

FORMULAS = {
    "everything": params.Switches(),
    "no biases": params.Switches(biases=False),
    "no biases, no LayerNorms": params.Switches(biases=False, layer_norms=False),
    "no biases, LayerNorms, pooler, head": params.Switches(
        biases=False, layer_norms=False, pooler=False, head=False),
    "hand formula: embeddings + attention": params.SEEDS_HAND,
}


def _num(value: int) -> str:
    return f"{value:,}"


def _markdown(frame: pd.DataFrame, text_columns: int = 1) -> str:
    # Numbers are pre-formatted with thousands separators; keep them as text, right-aligned.
    align = ("left",) * text_columns + ("right",) * (len(frame.columns) - text_columns)
    return frame.to_markdown(index=False, disable_numparse=True, colalign=align)


def component_table(rows: list[params.Row]) -> str:
    lines = [[r.component, _num(r.weights), _num(r.biases), _num(r.total)] for r in rows]
    lines.append(["**total**", *(_num(sum(getattr(r, c) for r in rows))
                                 for c in ("weights", "biases", "total"))])
    return _markdown(pd.DataFrame(lines, columns=["component", "weights", "biases", "total"]))


def strategy_table(rows: list[params.Row], counts: dict[str, params.StrategyCount],
                   fold) -> str:
    # Adapter rows exist only in the wrapped models, so collect components from all of them.
    names = [r.component for r in rows] + [c for n in counts.values() for c in n.components]
    components = sorted(dict.fromkeys(map(fold, names)), key=params.component_order)
    table = {"component": components + ["**trainable**", "total (as built)", "trainable %"]}
    for label, count in counts.items():
        folded: dict[str, int] = {}
        for component, value in count.components.items():
            folded[fold(component)] = folded.get(fold(component), 0) + value
        table[label] = [_num(folded.get(c, 0)) for c in components] + [
            f"**{_num(count.trainable)}**", _num(count.total), f"{count.percent:.4f}"]
    return _markdown(pd.DataFrame(table))


def formula_table(rows: list[params.Row], shape: params.Shape) -> str:
    lines = []
    for label, switches in FORMULAS.items():
        terms = params.formula(shape, switches)
        counted = params.check_formula(rows, shape, switches)  # raises on a mismatch
        total = sum(t.value for t in terms)
        lines.append([label, " + ".join(t.symbols for t in terms), _num(total), _num(counted),
                      "yes" if total == counted else "NO"])
    columns = ["counts", "formula", "formula value", "counted exactly", "equal"]
    return _markdown(pd.DataFrame(lines, columns=columns), text_columns=2)


def terms_table(shape: params.Shape) -> str:
    """What each symbol group of the full formula stands for."""
    lines = [[t.what, t.symbols, _num(t.value)] for t in params.formula(shape)]
    return _markdown(pd.DataFrame(lines, columns=["term", "formula", "value"]), text_columns=2)


def _strategy_note(counts: dict, variants: dict) -> str:
    notes = []
    for label, count in counts.items():
        if count.peft_reported is None:
            continue  # not a PEFT model: nothing to cross-check
        options = {k: v for k, v in variants[label].items() if k != "name"}
        notes.append(f"{label}: {options}; trainable equals PEFT's "
                     f"get_nb_trainable_parameters() = {_num(count.peft_reported)}")
    return "\n".join(f"- {note}" for note in notes)


def _seeds_line() -> str:
    s, total = params.SEEDS_SHAPE, params.formula_total(params.SEEDS_SHAPE, params.SEEDS_HAND)
    return (f"The hand formula V*H + L*4H^2 (token embeddings and attention projections), "
            f"evaluated at V={_num(s.vocab)}, "
            f"H={s.hidden}, L={s.layers}: {_num(s.vocab * s.hidden)} + "
            f"{_num(s.layers * 4 * s.hidden ** 2)} = {_num(total)}. It counts token "
            "embeddings and the four HxH attention projections per layer only: no position "
            "or segment embeddings, biases, LayerNorms, feed-forward weights, pooler or head.")


def method_table(rows: list[MethodRow]) -> str:
    lines = [[r.method, r.setting or DASH, _num(r.trainable) if r.trainable is not None else DASH,
              f"{r.percent:.4f}" if r.percent is not None else DASH, r.closed_form or DASH,
              _num(r.peft) if r.peft is not None else DASH, r.note] for r in rows]
    columns = ["method", "setting", "trainable", "%", "closed form", "PEFT's count", "note"]
    return _markdown(pd.DataFrame(lines, columns=columns), text_columns=2)


def _budget_line(sizing: Sizing | None) -> str:
    if sizing is None:
        return ""
    where = f"{sizing.option}={sizing.value}" if sizing.option else "its fixed size"
    return (f"strategy.budget={sizing.budget}: {sizing.target:,} trainable parameters; "
            f"{where} trains {sizing.trainable:,} "
            f"({100 * (sizing.trainable - sizing.target) / sizing.target:+.2f}%).")


def report(overrides: list[str], sum_layers: bool = False) -> str:
    cfg = compose_config(overrides)
    spec = task_spec(cfg.data)
    build = lambda: build_for_counting(cfg.model, spec, cfg.cache_dir)  # noqa: E731
    base = build()
    rows, shape = params.breakdown(base), params.shape_of(base.config)
    sizing = sized(cfg)
    variants = params.strategy_variants(cfg.model.family, trial_strategy(cfg))
    counts = params.trainable_by_strategy(build, cfg.model.family, variants)
    fold = params.sum_layers if sum_layers else (lambda c: c)
    budget = cfg.strategy.get("budget")
    methods = method_rows(build, cfg.model.family, cfg.data.max_length, cfg.model.name, budget)
    legend = ", ".join(f"{k}={_num(v)}" for k, v in zip(
        "VHLIPTC", (shape.vocab, shape.hidden, shape.layers, shape.intermediate,
                    shape.positions, shape.token_types, shape.labels), strict=True))
    legend += "".join(f", {k}={_num(v)}" for k, v in (("E", shape.embedding),
                                                       ("R", shape.relative)) if v)
    return "\n\n".join(part for part in [
        f"# Parameters of model={cfg.model.name} ({shape.family}, {shape.labels} labels for "
        f"data={cfg.data.name})",
        "Built offline from model.arch on the meta device (pretrained=false forced, no weights "
        "loaded): weights do not change parameter counts.",
        "## By component", component_table(rows),
        "## Trainable per strategy (each applied to a fresh model)", _budget_line(sizing),
        strategy_table(rows, counts, fold), _strategy_note(counts, variants),
        "## PEFT methods" + (f" sized to strategy.budget={budget}" if budget is not None
                             else " at their defaults"),
        "Each counted in closed form where there is one, in the built model, and by PEFT "
        "(get_nb_trainable_parameters): the three agree.", method_table(methods),
        "## Closed form", legend, terms_table(shape), formula_table(rows, shape), _seeds_line(),
    ] if part)
