"""Tests of lightcomp.analysis.electrical (power quality, IEC 61000-3-2 class C)."""

from __future__ import annotations

import numpy as np
import pytest

from lightcomp.analysis import electrical as el
from lightcomp.errors import AnalysisInputError

F = 50.0
FS = 12800.0  # 256 samples per period
T = np.arange(int(FS / F) * 10) / FS  # 10 periods
W = 2 * np.pi * F
V_RMS = 230.0


def _waves(i1, phi_deg, i3=0.0, psi_deg=0.0, i5=0.0):
    v = np.sqrt(2) * V_RMS * np.sin(W * T)
    i = np.sqrt(2) * (
        i1 * np.sin(W * T - np.radians(phi_deg))
        + i3 * np.sin(3 * W * T + np.radians(psi_deg))
        + i5 * np.sin(5 * W * T)
    )
    return v, i


def test_rms_power_pf_thd_by_hand():
    cases = [(0.2, 0.0, 0.0), (0.2, 30.0, 0.05), (0.1, -10.0, 0.08)]
    vs, is_ = zip(*[_waves(i1, phi, i3, 20.0, 0.02) for i1, phi, i3 in cases], strict=True)
    r = el.harmonic_analysis(np.array(vs), np.array(is_), FS, F)
    i1 = np.array([c[0] for c in cases])
    phi = np.radians([c[1] for c in cases])
    i3 = np.array([c[2] for c in cases])
    i5 = 0.02
    i_rms = np.sqrt(i1**2 + i3**2 + i5**2)
    np.testing.assert_allclose(r["v_rms_v"], V_RMS, rtol=1e-12)
    np.testing.assert_allclose(r["i_rms_a"], i_rms, rtol=1e-12)
    np.testing.assert_allclose(r["active_power_w"], V_RMS * i1 * np.cos(phi), rtol=1e-10)
    np.testing.assert_allclose(r["displacement_factor"], np.cos(phi), atol=1e-12)
    # lambda = cos(phi1) / sqrt(1 + THD^2) for an undistorted voltage.
    thd = np.sqrt(i3**2 + i5**2) / i1
    np.testing.assert_allclose(r["thd_i"], thd, rtol=1e-10)
    np.testing.assert_allclose(r["power_factor"], np.cos(phi) / np.sqrt(1 + thd**2), rtol=1e-10)
    np.testing.assert_allclose(r["current_harmonics_a"][:, 0], i1, rtol=1e-12)
    np.testing.assert_allclose(r["current_harmonics_a"][:, 2], i3, atol=1e-12)
    np.testing.assert_allclose(r["current_harmonics_pct"][:, 4], 100 * i5 / i1, rtol=1e-10)
    np.testing.assert_allclose(r["thd_v"], 0.0, atol=1e-12)
    assert r["current_harmonics_a"].shape == (3, 40)
    np.testing.assert_array_equal(r["n_periods"], 10)
    # Current lags by phi: phase of the fundamental current relative to the voltage = -phi.
    np.testing.assert_allclose(r["current_phase_deg"][:, 0], -np.degrees(phi), atol=1e-9)


def test_non_integer_samples_per_period_close():
    fs = 10000.0  # 166.67 samples per 60 Hz period
    t = np.arange(2000) / fs
    v = np.sqrt(2) * 120 * np.sin(2 * np.pi * 60 * t)
    i = np.sqrt(2) * 0.5 * np.sin(2 * np.pi * 60 * t - 0.5)
    r = el.harmonic_analysis(v, i, fs, 60.0)
    assert r["power_factor"][0] == pytest.approx(np.cos(0.5), abs=2e-3)
    assert r["i_rms_a"][0] == pytest.approx(0.5, rel=2e-3)


def test_power_factor_from_readings():
    np.testing.assert_allclose(
        el.power_factor_from_readings([230.0, 230.0], [0.1, 0.2], [20.7, 46.0]), [0.9, 1.0]
    )
    with pytest.raises(AnalysisInputError, match="inconsistent"):
        el.power_factor_from_readings(230.0, 0.1, 30.0)
    with pytest.raises(AnalysisInputError, match="NaN"):
        el.power_factor_from_readings(230.0, np.nan, 20.0)


