"""The conformity decision (ILAC-G8:09/2019) as a pure function, as the certificate uses it."""

from __future__ import annotations

import pytest

from lightcomp.reports.conformity import conformity


@pytest.mark.parametrize(
    ("value", "lo", "hi", "u", "expected"),
    [
        (1100.0, 1080.0, None, 10.0, "conforms"),  # inside by 20 >= U
        (1085.0, 1080.0, None, 10.0, "indeterminate (within guard band)"),  # inside by 5 < U
        (1079.0, 1080.0, None, 10.0, "does not conform"),  # outside
        (4000.0, 3710.0, 4260.0, 300.0, "indeterminate (within guard band)"),
        (4000.0, 3710.0, 4260.0, 200.0, "conforms"),
        (12.9, None, 13.0, None, "conforms"),  # guarded without U: simple acceptance
    ],
)
def test_guarded_acceptance(value, lo, hi, u, expected):
    statement, applied = conformity(value, lo, hi, rule="guarded", u=u)
    assert statement == expected
    assert applied == ("simple" if u is None else f"guarded, w = {u:g}")


def test_simple_acceptance_follows_the_limits_and_the_station_verdict():
    assert conformity(1085.0, 1080.0, None, rule="simple", u=10.0) == ("conforms", "simple")
    assert conformity(1079.0, 1080.0, None)[0] == "does not conform"
    # no numeric value (the ANSI quadrangle): the station's verdict decides
    assert conformity(None, None, None, passed=False)[0] == "does not conform"
    assert conformity(None, None, None, passed=True)[0] == "conforms"
    with pytest.raises(ValueError, match="decision rule"):
        conformity(1.0, 0.0, 2.0, rule="lenient")
