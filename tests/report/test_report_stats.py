"""Statistics in the report, checked against numbers computed here without scipy.

Student t quantiles come from printed tables, and the two-sided p-value of a t
statistic uses the closed-form t distribution function for 1 and 3 degrees of
freedom, so the check is independent of the code under test.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from peftsweep.report import build_tables, collect, display
from peftsweep.report.stats import mean_interval, paired_comparison, seed_warning

from helpers import grid_results, make_result, write_sweep

# t quantile for a two-sided 95% interval (0.975), from a t table.
T975 = {1: 12.706204736174706, 2: 4.302652729911275, 3: 3.182446305284263}


def two_sided_p(t: float, df: int) -> float:
    """P(|T| > |t|) for Student's t with 1 or 3 degrees of freedom (closed forms)."""
    t = abs(t)
    if df == 1:  # Cauchy
        return 1 - 2 * math.atan(t) / math.pi
    if df == 3:
        u = t / math.sqrt(3)
        cdf = 0.5 + (u / (1 + u * u) + math.atan(u)) / math.pi
        return 2 * (1 - cdf)
    raise ValueError(df)


def test_mean_interval_is_the_t_interval():
    # mean 0.83; deviations -0.03, -0.01, 0.04 -> s^2 = 0.0026 / 2 = 0.0013.
    interval = mean_interval([0.80, 0.82, 0.87])
    half = T975[2] * math.sqrt(0.0013 / 3)
    assert interval.n == 3
    assert interval.mean == pytest.approx(0.83)
    assert (interval.low, interval.high) == pytest.approx((0.83 - half, 0.83 + half))


def test_mean_interval_needs_two_values():
    one = mean_interval([0.7])
    assert (one.mean, one.n) == (0.7, 1)
    assert math.isnan(one.low) and math.isnan(one.high)
    assert math.isnan(mean_interval([]).mean)
    same = mean_interval([0.5, 0.5, float("nan")])  # NaN dropped; no spread: a point
    assert (same.low, same.high, same.n) == (0.5, 0.5, 2)


def test_paired_comparison_matches_hand_computation():
    a = pd.Series([0.80, 0.85, 0.90, 0.88], index=[1, 2, 3, 4])
    b = pd.Series([0.78, 0.80, 0.86, 0.87], index=[1, 2, 3, 4])
    # Differences 0.02, 0.05, 0.04, 0.01: mean 0.03, s^2 = 0.001 / 3.
    se = math.sqrt(0.001 / 3) / 2
    result = paired_comparison(a, b)
    assert result.n == 4 and result.warning == ""
    assert result.diff == pytest.approx(0.03)
    assert (result.mean_a, result.mean_b) == pytest.approx((0.8575, 0.8275))
    assert (result.low, result.high) == pytest.approx((0.03 - T975[3] * se, 0.03 + T975[3] * se))
    assert result.p_value == pytest.approx(two_sided_p(0.03 / se, 3))
    assert result.p_value < 0.05


def test_pairing_uses_matched_seeds_only_and_reports_the_rest():
    a = pd.Series([0.80, 0.85, 0.90, 0.88], index=[1, 2, 3, 4])
    b = pd.Series([0.84, 0.86, 0.87, 0.99], index=[2, 3, 4, 5])
    result = paired_comparison(a, b)
    assert (result.n, result.only_a, result.only_b) == (3, [1], [5])
    # Seeds 2-4: differences 0.01, 0.04, 0.01 -> mean 0.02, s^2 = 0.0006 / 2.
    se = math.sqrt(0.0003 / 3)
    assert (result.mean_a, result.mean_b) == pytest.approx((2.63 / 3, 2.57 / 3))
    assert result.diff == pytest.approx(0.02)
    assert (result.low, result.high) == pytest.approx((0.02 - T975[2] * se, 0.02 + T975[2] * se))
    assert result.warning == ""
    # A seed whose value is missing counts as unmatched, not as a zero.
    b[3] = float("nan")
    assert paired_comparison(a, b).only_a == [1, 3]


