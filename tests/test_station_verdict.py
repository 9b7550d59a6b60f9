"""Chromaticity binning in the station verdict: the MacAdam centre of the nominal CCT."""

from __future__ import annotations

import numpy as np
import pytest

from lightcomp.analysis.binning import ansi_c78377_table, ansi_flexible_target_duv
from lightcomp.analysis.cct import CCT_Duv_to_xy_Ohno2013
from lightcomp.station.verdict import chromaticity_bins


@pytest.mark.parametrize("nominal", [2700, 4000, 6500])
def test_zero_steps_at_the_ansi_centre(nominal):
    tab = ansi_c78377_table()
    cx, cy = tab["centre_xy"][list(tab["nominal_cct_k"]).index(nominal)]
    b = chromaticity_bins(
        np.array([float(nominal)]), np.array([0.0]), np.array([cx]), np.array([cy]), nominal
    )
    assert b["sdcm_steps"][0] == pytest.approx(0.0, abs=1e-9)


def test_flexible_nominal_uses_its_own_target_not_a_neighbour():
    t = 3300.0  # between the 3000 K and 3500 K categories (ANSI flexible CCT)
    xy = CCT_Duv_to_xy_Ohno2013(np.array([t]), np.array([ansi_flexible_target_duv(t)]))[0]
    b = chromaticity_bins(np.array([t]), np.array([0.0]), xy[:1], xy[1:], 3300)
    assert b["sdcm_steps"][0] < 0.05


def test_point_on_a_shared_edge_is_inside_both_plans_quadrangles():
    from lightcomp.analysis.binning import ansi_quadrangles

    q = ansi_quadrangles()
    # 2700 K and 3000 K share the edge from (.4562, .4260) to (.4373, .3893)
    mid = (np.array([0.4562, 0.4260]) + np.array([0.4373, 0.3893])) / 2
    assert any(np.allclose(c, [0.4562, 0.4260]) for c in q[2700])
    for plan in (2700, 3000):
        b = chromaticity_bins(np.array([2850.0]), np.array([0.0]), mid[:1], mid[1:], plan)
        assert bool(b["ansi_inside"][0]), plan


def test_point_outside_the_plans_quadrangle_fails_it():
    b = chromaticity_bins(
        np.array([4000.0]), np.array([0.0]), np.array([0.3818]), np.array([0.3797]), 3000
    )
    assert not bool(b["ansi_inside"][0])


# -- limits --------------------------------------------------------------------------------
def _plan(**limits_and_quadrangle):
    import dataclasses

    from _station_helpers import PLAN_DC

    from lightcomp.station.plan import Limit, load_plan

    plan = load_plan(PLAN_DC)
    quad = limits_and_quadrangle.pop("ansi_quadrangle", None)
    limits = tuple(
        Limit(name, q, u, lo, hi) for name, (q, u, lo, hi) in limits_and_quadrangle.items()
    )
    return dataclasses.replace(plan, limits=limits, ansi_quadrangle=quad)


GOOD = {
    "luminous_flux": 1200.0,
    "Ra": 83.0,
    "power_w": 12.5,
    "ansi_inside": True,
    "ansi_category": "4000-B",
}
LIMITS = {
    "flux": ("luminous_flux", "lm", 1080.0, None),
    "ra": ("Ra", "", 80.0, None),
    "power": ("power_w", "W", None, 13.6),
}


def test_all_limits_hold():
    from lightcomp.station.verdict import evaluate_limits

    verdicts, failed = evaluate_limits(_plan(**LIMITS, ansi_quadrangle=4000), GOOD)
    assert failed == []
    assert all(v["pass"] for v in verdicts.values())
    assert verdicts["flux"]["value"] == 1200.0 and verdicts["flux"]["min"] == 1080.0


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"luminous_flux": 1079.9}, ["flux"]),  # below min
        ({"power_w": 13.61}, ["power"]),  # above max
        ({"Ra": 79.0, "power_w": 20.0}, ["ra", "power"]),  # two, in plan order
        ({"ansi_inside": False}, ["ansi_quadrangle"]),
        ({"luminous_flux": float("nan")}, ["flux"]),  # no valid value cannot pass
        ({"Ra": None}, ["ra"]),
    ],
)
def test_each_broken_limit_is_named(change, expected):
    from lightcomp.station.verdict import evaluate_limits

    verdicts, failed = evaluate_limits(_plan(**LIMITS, ansi_quadrangle=4000), {**GOOD, **change})
    assert failed == expected
    assert [n for n, v in verdicts.items() if not v["pass"]] == expected


def test_limits_are_inclusive():
    from lightcomp.station.verdict import evaluate_limits

    _, failed = evaluate_limits(_plan(**LIMITS), {**GOOD, "luminous_flux": 1080.0, "power_w": 13.6})
    assert failed == []


def test_a_chunk_is_judged_row_by_row_alike():
    """The batch form (a re-analysis chunk) gives each row what the rule says, whatever
    the value's type: numpy and plain floats, ints, infinities, NaN, None, booleans and
    numeric strings (read as numbers by the sanitiser), and one row alone the same."""
    import numpy as np

    from lightcomp.station.verdict import evaluate_limits, evaluate_limits_rows

    plan = _plan(**LIMITS, ansi_quadrangle=4000)
    odd = [
        1200.0, np.float64(1079.0), 1080, float("inf"), -float("inf"), float("nan"),
        None, True, "1100", "x", np.float32(1500.5),
    ]  # fmt: skip
    rows = [{**GOOD, "luminous_flux": v} for v in odd]
    rows += [{**GOOD, "ansi_inside": None}, {k: v for k, v in GOOD.items() if k != "Ra"}]
    batch = evaluate_limits_rows(plan, rows)
    flux_ok = [True, False, True, False, False, False, False, False, True, False, True]
    expected = [[] if ok else ["flux"] for ok in flux_ok] + [["ansi_quadrangle"], ["ra"]]
    assert [failed for _, failed in batch] == expected
    values = [v["flux"]["value"] for v, _ in batch[: len(odd)]]
    assert values == [1200.0, 1079.0, 1080.0, None, None, None, None, None, 1100.0, None, 1500.5]
    assert all(type(v) is float for v in values if v is not None)  # plain JSON floats
    assert batch == [evaluate_limits(plan, r) for r in rows]
