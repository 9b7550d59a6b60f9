"""Tests of lightcomp.analysis.photometric_code (IEC 62717 ``ABC/DEF``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lightcomp.analysis.photometric_code import (
    lumen_maintenance_code,
    parse_photometric_code,
    photometric_code,
)
from lightcomp.errors import AnalysisInputError, CodeError


def test_lumen_maintenance_code_thresholds():
    f = [0.95, 0.9, 0.8999, 0.8, 0.75, 0.7, 0.69, np.nan]
    assert list(lumen_maintenance_code(f)) == ["9", "9", "8", "8", "7", "7", "-", "-"]
    with pytest.raises(AnalysisInputError, match="not a percentage"):
        lumen_maintenance_code([93.0])


def test_photometric_code_example_830_349():
    # IEC 62717 example: Ra 80-89, 3000 K, 3-step initial, 4-step maintained, >= 90 % flux.
    codes = photometric_code(
        ra=[82.4, 92.0, 71.0, 100.0],
        cct_k=[3000.0, 2700.0, 6500.0, 4000.0],
        initial_steps=[2.6, 3.0, 0.4, 12.0],
        maintained_steps=[3.2, np.nan, 5.0, 9.0],
        lumen_maintenance=[0.93, np.nan, 0.72, 0.85],
    )
    assert list(codes) == ["830/349", "927/3--", "765/157", "940/X98"]


def test_photometric_code_missing_maintained_data():
    assert list(photometric_code([85.0], [3000.0], [2.0])) == ["830/2--"]


def test_photometric_code_bad_input():
    with pytest.raises(AnalysisInputError, match="ra is NaN"):
        photometric_code([np.nan], [3000.0], [2.0])
    with pytest.raises(AnalysisInputError, match="initial_steps is NaN"):
        photometric_code([80.0], [3000.0], [np.nan])
    with pytest.raises(AnalysisInputError, match="two digits"):
        photometric_code([80.0], [12000.0], [2.0])
    with pytest.raises(AnalysisInputError, match="shape"):
        photometric_code([80.0, 90.0], [3000.0], [2.0, 2.0])


def test_parse_photometric_code():
    d = parse_photometric_code("830/349")
    assert d == {
        "cri_group": 8,
        "ra_min": 80,
        "cct_k": 3000,
        "initial_macadam_steps": 3,
        "maintained_macadam_steps": 4,
        "lumen_maintenance_code": "9",
        "lumen_maintenance_min": 0.9,
    }
    d = parse_photometric_code("927/3--")
    assert d["maintained_macadam_steps"] is None and d["lumen_maintenance_min"] is None
    assert parse_photometric_code("940/X98")["initial_macadam_steps"] == math.inf


def test_parse_round_trip():
    codes = photometric_code([95.0, 81.0], [5000.0, 3500.0], [1.0, 5.0], [2.0, 7.0], [0.81, 0.71])
    for c in codes:
        d = parse_photometric_code(c)
        rebuilt = photometric_code(
            [d["ra_min"]],
            [d["cct_k"]],
            [d["initial_macadam_steps"]],
            [d["maintained_macadam_steps"]],
            [d["lumen_maintenance_min"]],
        )
        assert rebuilt[0] == c


@pytest.mark.parametrize(
    ("code", "position"),
    [
        ("A30/349", "position 1"),
        ("8x0/349", "position 2"),
        ("830-349", "position 4"),
        ("830/049", "position 5"),
        ("830/3?9", "position 6"),
        ("830/346", "position 7"),
        ("830/34", "position 7"),
        ("830/3499", "7 characters"),
    ],
)
def test_parse_errors_name_the_position(code, position):
    with pytest.raises(CodeError, match=position):
        parse_photometric_code(code)


def test_parse_rejects_non_string():
    with pytest.raises(CodeError, match="string"):
        parse_photometric_code(830)  # type: ignore[arg-type]


def test_cct_digits_round_half_up():
    """IEC 62717 CCT digits: halves round up (half-to-even gave 2650 K -> 26)."""
    codes = photometric_code([85.0] * 4, [2650.0, 2750.0, 2649.9, 950.0], [2.0] * 4)
    assert list(codes) == ["827/2--", "828/2--", "826/2--", "810/2--"]