def test_too_few_seeds_are_flagged_in_plain_words():
    a = pd.Series([0.80, 0.85], index=[1, 2])
    two = paired_comparison(a, pd.Series([0.70, 0.80], index=[1, 2]))
    assert two.warning == "only 2 seeds: too few to conclude anything"
    assert not math.isnan(two.p_value)  # computed, but flagged
    one = paired_comparison(a, pd.Series([0.70, 0.80], index=[2, 3]))
    assert one.n == 1 and math.isnan(one.low) and math.isnan(one.p_value)
    assert "no confidence interval" in one.warning
    none = paired_comparison(a, pd.Series([0.7], index=[9]))
    assert none.n == 0 and none.warning == seed_warning(0) and math.isnan(none.diff)
    same = paired_comparison(pd.Series([0.8, 0.9, 0.7]), pd.Series([0.7, 0.8, 0.6]))
    assert math.isnan(same.p_value)
    assert same.warning == "the same difference on every seed: no t-test possible"
    tied = paired_comparison(a, a - 0.1)
    assert tied.warning.startswith("only 2 seeds: too few") and "no t-test" in tied.warning


def comparison_sweep() -> list[dict]:
    """Two models (seeds 1-4 and 2-5) and two strategies on the 'small' model (seeds 2-4)."""
    tests = {("tiny", "full"): {1: 0.80, 2: 0.85, 3: 0.90, 4: 0.88},
             ("small", "full"): {2: 0.84, 3: 0.86, 4: 0.87, 5: 0.99},
             ("small", "bitfit"): {2: 0.70, 3: 0.80, 4: 0.75}}
    return [make_result(strategy, 1e-4, 8, seed, val=value, test=value, model=model)
            for (model, strategy), by_seed in tests.items() for seed, value in by_seed.items()]


def test_comparison_table_pairs_strategies_and_inits(tmp_path):
    tables = build_tables(collect([write_sweep(tmp_path / "grid", grid_results())]))
    rows = tables.comparisons.set_index("factor")
    # bitfit (0.68, 0.73) vs full (0.83, 0.86): differences -0.15, -0.13 -> t = -14, df 1.
    strategy = rows.loc["strategy"]
    assert (strategy["a"], strategy["b"], strategy["seeds"]) == ("bitfit", "full", 2)
    assert strategy["diff"] == pytest.approx(-0.14)
    assert (strategy["diff_ci_low"], strategy["diff_ci_high"]) == pytest.approx(
        (-0.14 - T975[1] * 0.01, -0.14 + T975[1] * 0.01))
    assert strategy["p_value"] == pytest.approx(two_sided_p(14, 1))
    assert strategy["test"] == "paired t-test"
    assert "too few" in strategy["warning"]
    init = rows.loc["pretrained"]
    assert (init["a"], init["b"], init["strategy"]) == (True, False, "full")
    assert init["diff"] == pytest.approx(0.845 - 0.6605)
    # cola has a single setup: nothing to compare it with.
    assert set(tables.comparisons["data"]) == {"demo"}
    # The test table: two seeds and no per-example results give no interval (a t interval
    # would read [0.6544, 1.0356], beyond what an accuracy can be), and say so.
    test = tables.test[(tables.test["strategy"] == "full") & tables.test["pretrained"]].iloc[0]
    assert math.isnan(test["test/accuracy ci_low"]) and math.isnan(test["test/accuracy ci_high"])
    assert test["warning"] == ("only 2 seeds: too few to conclude anything; no interval for "
                               "accuracy: it needs 3 seeds, or per-example test results")
    # One family of comparisons: Holm over all of them, named in the table.
    tested = tables.comparisons["p_value"].notna().sum()
    assert set(tables.comparisons["correction"]) == {f"Holm over {tested} comparisons"}
    assert (tables.comparisons["p_holm"].dropna() >= tables.comparisons["p_value"].dropna()).all()


def test_model_comparison_reports_unmatched_seeds(tmp_path):
    tables = build_tables(collect([write_sweep(tmp_path, comparison_sweep())]))
    comparisons = tables.comparisons
    model = comparisons[comparisons["factor"] == "model"].iloc[0]
    assert (model["a"], model["b"], model["strategy"]) == ("small", "tiny", "full")
    assert (model["seeds"], model["seeds_only_a"], model["seeds_only_b"]) == (3, "5", "1")
    assert model["diff"] == pytest.approx(-0.02)
    assert model["warning"] == ""
    strategy = comparisons[comparisons["factor"] == "strategy"].iloc[0]
    assert (strategy["a"], strategy["b"], strategy["model"]) == ("bitfit", "full", "small")
    assert (strategy["seeds"], strategy["seeds_only_b"]) == (3, "5")
    view = display("comparisons", comparisons)
    assert list(view["unmatched seeds"]) == ["b: 5", "a: 5; b: 1"]
    assert "p (paired t-test)" in view.columns
    assert view.loc[1, "95% CI of difference"].startswith("[")