def test_class_c_limit_tables():
    lim = el.class_c_limits([30.0, 10.0], [0.9, 0.5], [0.14, 0.1])
    pct = 100 * lim["gt25w_a"][0] / 0.14
    # IEC 61000-3-2 table 2 (class C > 25 W): h2 2 %, h3 30*lambda %, h5 10, h7 7, h9 5, h11-39 3 %.
    orders = [2, 3, 5, 7, 9, 11, 13, 39]
    np.testing.assert_allclose(pct[np.array(orders) - 1], [2, 27, 10, 7, 5, 3, 3, 3])
    assert np.isnan(pct[[0, 3, 5, 39]]).all()  # fundamental, h4, h6, h40: no limit
    # Class D power-related limits (mA/W) x 10 W: h3 34 mA, h5 19, h7 10, h9 5, h11 3.5, h13 3.85/13*10.
    d = 1000 * lim["class_d_a"][1]
    np.testing.assert_allclose(
        d[[2, 4, 6, 8, 10, 12, 38]], [34, 19, 10, 5, 3.5, 38.5 / 13, 38.5 / 39]
    )
    assert np.isnan(d[[0, 1, 3, 39]]).all()


def _harmonics(i1, pct):
    h = np.zeros(40)
    h[0] = i1
    for order, p in pct.items():
        h[order - 1] = i1 * p / 100
    return h


def test_class_c_verdicts():
    ok30 = _harmonics(0.14, {2: 1.9, 3: 26.9, 5: 9.9, 7: 6.9, 9: 4.9, 11: 2.9, 39: 2.9, 4: 50.0})
    bad30 = _harmonics(0.14, {3: 27.1})  # 30*0.9 = 27 % limit
    # 10 W, lambda 0.5: class D h3 limit 34 mA; 40 mA fails it, but 86 % rule + waveform can pass.
    low_w = _harmonics(0.06, {3: 40 / 0.6})  # 40 mA = 66.7 % of 60 mA
    low_w_classd = _harmonics(0.06, {3: 30 / 0.6})
    tiny = _harmonics(0.02, {3: 95.0})
    h = np.array([ok30, bad30, low_w, low_w, low_w_classd, tiny])
    r = el.iec61000_3_2_class_c(
        h,
        active_power_w=[30.0, 30.0, 10.0, 10.0, 10.0, 3.0],
        power_factor=[0.9, 0.9, 0.5, 0.5, 0.5, 0.5],
        waveform_ok=[False, False, True, False, False, False],
    )
    assert list(r["regime"]) == [
        "> 25 W",
        "> 25 W",
        "<= 25 W",
        "<= 25 W",
        "<= 25 W",
        "not applicable",
    ]
    assert list(r["passed"]) == [True, False, True, False, True, True]
    assert list(r["method"]) == [
        "> 25 W table",
        "none",
        "waveform rule",
        "none",
        "class D mA/W",
        "not applicable",
    ]
    assert not r["harmonic_pass"][1, 2] and r["harmonic_pass"][1, [0, 1, 3]].all()
    assert r["limits_a"][2, 2] == pytest.approx(0.034)


def test_waveform_angles():
    v = np.sqrt(2) * V_RMS * np.sin(W * T)
    theta = np.degrees(np.mod(W * T, np.pi))
    sign = np.sign(np.sin(W * T))
    wide = sign * ((theta >= 30) & (theta < 150))  # conducts 30..150 deg: passes
    narrow = sign * ((theta >= 70) & (theta < 110))  # starts at 70 deg: fails
    resistive = np.sin(W * T)  # peak at 90 deg: fails the 65 deg peak rule
    # 256 samples per period -> phase bins of 1.41 deg: tolerance one bin.
    r = el.class_c_waveform_angles(np.tile(v, (3, 1)), np.array([wide, narrow, resistive]), FS, F)
    np.testing.assert_allclose(r["start_deg"], [30, 70, np.degrees(np.arcsin(0.05))], atol=1.5)
    np.testing.assert_allclose(r["stop_deg"][:2], [150, 110], atol=1.5)
    assert r["peak_deg"][2] == pytest.approx(90, abs=1.0)
    assert list(r["ok"]) == [True, False, False]


def test_bad_input():
    v, i = _waves(0.1, 0.0)
    with pytest.raises(AnalysisInputError, match="shorter than one mains period"):
        el.harmonic_analysis(v[:100], i[:100], FS, F)
    with pytest.raises(AnalysisInputError, match="NaN"):
        el.harmonic_analysis(np.where(T > 0.01, v, np.nan), i, FS, F)
    with pytest.raises(AnalysisInputError, match="differ in shape"):
        el.harmonic_analysis(v, i[:-1], FS, F)
    with pytest.raises(AnalysisInputError, match="resolve harmonic"):
        el.harmonic_analysis(v, i, 3000.0, F)
    with pytest.raises(AnalysisInputError, match=r"\(N, 40\)"):
        el.iec61000_3_2_class_c(np.ones((2, 39)), 30.0, 0.9)
