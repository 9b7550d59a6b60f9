"""Planckian radiator, CIE daylight and colour-rendering reference illuminants.

Oracles: colour-science 0.4.7 (planck_law, CCT_to_xy_CIE_D, D-series, CIE 2017
reference illuminant) and the CIE tables of D65 / D50 (CIE 15:2018).
"""

from __future__ import annotations

import colour
import numpy as np
import pytest

from lightcomp.analysis import illuminants as ill
from lightcomp.analysis.data import load_cmfs
from lightcomp.errors import AnalysisInputError

WL = ill.WL_ANALYSIS
SHAPE = colour.SpectralShape(380, 780, 1)
Y_BAR = load_cmfs("1931_2")[:, 1]


def _colour_daylight(T: float) -> np.ndarray:
    """colour-science D series at CCT ``T`` with our conventions: M1, M2 unrounded,
    5 nm basis interpolated linearly (the SD it returns carries a linear interpolator)."""
    xy = colour.temperature.CCT_to_xy_CIE_D(T)
    sd = colour.colorimetry.sd_CIE_illuminant_D_series(xy, M1_M2_rounding=False)
    return sd.copy().align(SHAPE).values


def test_planck_matches_colour_science_relative_shape():
    T = np.array([1000.0, 2856.0, 6504.0, 20000.0])
    ours = ill.planck(WL, T)
    assert ours.shape == (4, WL.size)
    for row, t in zip(ours, T, strict=True):
        ref = colour.sd_blackbody(t, SHAPE).values
        np.testing.assert_allclose(row / row[200], ref / ref[200], rtol=1e-12)


def test_planck_absolute_radiance_at_one_point():
    # Planck's law evaluated by hand: c1L / λ^5 / (exp(c2/(λT)) - 1), per nm.
    lam, T = 560e-9, 2856.0
    expected = 1.191042972e-16 / lam**5 / np.expm1(1.4388e-2 / (lam * T)) * 1e-9
    assert ill.planck([560.0], T)[0, 0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("T", [0.0, -5.0, np.nan])
def test_planck_rejects_bad_temperature(T):
    with pytest.raises(AnalysisInputError, match="temperature"):
        ill.planck(WL, T)


def test_daylight_xy_matches_colour_and_cie_d65():
    T = np.array([4000.0, 5003.0, 6504.0, 7000.0, 7001.0, 25000.0])
    np.testing.assert_allclose(
        ill.daylight_xy(T), colour.temperature.CCT_to_xy_CIE_D(T), rtol=0, atol=1e-12
    )
    # CIE 15:2018 Table 3: D65 x = 0.31272 (nominal 6500 K * 1.4388/1.4380). (Its tabulated
    # y = 0.32903 comes from the rounded SPD, not from the daylight-locus formula.)
    assert ill.daylight_xy(6500.0, nominal=True)[0, 0] == pytest.approx(0.31272, abs=6e-6)
    assert ill.daylight_xy(6500.0)[0, 0] != pytest.approx(0.31272, abs=6e-6)


@pytest.mark.parametrize(("name", "nominal_T"), [("D65", 6500.0), ("D50", 5000.0)])
def test_daylight_reproduces_cie_tables(name, nominal_T):
    sd = colour.SDS_ILLUMINANTS[name]
    wl = np.arange(380.0, 781.0, 5.0)
    table = sd.copy().align(colour.SpectralShape(380, 780, 5)).values
    ours = ill.daylight(wl, nominal_T, nominal=True, M_rounding=True)[0]
    # The tables are published with 4-6 significant digits (values ~ 100).
    np.testing.assert_allclose(ours, table, atol=2e-3)


def test_daylight_vectorised_and_linear_basis():
    T = np.array([4500.0, 6500.0, 12000.0])
    ours = ill.daylight(None, T)
    assert ours.shape == (3, WL.size)
    for row, t in zip(ours, T, strict=True):
        np.testing.assert_allclose(row, _colour_daylight(t), rtol=1e-10)


@pytest.mark.parametrize("T", [3999.0, 25001.0])
def test_daylight_rejects_out_of_range(T):
    with pytest.raises(AnalysisInputError, match="4000-25000"):
        ill.daylight(None, T)


def test_reference_cie224_matches_colour_science():
    from colour.quality.cfi2017 import sd_reference_illuminant

    for T in (2000.0, 3000.0, 3999.0):  # Planckian: no convention difference at all
        ref = sd_reference_illuminant(T, SHAPE).values
        ours = ill.reference_CIE224(T)[0]
        np.testing.assert_allclose(ours, 100.0 * ref / (ref @ Y_BAR), rtol=1e-12)
    for T in (4000.0, 4250.0, 4500.0, 4999.0, 5000.0, 5600.0, 9000.0):
        # Same recipe as colour-science with the daylight conventions made equal.
        m = np.clip((T - 4000.0) / 1000.0, 0.0, 1.0)
        p = colour.sd_blackbody(T, SHAPE).values
        d = _colour_daylight(T) if T >= 4000.0 else 0.0 * p
        mix = (1 - m) * p / (p @ Y_BAR) + m * d / (d @ Y_BAR)
        ours = ill.reference_CIE224(T)[0]
        np.testing.assert_allclose(ours, 100.0 * mix / (mix @ Y_BAR), rtol=1e-9)


def test_reference_cie224_blend_weights():
    valid, w_p, w_d = ill.reference_weights([3000.0, 4000.0, 4200.0, 5000.0, 6000.0], "CIE 224")
    assert valid.all()
    np.testing.assert_allclose(w_d, [0.0, 0.0, 0.2, 1.0, 1.0])
    np.testing.assert_allclose(w_p + w_d, 1.0)


def test_reference_cie13_3_switches_at_5000_k():
    ref = ill.reference_CIE13_3(np.array([4999.0, 5000.0]))
    planck = ill.planck(WL, 4999.0)[0]
    np.testing.assert_allclose(ref[0], 100.0 * planck / (planck @ Y_BAR), rtol=1e-12)
    day = _colour_daylight(5000.0)
    np.testing.assert_allclose(ref[1], 100.0 * day / (day @ Y_BAR), rtol=1e-10)
    np.testing.assert_allclose(ref @ Y_BAR, 100.0)


def test_reference_invalid_temperature_rows_are_nan():
    ref = ill.reference_CIE224(np.array([500.0, np.nan, 3000.0, 30000.0]))
    assert np.isnan(ref[[0, 1, 3]]).all()
    assert np.isfinite(ref[2]).all()


def test_illuminant_tables():
    for name in ["A", "D65", *[f"FL{i}" for i in range(1, 13)]]:
        wl, spd = ill.illuminant_CIE(name)
        assert wl.shape == spd.shape == (81,)
        assert np.all(spd >= 0) and spd.max() > 0
    # Illuminant A (CIE 15:2018 eq. 4.1): Planck with c2 = 1.435e-2 m·K at 2848 K, i.e.
    # with our c2 = 1.4388e-2 at 2848 * 1.4388 / 1.435 K, normalised to 100 at 560 nm.
    wl, a = ill.illuminant_CIE("a")
    p = ill.planck(wl, 2848.0 * 1.4388 / 1.435)[0]
    np.testing.assert_allclose(a, 100.0 * p / p[wl == 560.0], rtol=1e-5)
    with pytest.raises(AnalysisInputError, match="unknown CIE illuminant"):
        ill.illuminant_CIE("F13")
