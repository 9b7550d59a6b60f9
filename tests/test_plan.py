"""Test plans and station files: validation with file:line:key messages."""

from __future__ import annotations

import re

import pytest
from _station_helpers import PLAN_AC, PLAN_DC, SIM_STATION

from lightcomp.errors import PlanError
from lightcomp.station.config import load_station
from lightcomp.station.plan import QUANTITIES, find_key_line, load_plan

GOOD = """\
[plan]
name = "P"
family = "LS0-COB-4000"

[drive]
mode = "dc-current"
current_a = 0.35
voltage_limit_v = 48.0

[stabilisation]
interval_s = 900.0
window_s = 1800.0

[limits]
flux_min = 1000.0
flux_max = 1400.0
ra_min = 80.0
ansi_quadrangle = 4000
"""


def write(tmp_path, text: str):
    p = tmp_path / "plan.toml"
    p.write_text(text)
    return p


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith(needle))


def test_shipped_plans_and_station_load():
    dc, ac = load_plan(PLAN_DC), load_plan(PLAN_AC)
    assert dc.drive.mode == "dc-current" and ac.drive.mode == "ac"
    assert dc.ansi_quadrangle == 4000 and ac.ansi_quadrangle == 3000
    # LM-79 defaults: 15 min readings over 30 min, < 0.5 %
    assert (dc.stabilisation.interval_s, dc.stabilisation.window_s) == (900.0, 1800.0)
    assert dc.stabilisation.max_variation == pytest.approx(0.005)
    st = load_station(SIM_STATION)
    assert {"source", "spectro", "fixture"} <= set(st.instruments)
    assert st.lamp_path().is_file()


def test_good_plan_parses(tmp_path):
    plan = load_plan(write(tmp_path, GOOD))
    flux = next(lim for lim in plan.limits if lim.name == "flux")
    assert (flux.quantity, flux.min, flux.max) == ("luminous_flux", 1000.0, 1400.0)
    assert plan.sha256 and plan.snapshot()["plan"]["name"] == "P"


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("flux_max = 1400.0", "flux_mn = 1400.0", "flux_mn", "unknown key 'flux_mn' in [limits]"),
        ("flux_max = 1400.0", "flux_max = 900.0", "flux_min", "flux_min = 1000 > flux_max = 900"),
        ("flux_max = 1400.0", "flux_max = -5.0", "flux_max", "impossible limit 'flux_max'"),
        ("ra_min = 80.0", "ra_min = 101.0", "ra_min", "impossible limit 'ra_min'"),
        ("ra_min = 80.0", "colour_min = 1.0", "colour_min", "unknown key 'colour_min' in [limits]"),
        ("ra_min = 80.0", 'ra_min = "high"', "ra_min", "must be a number"),
        (
            "ansi_quadrangle = 4000",
            "ansi_quadrangle = 4100",
            "ansi_quadrangle",
            "ANSI C78.377 nominal CCT",
        ),
        (
            "window_s = 1800.0",
            "window_sec = 1800.0",
            "window_sec",
            "unknown key 'window_sec' in [stabilisation]",
        ),
        ("window_s = 1800.0", "window_s = 600.0", "window_s", "must be >= 'interval_s'"),
        ('mode = "dc-current"', 'mode = "pulsed"', "mode", "unknown drive mode 'pulsed'"),
        ("current_a = 0.35", "current_a = -0.35", "current_a", "must be > 0"),
        ("current_a = 0.35", "current_a = true", "current_a", "must be int or float"),
    ],
)
def test_plan_errors_name_file_line_and_key(tmp_path, old, new, needle, message):
    text = GOOD.replace(old, new)
    assert text != GOOD
    path = write(tmp_path, text)
    with pytest.raises(PlanError) as exc:
        load_plan(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:{line_of(text, needle)}: "), msg
    assert message in msg


def test_missing_and_unknown_tables(tmp_path):
    text = GOOD + "\n[extras]\nfoo = 1\n"
    with pytest.raises(PlanError, match=rf":{line_of(text, '[extras]')}: unknown table \[extras\]"):
        load_plan(write(tmp_path, text))
    no_drive = re.sub(r"\[drive\].*?\n\n", "", GOOD, flags=re.S)
    with pytest.raises(PlanError, match=r"missing table \[drive\]"):
        load_plan(write(tmp_path, no_drive))
    with pytest.raises(PlanError, match=r"drive mode 'dc-current' needs 'voltage_limit_v'"):
        load_plan(write(tmp_path, GOOD.replace("voltage_limit_v = 48.0\n", "")))


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(PlanError, match=r"plan\.toml:\d+: invalid TOML"):
        load_plan(write(tmp_path, GOOD + "\nflux_min = \n"))
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(tmp_path / "nope.toml")


def test_every_quantity_range_is_consistent():
    for name, (_key, _unit, lo, hi) in QUANTITIES.items():
        assert lo < hi, name


def test_find_key_line_prefers_the_right_table():
    text = "[a]\nx = 1\n\n[limits]\nx = 2\n"
    assert find_key_line(text, "limits", "x") == 5
    assert find_key_line(text, "a", "x") == 2
    assert find_key_line(text, "limits", "zzz") == 4  # falls back to the table header


def test_station_errors_name_line(tmp_path):
    text = SIM_STATION.read_text()
    bad = text.replace('driver = "ls218"', 'driver = "ls218"\ncolour = "red"')
    p = tmp_path / "st.toml"
    p.write_text(bad)
    with pytest.raises(PlanError) as exc:
        load_station(p)
    assert f"{p}:{line_of(bad, 'colour')}:" in str(exc.value)
    bad = text.replace("[instruments.thermo]", "[instruments.thermometer]")
    p.write_text(bad)
    with pytest.raises(PlanError, match=r"unknown instrument role 'thermometer'"):
        load_station(p)
    bad = text.replace("validity_days = 30", "validity_days = -1")
    p.write_text(bad)
    with pytest.raises(PlanError, match=rf":{line_of(bad, 'validity_days')}: 'validity_days'"):
        load_station(p)
