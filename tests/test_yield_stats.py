"""Tests of lightcomp.analysis.yield_stats (yield intervals, Pareto, Cp/Cpk, control charts)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lightcomp.analysis import yield_stats as ys
from lightcomp.errors import AnalysisInputError


def test_worked_example_190_of_200():
    w = ys.yield_summary(190, 10)
    assert (round(float(w["lower"][0]), 3), round(float(w["upper"][0]), 3)) == (0.910, 0.973)
    cp = ys.yield_summary(190, 10, method="clopper-pearson")
    assert (round(float(cp["lower"][0]), 3), round(float(cp["upper"][0]), 3)) == (0.910, 0.976)
    assert w["yield"][0] == 0.95 and w["verdict"][0] == "not yet decidable"


@pytest.mark.parametrize(
    ("method", "scipy_method"), [("wilson", "wilson"), ("clopper-pearson", "exact")]
)
def test_intervals_against_scipy(method, scipy_method):
    k = np.array([0, 1, 5, 50, 95, 190, 199, 200, 3])
    n = np.array([10, 10, 20, 60, 100, 200, 200, 200, 3])
    for conf in (0.9, 0.95, 0.99):
        lo, hi = ys.binomial_interval(k, n, conf, method)
        ref = np.array(
            [
                stats.binomtest(int(a), int(b)).proportion_ci(conf, method=scipy_method)
                for a, b in zip(k, n, strict=True)
            ]
        )
        np.testing.assert_allclose(lo, ref[:, 0], atol=1e-10)
        np.testing.assert_allclose(hi, ref[:, 1], atol=1e-10)


def test_verdicts_and_zero_failure_rule():
    assert ys.zero_failure_sample_size(0.95, 0.95) == 59
    assert ys.zero_failure_sample_size(0.99, 0.90) == math.ceil(math.log(0.1) / math.log(0.99))
    r = ys.yield_summary([59, 58, 80, 190], [0, 0, 20, 10], [3, 0, 0, 7], method="clopper-pearson")
    assert list(r["verdict"]) == [
        "target met",
        "not yet decidable",
        "target missed",
        "not yet decidable",
    ]
    # Errors are reported but are not failures.
    np.testing.assert_array_equal(r["n_tested"], [59, 58, 100, 200])
    np.testing.assert_array_equal(r["n_error"], [3, 0, 0, 7])
    assert r["yield"][0] == 1.0
    # One-sided 95 % exact lower bound of 59/59 is 0.05 ** (1/59).
    assert r["lower_one_sided"][0] == pytest.approx(0.05 ** (1 / 59))
    assert pd.DataFrame(r).shape == (4, 11)


def test_yield_bad_input():
    with pytest.raises(AnalysisInputError, match="nothing tested"):
        ys.yield_summary([5, 0], [1, 0], [0, 4])
    with pytest.raises(AnalysisInputError, match="whole counts"):
        ys.yield_summary([-1], [0])
    with pytest.raises(AnalysisInputError, match="whole counts"):
        ys.yield_summary([np.nan], [0])
    with pytest.raises(AnalysisInputError, match="empty"):
        ys.yield_summary([], [])
    with pytest.raises(AnalysisInputError, match="unknown interval method"):
        ys.yield_summary(5, 1, method="bayes")


def test_grouped_yield():
    lots = ["L1"] * 4 + ["L2"] * 3
    maker = ["A", "A", "B", "B", "A", "A", "A"]
    verdicts = ["pass", "PASS", "fail", "error", "pass", "pass", "fail"]
    df = ys.grouped_yield(lots, verdicts)
    assert list(df.index) == ["L1", "L2"]
    assert df.loc["L1", ["n_pass", "n_fail", "n_error", "n_tested"]].tolist() == [2, 1, 1, 3]
    assert df.loc["L2", "yield"] == pytest.approx(2 / 3)
    df2 = ys.grouped_yield({"lot": lots, "maker": maker}, verdicts, method="clopper-pearson")
    assert df2.loc[("L1", "B"), "n_fail"] == 1 and df2.loc[("L1", "A"), "n_pass"] == 2
    with pytest.raises(AnalysisInputError, match="pass/fail/error"):
        ys.grouped_yield(lots, verdicts[:-1] + ["broken"])
    with pytest.raises(AnalysisInputError, match="empty lot"):
        ys.grouped_yield([], [])
    with pytest.raises(AnalysisInputError, match="nothing tested"):
        ys.grouped_yield(["L1", "L2"], ["pass", "error"])


def test_pareto():
    failed = [["flux_low"], [], ["cct", "flux_low"], ["pf", "flux_low", "flux_low"], ["cct"], []]
    df = ys.pareto_failure_causes(failed)
    assert df["cause"].tolist() == ["flux_low", "cct", "pf"]
    assert df["count"].tolist() == [3, 2, 1]
    np.testing.assert_allclose(df["percent"], [50, 100 / 3, 100 / 6])
    np.testing.assert_allclose(df["cumulative_percent"], [50, 50 + 100 / 3, 100])
    np.testing.assert_allclose(df["percent_of_components"], [50, 100 / 3, 100 / 6])
    assert ys.pareto_failure_causes([[], []]).empty
    with pytest.raises(AnalysisInputError):
        ys.pareto_failure_causes([])


def test_cpk_by_hand():
    x = np.array([9.0, 10.0, 11.0, 10.0, 10.0])  # mean 10, s = sqrt(0.5)
    s = math.sqrt(0.5)
    r = ys.process_capability(x, lsl=7.0, usl=14.0)
    assert r["cp"] == pytest.approx(7 / (6 * s))
    assert r["cpu"] == pytest.approx(4 / (3 * s))
    assert r["cpl"] == pytest.approx(3 / (3 * s))
    assert r["cpk"] == pytest.approx(3 / (3 * s))
    one = ys.process_capability(x, usl=14.0)
    assert np.isnan(one["cp"]) and one["cpk"] == pytest.approx(4 / (3 * s))
    mr = ys.process_capability(x, lsl=7.0, sigma="moving_range")
    assert mr["sigma"] == pytest.approx(0.75 / 1.128)
    both = ys.process_capability(np.vstack([x, x + 1]), lsl=7.0, usl=14.0)
    np.testing.assert_allclose(both["cpk"], [3 / (3 * s), 3 / (3 * s)])  # x + 1: cpu = 3/(3s)
    # Per-quantity limits, NaN = absent (one-sided).
    per_q = ys.process_capability(np.vstack([x, x]), lsl=[7.0, np.nan], usl=[14.0, 14.0])
    np.testing.assert_allclose(per_q["cpk"], [3 / (3 * s), 4 / (3 * s)])
    assert np.isnan(per_q["cp"][1])
    with pytest.raises(AnalysisInputError, match="above lsl"):
        ys.process_capability(x, lsl=15.0, usl=14.0)
    with pytest.raises(AnalysisInputError, match="NaN"):
        ys.process_capability([1.0, np.nan], lsl=0.0)
    with pytest.raises(AnalysisInputError, match="lsl, usl"):
        ys.process_capability([1.0, 2.0])
    with pytest.raises(AnalysisInputError, match="at least 2"):
        ys.process_capability([1.0], lsl=0.0)


def test_western_electric_rules():
    r = ys.western_electric_rules([0, 3.5, 0, -2.5, 0.1, -2.2, 0, 0], 0.0, 1.0)
    assert np.flatnonzero(r["rule1"]).tolist() == [1]
    assert np.flatnonzero(r["rule2"]).tolist() == [5]
    r3 = ys.western_electric_rules([1.5, 1.5, 0, 1.5, 1.5, 0, 0], 0.0, 1.0)
    assert np.flatnonzero(r3["rule3"]).tolist() == [4]
    r4 = ys.western_electric_rules([0.5] * 9 + [-0.5], 0.0, 1.0)
    assert np.flatnonzero(r4["rule4"]).tolist() == [7, 8]
    assert not r4["rule1"].any()


def test_individuals_chart_by_hand():
    x = np.array([10, 11, 10, 11, 10, 11, 10, 11, 10, 30.0])
    r = ys.individuals_chart(x)
    mr_bar = (8 * 1 + 20) / 9
    assert r["mr_centre"] == pytest.approx(mr_bar)
    assert r["centre"] == pytest.approx(12.4)
    assert r["ucl"] == pytest.approx(12.4 + 2.66 * mr_bar, rel=1e-3)
    assert r["mr_ucl"] == pytest.approx(3.267 * mr_bar)
    assert r["out_of_control"][9] and r["rules"]["rule1"][9] and r["mr_out"][9]
    assert not r["rules"]["rule1"][:9].any()


def test_xbar_r_chart_by_hand():
    data = np.array(
        [[10, 11, 9, 10, 10], [10, 12, 8, 10, 10], [11, 10, 9, 10, 10], [15, 16, 14, 15, 15.0]]
    )
    r = ys.xbar_r_chart(data.ravel(), 5)
    np.testing.assert_allclose(r["means"], [10, 10, 10, 15])
    np.testing.assert_allclose(r["ranges"], [2, 4, 2, 2])
    assert r["centre"] == pytest.approx(11.25) and r["r_centre"] == pytest.approx(2.5)
    assert r["ucl"] == pytest.approx(11.25 + 0.577 * 2.5)
    assert r["r_ucl"] == pytest.approx(2.114 * 2.5) and r["r_lcl"] == 0.0
    # sigma of the means = A2 R-bar / 3 = 0.481: the first three means sit at z = -2.6, so
    # Western Electric rule 2 (2 of 3 beyond 2 sigma) fires at the third; the fourth is beyond 3 sigma.
    assert r["rules"]["rule2"].tolist() == [False, False, True, False]
    assert r["rules"]["rule1"].tolist() == [False, False, False, True]
    assert r["out_of_control"].tolist() == [False, False, True, True]
    with pytest.raises(AnalysisInputError, match="subgroups of 5"):
        ys.xbar_r_chart(np.arange(12.0), 5)
    with pytest.raises(AnalysisInputError, match="2-10"):
        ys.xbar_r_chart(np.arange(12.0), 12)


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
def test_interval_contains_the_yield_exactly_at_the_edges(method):
    from lightcomp.analysis.yield_stats import binomial_interval

    k = np.array([0, 25, 1, 199, 200])
    n = np.array([25, 25, 1, 200, 200])
    lo, hi = binomial_interval(k, n, 0.95, method)
    p = k / n
    assert np.all(lo <= p) and np.all(hi >= p)
    assert hi[1] == 1.0 and lo[0] == 0.0


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
def test_zero_failure_verdict_follows_the_59_rule_for_either_interval(method):
    # domain brief: claiming >= 95 % at 95 % confidence with zero failures takes n >= 59
    r = ys.yield_summary([52, 58, 59], [0, 0, 0], method=method)
    assert r["verdict"].tolist() == [ys.VERDICT_UNDECIDED, ys.VERDICT_UNDECIDED, ys.VERDICT_MET]
    # the verdict's bound is the one-sided exact one: 0.05 ** (1 / n)
    np.testing.assert_allclose(r["lower_one_sided"], 0.05 ** (1 / np.array([52, 58, 59])))
