"""Tests of lightcomp.analysis.lumen_maintenance (IES TM-21-11 projection)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lightcomp.analysis import lumen_maintenance as lm
from lightcomp.errors import AnalysisInputError

HOURS = np.arange(0.0, 10001.0, 1000.0)


def _lm80(alpha, b, n_units=20, hours=HOURS, early_bump=0.0, seed=0):
    """Units following Phi = Phi0 * B * exp(-alpha t) after 1000 h; Phi0 differs per unit."""
    rng = np.random.default_rng(seed)
    phi0 = rng.uniform(90.0, 110.0, n_units)
    rel = b * np.exp(-alpha * hours)
    rel[0] = 1.0
    # Disturb data outside the TM-21 window (before 5000 h): must not change the fit.
    early = (hours > 0) & (hours < 5000)
    rel = np.where(early, rel * (1 + early_bump), rel)
    return phi0[:, None] * rel[None, :]


def test_window_rule():
    assert lm.tm21_window_start_h(6000) == 1000
    assert lm.tm21_window_start_h(8000) == 3000
    assert lm.tm21_window_start_h(10000) == 5000
    assert lm.tm21_window_start_h(15000) == 7500
    with pytest.raises(AnalysisInputError, match="at least 6000 h"):
        lm.tm21_window_start_h(5000)


def test_worked_example_known_alpha_b():
    # Hand-made TM-21 example: B = 0.99, alpha = 6e-6 /h, 20 units, 10,000 h of data.
    # L70 = ln(99/70)/6e-6 = 57,771 h -> "L70(10k) = 57,800 h"; L80 = ln(99/80)/6e-6 = 35,515 h;
    # L90 = ln(99/90)/6e-6 = 15,885 h.
    r = lm.tm21_projection(HOURS, _lm80(6e-6, 0.99, early_bump=0.03))
    assert r["alpha"][0] == pytest.approx(6e-6, rel=1e-9)
    assert r["b"][0] == pytest.approx(0.99, rel=1e-12)
    assert r["window_start_h"] == 5000 and r["n_points"] == 6 and r["n_units"] == 20
    assert r["L70"]["calculated_h"][0] == pytest.approx(math.log(99 / 70) / 6e-6)
    assert r["L70"]["text"][0] == "L70(10k) = 57,800 h"
    assert r["L80"]["text"][0] == "L80(10k) = 35,500 h"
    assert r["L90"]["text"][0] == "L90(10k) = 15,900 h"
    assert not r["L70"]["capped"][0]


def test_projection_limits():
    slow = lm.tm21_projection(HOURS, _lm80(2e-6, 0.99))  # L70 = 173,000 h > 6 x 10,000
    assert slow["L70"]["text"][0] == "L70(10k) > 60,000 h"
    assert slow["L70"]["capped"][0] and slow["L70"]["reported_h"][0] == 60000
    mid = lm.tm21_projection(HOURS, _lm80(6e-6, 0.99, n_units=12))  # 5.5 x for 10-19 units
    assert mid["L70"]["text"][0] == "L70(10k) > 55,000 h"
    few = lm.tm21_projection(HOURS, _lm80(6e-6, 0.99, n_units=8))
    assert "no projection" in few["L70"]["text"][0] and np.isnan(few["L70"]["reported_h"][0])
    grow = lm.tm21_projection(HOURS, _lm80(-1e-6, 1.0))  # alpha < 0: no decay
    assert grow["L70"]["text"][0] == "L70(10k) > 60,000 h"
    h6 = np.arange(0.0, 6001.0, 1000.0)
    six = lm.tm21_projection(h6, _lm80(2e-6, 0.99, hours=h6))
    assert six["L70"]["text"][0] == "L70(6k) > 36,000 h"


def test_several_sets_at_once():
    flux = np.stack([_lm80(6e-6, 0.99), _lm80(1.2e-5, 0.98, seed=1)])
    fit = lm.tm21_fit(HOURS, flux)
    np.testing.assert_allclose(fit["alpha"], [6e-6, 1.2e-5], rtol=1e-9)
    np.testing.assert_allclose(fit["b"], [0.99, 0.98], rtol=1e-12)
    assert fit["mean_normalised"].shape == (2, HOURS.size)


def test_arrhenius_in_situ():
    ea_k = 5000.0  # Ea / k_B in K
    big_a = 0.02

    def alpha(tc):
        return big_a * math.exp(-ea_k / (tc + 273.15))

    a_s, b_s = lm.tm21_in_situ(alpha(55), 0.98, 55.0, alpha(85), 0.96, 85.0, [55.0, 70.0, 85.0])
    np.testing.assert_allclose(a_s, [alpha(55), alpha(70), alpha(85)], rtol=1e-12)
    assert b_s == pytest.approx(math.sqrt(0.98 * 0.96))
    with pytest.raises(AnalysisInputError, match="between the two"):
        lm.tm21_in_situ(alpha(55), 0.98, 55.0, alpha(85), 0.96, 85.0, 95.0)
    with pytest.raises(AnalysisInputError, match="> 0"):
        lm.tm21_in_situ(-1e-6, 0.98, 55.0, alpha(85), 0.96, 85.0, 70.0)


def test_bad_input():
    flux = _lm80(6e-6, 0.99)
    with pytest.raises(AnalysisInputError, match="at least 6000 h"):
        lm.tm21_fit(HOURS[:6], flux[:, :6])
    bad = flux.copy()
    bad[3, 4] = np.nan
    with pytest.raises(AnalysisInputError, match="NaN"):
        lm.tm21_fit(HOURS, bad)
    with pytest.raises(AnalysisInputError, match="non-empty"):
        lm.tm21_fit([], np.zeros((0, 0)))
    with pytest.raises(AnalysisInputError, match="start at 0 h"):
        lm.tm21_fit(HOURS + 100, flux)
    with pytest.raises(AnalysisInputError, match="units, times"):
        lm.tm21_fit(HOURS, flux[:, :-1])
    with pytest.raises(AnalysisInputError, match="percent"):
        lm.tm21_lifetime(6e-6, 0.99, 10000, 20, percent=700)


def test_lumen_maintenance_code_reexported():
    assert list(lm.lumen_maintenance_code([0.91, 0.85, 0.7, 0.5])) == ["9", "8", "7", "-"]


def test_iec62717_maintenance_interpolates_within_data():
    from lightcomp.analysis.lumen_maintenance import maintained_flux_fraction_IEC62717

    hours = np.array([0.0, 1000, 2000, 3000, 4000, 5000, 6000])
    units = np.vstack([100 * (1 - 0.00001 * hours), 200 * (1 - 0.00002 * hours)])
    # 25 % of 20 000 h = 5000 h: mean of 0.95 and 0.90 -> 0.925
    frac, at = maintained_flux_fraction_IEC62717(hours, units, 20000)
    assert at == 5000
    assert frac == pytest.approx(0.925, abs=1e-12)
    # 25 % of 50 000 h = 12 500 h, capped at 6000 h: mean of 0.94 and 0.88
    frac, at = maintained_flux_fraction_IEC62717(hours, units, 50000)
    assert at == 6000 and frac == pytest.approx(0.91, abs=1e-12)


def test_iec62717_maintenance_refuses_data_too_short():
    from lightcomp.analysis.lumen_maintenance import maintained_flux_fraction_IEC62717

    hours = np.arange(0.0, 4001, 1000)
    units = np.tile(1 - 1e-5 * hours, (3, 1))
    with pytest.raises(AnalysisInputError, match="flux at 5000 h"):
        maintained_flux_fraction_IEC62717(hours, units, 20000.0)


@pytest.mark.parametrize(
    "hours, flux, life, msg",
    [
        ([0, 1000], [[1.0, np.nan]], 20000, "NaN"),
        ([0, 1000], [[1.0, 0.99]], -1, "rated life"),
        ([100, 1000], [[1.0, 0.99]], 20000, "start at 0"),
        ([0, 1000, 2000], [[1.0, 0.99]], 20000, "units, times"),
    ],
)
def test_iec62717_maintenance_bad_input(hours, flux, life, msg):
    from lightcomp.analysis.lumen_maintenance import maintained_flux_fraction_IEC62717

    with pytest.raises(AnalysisInputError, match=msg):
        maintained_flux_fraction_IEC62717(np.array(hours, float), np.array(flux, float), life)
