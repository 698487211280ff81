"""The report package on small, hand-made sweeps whose right answers are known.

Each sweep folder is built from real result.json files (written through
results.write_result), so the tests also guard the schema contract between
trials and reports. Expected numbers are computed by hand in the comments.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest

from peftsweep.cli.report import main
from peftsweep.report import build_tables, collect, display, write_plots
from peftsweep.spec.results import write_result

from helpers import TINY_TOTAL, grid_results, make_result, write_sweep


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = write_sweep(tmp_path_factory.mktemp("sweep"), grid_results())
    # A truncated file: half of a valid one.
    text = (root / "job000" / "result.json").read_text()
    (root / "truncated").mkdir()
    (root / "truncated" / "result.json").write_text(text[: len(text) // 2])
    # A stale copy of one finished trial that failed: same identity, older, not ok.
    stale = make_result("full", 1e-4, 16, 1, status="failed", error="preempted",
                        failed_step=3, finished_at="2026-11-26T10:00:00+00:00")
    write_result(root / "stale_copy", stale)
    return root


@pytest.fixture(scope="module")
def tables(sweep):
    return build_tables(collect([sweep]))


def row_of(frame: pd.DataFrame, strategy: str, pretrained=True, data="demo") -> pd.Series:
    match = frame[(frame["strategy"] == strategy) & (frame["pretrained"] == pretrained)
                  & (frame["data"] == data)]
    assert len(match) == 1, match
    return match.iloc[0]


def test_collect_keeps_one_row_per_trial_and_lists_problems(sweep):
    collection = collect([sweep])
    table = collection.table
    assert len(table) == 16 + 2 + 1 + 2
    assert table["identity"].is_unique
    assert table["status"].value_counts().to_dict() == {"ok": 19, "failed": 1, "diverged": 1}
    kept = table[(table["strategy"] == "full") & (table["lr"] == 1e-4)
                 & (table["batch_size"] == 16) & (table["seed"] == 1) & table["pretrained"]]
    assert kept["status"].tolist() == ["ok"]
    assert {"config.trainer.max_epochs", "config.model.name", "val/accuracy", "test/accuracy",
            "best_step", "params_trainable", "wall_s"} <= set(table.columns)
    kinds = sorted(problem.kind for problem in collection.problems)
    assert kinds == ["corrupt", "duplicate"]
    assert len(collection.histories[kept["identity"].iloc[0]]) == 4


def test_selection_picks_best_mean_over_seeds(tables):
    full, bitfit = row_of(tables.selection, "full"), row_of(tables.selection, "bitfit")
    assert (full["lr"], full["batch_size"]) == (1e-4, 16)
    assert (bitfit["lr"], bitfit["batch_size"]) == (3e-4, 8)
    assert full["val_mean"] == pytest.approx(0.86)
    assert bitfit["val_mean"] == pytest.approx(0.72)
    assert full["seeds"] == 2 and full["combos"] == 4
    random = row_of(tables.selection, "full", pretrained=False)
    assert (random["lr"], random["batch_size"], random["val_mean"]) == (1e-4, 16, 0.635)
    assert row_of(tables.selection, "lora", data="cola")["metric"] == "mcc"


def test_failed_trials_are_not_counted(tables):
    assert 1e-3 not in set(tables.grid["lr"])
    assert set(tables.grid["seeds"]) == {1, 2}


def test_test_table_mean_and_sample_std(tables):
    full, bitfit = row_of(tables.test, "full"), row_of(tables.test, "bitfit")
    # full at (1e-4, 16): tests 0.83 and 0.86 -> mean 0.845, std 0.03 / sqrt(2).
    assert full["test/accuracy mean"] == pytest.approx(0.845)
    assert full["test/accuracy std"] == pytest.approx(0.03 / math.sqrt(2))
    # bitfit at (3e-4, 8): tests 0.68 and 0.73; mismatched 0.69 and 0.74.
    assert bitfit["test/accuracy mean"] == pytest.approx(0.705)
    assert bitfit["test/accuracy std"] == pytest.approx(0.05 / math.sqrt(2))
    assert bitfit["test/validation_mismatched/accuracy mean"] == pytest.approx(0.715)
    assert pd.isna(full["test/validation_mismatched/accuracy mean"])
    assert (full["params_trainable"], bitfit["params_trainable"]) == (TINY_TOTAL, 3074)
    assert bitfit["seeds"] == 2
    view = display("test", tables.test)
    assert "0.8450 ± 0.0212" in set(view["test accuracy"])
    assert "0.2800 ± –" in set(view["test mcc"])  # one seed: no spread
    assert "4,386,178" in set(view["trainable params"])


def test_per_seed_best_step_and_test(tables):
    rows = tables.per_seed[(tables.per_seed["strategy"] == "full") & tables.per_seed["pretrained"]]
    assert rows["seed"].tolist() == [1, 2]
    assert rows["val"].tolist() == pytest.approx([0.85, 0.87])
    assert rows["best_step"].tolist() == [120, 80]
    assert rows["test"].tolist() == pytest.approx([0.83, 0.86])
    assert (rows["lr"] == 1e-4).all() and (rows["batch_size"] == 16).all()


def tie_results(mode="max") -> list[dict]:
    """Three combinations tied at a mean of 0.86 (up to float noise), one clearly worse."""
    cells = {(3e-4, 8): (0.86, 0.86), (1e-4, 16): (0.85, 0.87), (1e-4, 8): (0.87, 0.85),
             (3e-4, 16): (0.50, 0.50)}
    return [make_result("full", lr, bs, seed, val=val, test=val, metric="score", mode=mode)
            for (lr, bs), vals in cells.items() for seed, val in zip((1, 2), vals, strict=True)]


def test_tie_break_is_deterministic(tmp_path):
    first = write_sweep(tmp_path / "a", tie_results())
    second = write_sweep(tmp_path / "b", list(reversed(tie_results())), prefix="z")
    for root in (first, second):
        chosen = build_tables(collect([root])).selection.iloc[0]
        assert (chosen["lr"], chosen["batch_size"]) == (1e-4, 8)


def test_min_mode_prefers_lowest(tmp_path):
    root = write_sweep(tmp_path, tie_results(mode="min"))
    chosen = build_tables(collect([root])).selection.iloc[0]
    assert (chosen["lr"], chosen["batch_size"], chosen["val_mean"]) == (3e-4, 16, 0.5)


def test_duplicate_prefers_newest_finished(tmp_path):
    old = make_result("full", 1e-4, 8, 1, val=0.5, test=0.5)
    new = make_result("full", 1e-4, 8, 1, val=0.7, test=0.7,
                      finished_at="2026-11-28T10:00:00+00:00")
    collection = collect([write_sweep(tmp_path, [new, old])])
    assert collection.table["val/accuracy"].tolist() == [0.7]
    assert [p.kind for p in collection.problems] == ["duplicate"]


def test_gaps_table_lists_failures_and_bad_files(tables):
    gaps = tables.gaps
    assert sorted(gaps["status"]) == ["corrupt", "diverged", "duplicate", "failed"]
    failed = gaps[gaps["status"] == "failed"].iloc[0]
    assert (failed["step"], failed["error"], failed["lr"]) == (17, "CUDA out of memory", 1e-3)
    assert gaps[gaps["status"] == "corrupt"]["path"].iloc[0].endswith("truncated/result.json")
    view = display("gaps", gaps)
    assert "tiny/demo/full (pretrained) lr=1e-3 bs=16 seed=1" in set(view["trial"])


def test_cli_prints_tables_and_writes_files(sweep, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(sweep), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for heading in ("## Selection", "## Test at the selected", "## Per seed", "## Gaps"):
        assert heading in printed
    selection = pd.read_csv(out / "selection.csv")
    full = selection[(selection["strategy"] == "full") & selection["pretrained"].astype(bool)]
    assert full[["lr", "batch_size"]].values.tolist() == [[1e-4, 16]]
    assert pd.read_csv(out / "test.csv")["test/accuracy mean"].max() == pytest.approx(0.845)
    latex = (out / "test.tex").read_text()
    assert "\\toprule" in latex and "\\bottomrule" in latex
    assert "0.8450 $\\pm$ 0.0212" in latex and "4,386,178" in latex
    assert "0.8600" in (out / "selection.tex").read_text()
    pngs = sorted(out.glob("*.png"))
    assert {p.name for p in pngs} >= {"curves_demo.png", "curves_cola.png",
                                      "heatmap_demo_tiny_pretrained.png",
                                      "heatmap_demo_tiny_random.png", "test_vs_params_demo.png"}
    for png in pngs:
        assert png.stat().st_size > 1000
        assert matplotlib.image.imread(png).ndim == 3


def test_cli_default_out_and_no_plots(tmp_path, capsys):
    root = write_sweep(tmp_path / "sweep", tie_results())
    assert main([str(root), "--no-plots"]) == 0
    assert (root / "report" / "per_seed.csv").exists()
    assert not list((root / "report").glob("*.png"))
    # The report folder holds no result.json, so a second run sees the same trials.
    assert len(collect([root]).table) == 8
    assert "wrote" in capsys.readouterr().out


def test_cli_exit_codes(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    assert "no readable result.json" in capsys.readouterr().err


def test_plots_skip_missing_history(tmp_path):
    results = [make_result("full", 1e-4, 8, seed, val=0.8, test=0.8, history=False)
               for seed in (1, 2)]
    collection = collect([write_sweep(tmp_path / "sweep", results)])
    written, notes = write_plots(collection, build_tables(collection), tmp_path / "out")
    assert any(note.startswith("curves:") for note in notes)
    assert sorted(p.name for p in written) == ["heatmap_demo_tiny_pretrained.png",
                                               "test_vs_params_demo.png"]


def test_heatmap_numbers_contrast_with_every_cell_colour():
    import numpy as np
    from matplotlib import colormaps

    from peftsweep.report.plots import HEATMAP_CMAP, cell_ink

    def luminance(rgb):
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    cmap = colormaps[HEATMAP_CMAP]
    inks = []
    for position in np.linspace(0, 1, 41):
        cell = luminance(cmap(position)[:3])
        ink = cell_ink(cmap(position))
        other = 1.0 if ink == "white" else 0.0
        ratio = (max(cell, other) + 0.05) / (min(cell, other) + 0.05)
        assert ratio >= 4.5, (position, ink, ratio)  # WCAG AA for normal text
        inks.append(ink)
    assert inks[0] == "white" and inks[-1] == "black"


def test_best_seed_is_the_best_validation_then_the_lowest_seed():
    import pandas as pd

    from peftsweep.report.selection import best_seed

    frame = pd.DataFrame({"seed": [3, 1, 2, 4], "val/accuracy": [0.8, 0.9, 0.9, float("nan")]})
    assert best_seed(frame, "accuracy", "max")["seed"] == 1
    assert best_seed(frame, "accuracy", "min")["seed"] == 3
