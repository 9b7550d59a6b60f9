"""Tests of lightcomp.analysis.flicker (percent flicker, flicker index, IEEE 1789)."""

from __future__ import annotations

import numpy as np
import pytest

from lightcomp.analysis import flicker
from lightcomp.errors import AnalysisInputError

FS = 20000.0
T = np.arange(10000) / FS  # 0.5 s


def test_ieee1789_curve_points():
    f = np.array([60.0, 89.9, 90.0, 100.0, 120.0, 1250.0, 1251.0, 3000.0, 3001.0])
    low = flicker.ieee1789_low_risk_limit_pct(f)
    noe = flicker.ieee1789_no_effect_limit_pct(f)
    # IEEE 1789-2015: low risk 0.025 f (< 90 Hz), 0.08 f (90-1250 Hz); NOE 0.01 f, 0.0333 f (to 3 kHz).
    np.testing.assert_allclose(low[:6], [1.5, 0.025 * 89.9, 7.2, 8.0, 9.6, 100.0])
    assert np.isinf(low[6:]).all()
    np.testing.assert_allclose(noe[:8], [0.6, 0.899, 2.997, 3.33, 3.996, 41.625, 41.6583, 99.9])
    assert np.isinf(noe[8])


def test_sine_and_square_by_hand():
    m = np.array([0.05, 0.03, 0.5])
    sine = 1.0 + m[:, None] * np.sin(2 * np.pi * 120.0 * T)
    a, b = 0.4, 1.0
    square = np.where(np.mod(T * 100.0, 1.0) < 0.5, b, a)
    x = np.vstack([sine, square])
    r = flicker.flicker_metrics(x, FS)
    np.testing.assert_allclose(r["percent_flicker"][:3], 100 * m, rtol=1e-6)
    # Sine: area above the mean / total = m / pi. Square (50 % duty): (b - a) / (2 (a + b)).
    np.testing.assert_allclose(r["flicker_index"][:3], m / np.pi, rtol=2e-3)
    assert r["percent_flicker"][3] == pytest.approx(100 * (b - a) / (b + a))
    assert r["flicker_index"][3] == pytest.approx((b - a) / (2 * (a + b)), rel=1e-3)
    np.testing.assert_allclose(r["frequency_hz"], [120, 120, 120, 100], atol=0.2)
    # 5 % at 120 Hz: low risk (<= 9.6 %) but above no-effect (3.996 %); 3 %: both; 50 %: neither.
    assert list(r["ieee1789_low_risk"][:3]) == [True, True, False]
    assert list(r["ieee1789_no_effect"][:3]) == [False, True, False]


def test_given_frequency_and_steady_light():
    x = np.vstack([np.full(T.size, 3.0), 2.0 + 0.2 * np.sin(2 * np.pi * 100.0 * T)])
    r = flicker.flicker_metrics(x, FS, frequency_hz=100.0)
    assert r["percent_flicker"][0] == 0.0 and r["flicker_index"][0] == 0.0
    assert np.isnan(r["frequency_hz"][0])
    assert r["ieee1789_low_risk"][0] and r["ieee1789_no_effect"][0]
    assert r["percent_flicker"][1] == pytest.approx(10.0)
    assert r["frequency_hz"][1] == 100.0


def test_bad_input():
    with pytest.raises(AnalysisInputError, match="NaN"):
        flicker.flicker_metrics(np.array([1.0, np.nan, 1.0, 1.0]), FS)
    with pytest.raises(AnalysisInputError, match=">= 0"):
        flicker.flicker_metrics(np.sin(2 * np.pi * 100 * T), FS)
    with pytest.raises(AnalysisInputError, match="shorter than one flicker period"):
        flicker.flicker_metrics(1 + 0.1 * np.sin(2 * np.pi * 10 * T[:1000]), FS, frequency_hz=10.0)
    with pytest.raises(AnalysisInputError, match="samples"):
        flicker.flicker_metrics(np.ones((2, 2)), FS)
