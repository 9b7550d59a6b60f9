"""Every station file and plan shipped in station/ loads and validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightcomp.station.config import load_station
from lightcomp.station.plan import load_plan

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted((ROOT / "station").glob("*.toml")), ids=lambda p: p.name)
def test_station_file_is_valid(path):
    station = load_station(path)
    assert {"source", "spectro", "fixture"} <= set(station.instruments)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "station" / "plans").glob("*.toml")), ids=lambda p: p.name
)
def test_plan_file_is_valid(path):
    assert load_plan(path).name


def test_hardware_example_uses_real_time_and_the_operator():
    station = load_station(ROOT / "station" / "lab-example.toml")
    assert station.clock["kind"] == "system"
    assert station.instruments["fixture"].driver == "operator"
    assert not station.is_simulated
