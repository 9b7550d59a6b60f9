"""Modulation analysis (lightcomp.analysis.modulation) on synthetic waveforms of known response.

Truths are independent of the code under test: closed forms for first-order and
two-pole magnitude responses, ``tau ln 9`` for a first-order 10-90 % rise, and
scipy.signal's step response / brentq root for the two-pole and pc-LED cases.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, signal

from lightcomp.analysis import modulation as mod
from lightcomp.errors import AnalysisInputError

RNG = np.random.default_rng(17)
FREQS = np.logspace(5, np.log10(3e8), 36)  # 100 kHz .. 300 MHz, ~10 points per decade


def first_order(f, fc):
    return 1.0 / (1.0 + 1j * f / fc)


def two_pole(f, f1, f2):
    return first_order(f, f1) * first_order(f, f2)


def pc_led(f, fb, fp, w):
    """Blue chip pole fb plus a phosphor share ``w`` behind a slower pole fp."""
    return first_order(f, fb) * ((1 - w) + w * first_order(f, fp))


def records(h_true, freqs, *, noise=1e-3, periods=8.3, n=1000, gain=0.37):
    """Stimulus and response records (B, F, N) of sines at ``freqs`` through ``h_true`` (B, F).

    Record length is a non-integer number of periods, with an offset and white noise.
    """
    t = (np.arange(n) / n)[None, :] * (periods / freqs[:, None])  # (F, N)
    phase0 = RNG.uniform(0, 2 * np.pi, size=h_true.shape)[..., None]
    w = 2 * np.pi * freqs[:, None] * t
    stim = (
        0.02 * np.cos(w + phase0) + 0.003 + noise * 0.02 * RNG.standard_normal((*h_true.shape, n))
    )
    resp = (
        gain * 0.02 * np.abs(h_true)[..., None] * np.cos(w + phase0 + np.angle(h_true)[..., None])
    )
    resp = resp + 0.5 + noise * 0.02 * gain * RNG.standard_normal(resp.shape)
    return t, stim, resp


def measured_bandwidth(h_true, freqs=FREQS, **kw):
    t, s, r = records(h_true, freqs, **kw)
    h = mod.normalise(freqs, mod.transfer_function(t, s, r, freqs))
    return h, mod.bandwidth_3db(freqs, h)


def test_lockin_recovers_amplitude_phase_and_harmonics():
    t = np.linspace(0, 3.7e-6, 777)
    f = 1.3e6
    y = 0.2 + 0.5 * np.cos(2 * np.pi * f * t + 0.4) + 0.05 * np.sin(2 * np.pi * 3 * f * t)
    a = mod.harmonic_amplitudes(t, y, f, 3)
    np.testing.assert_allclose(np.abs(a), [0.5, 0.0, 0.05], atol=1e-9)
    assert np.angle(a[0]) == pytest.approx(0.4)
    # sin = cos(x - pi/2)
    assert np.angle(a[2]) == pytest.approx(-np.pi / 2)
    assert mod.total_harmonic_distortion(t, y, f, 3) == pytest.approx(0.1)


def test_first_order_bandwidth_within_2_percent():
    fc = np.array([2.5e6, 7e6, 23e6, 61e6])
    h_true = first_order(FREQS[None, :], fc[:, None])
    h, bw = measured_bandwidth(h_true)
    np.testing.assert_allclose(bw, fc, rtol=0.02)
    # and the phase at fc is -45 degrees
    ph = mod.phase_deg(h)
    for k in range(fc.size):
        assert np.interp(np.log(fc[k]), np.log(FREQS), ph[k]) == pytest.approx(-45, abs=2.5)


def test_two_pole_bandwidth_within_2_percent():
    f1 = np.array([5e6, 30e6, 40e6])
    f2 = np.array([5e6, 90e6, 200e6])
    a2, b2 = f1**2, f2**2
    # |H|^2 = 1/2  <=>  x^4/(a2 b2) + x^2 (1/a2 + 1/b2) - 1 = 0
    p = 1 / a2 + 1 / b2
    x2 = (-p + np.sqrt(p * p + 4 / (a2 * b2))) / (2 / (a2 * b2))
    truth = np.sqrt(x2)
    _, bw = measured_bandwidth(two_pole(FREQS[None, :], f1[:, None], f2[:, None]))
    np.testing.assert_allclose(bw, truth, rtol=0.02)


def test_phosphor_limits_white_bandwidth():
    """pc-LED: blue pole 40 MHz, phosphor 60 % behind a 2.5 MHz pole; truth by brentq."""
    fb, fp, w = 40e6, 2.5e6, 0.6
    truth = optimize.brentq(lambda f: abs(pc_led(f, fb, fp, w)) ** 2 - 0.5, 1e4, 1e9)
    h_true = np.stack([pc_led(FREQS, fb, fp, w), first_order(FREQS, fb)])
    _, bw = measured_bandwidth(h_true)
    assert bw[0] == pytest.approx(truth, rel=0.02)
    assert bw[1] == pytest.approx(fb, rel=0.02)
    assert bw[1] > 5 * bw[0]


def test_reference_response_deembeds_the_receiver():
    fc, frx = 30e6, 80e6
    h_true = first_order(FREQS, fc) * first_order(FREQS, frx)
    t, s, r = records(h_true[None], FREQS)
    h = mod.transfer_function(t, s, r, FREQS, reference_response=first_order(FREQS, frx))
    bw = mod.bandwidth_3db(FREQS, mod.normalise(FREQS, h))
    assert bw[0] == pytest.approx(fc, rel=0.02)


def test_bandwidth_outside_the_sweep_is_nan():
    f = np.array([1e6, 2e6, 5e6])
    db = np.array([[0.0, -0.5, -1.0], [-4.0, -5.0, -6.0], [0.0, -2.0, -4.0]])
    bw = mod.bandwidth_3db(f, db)
    assert np.isnan(bw[0]) and np.isnan(bw[1])
    # by hand: -3.0103 dB between (log 2e6, -2) and (log 5e6, -4)
    frac = (mod.HALF_POWER_DB + 2.0) / -2.0
    assert bw[2] == pytest.approx(10 ** (np.log10(2e6) + frac * np.log10(2.5)))
    with pytest.raises(AnalysisInputError):
        mod.bandwidth_3db(f[::-1], db)


def square_wave(t, period):
    return (np.mod(t, period) < period / 2).astype(float)


def test_first_order_rise_fall_within_2_percent():
    fc = np.array([3e6, 15e6, 40e6])
    tau = 1 / (2 * np.pi * fc)
    period = 2e-6
    t = np.arange(20000) * (3 * period / 20000)  # 0.15 ns samples, 3 periods, starting high
    # periodic steady state of a first-order low-pass driven by a 0/1 square (exact, piecewise)
    ph = np.mod(t, period)
    half = period / 2
    k = np.exp(-half / tau)[:, None]
    y_low0 = k / (1 + k)  # value at the start of each high half
    rising = 1 - (1 - y_low0) * np.exp(-ph / tau[:, None])
    y_high_end = 1 - (1 - y_low0) * k
    falling = y_high_end * np.exp(-(ph - half) / tau[:, None])
    y = np.where(ph < half, rising, falling) * 0.8 + 0.1
    y = y + 1e-3 * RNG.standard_normal(y.shape)
    e = mod.edge_times(t, y)
    np.testing.assert_allclose(e["rise_s"], tau * np.log(9), rtol=0.02)
    np.testing.assert_allclose(e["fall_s"], tau * np.log(9), rtol=0.02)
    np.testing.assert_allclose(e["low_level"], 0.1, atol=3e-3)


def test_two_pole_rise_fall_within_2_percent():
    """Two real poles (10 and 25 MHz); truth from scipy's step response on a 10 ps grid."""
    w1, w2 = 2 * np.pi * 10e6, 2 * np.pi * 25e6
    sys = signal.lti([w1 * w2], [1, w1 + w2, w1 * w2])
    tt = np.arange(0, 400e-9, 10e-12)
    _, step = signal.step(sys, T=tt)
    truth = tt[np.argmax(step >= 0.9)] - tt[np.argmax(step >= 0.1)]
    period = 1e-6
    t = np.arange(0, 4 * period, 0.25e-9)
    x = 1.0 - square_wave(t, period)  # starts low
    _, y, _ = signal.lsim(sys, x, t)
    e = mod.edge_times(t, y + 5e-4 * RNG.standard_normal(y.shape))
    assert e["rise_s"] == pytest.approx(truth, rel=0.02)
    assert e["fall_s"] == pytest.approx(truth, rel=0.02)


def test_usable_modulation_depth_from_droop_distortion():
    """L = I - k I^2 at I = I0 (1 + m cos): THD = k I0 m / (2 (1 - 2 k I0)) (by hand)."""
    k, i0 = 0.8, 0.25
    f = 1e5
    t = np.linspace(0, 5 / f, 2000, endpoint=False)
    depth = np.linspace(0.05, 1.0, 20)
    i = i0 * (1 + depth[:, None] * np.cos(2 * np.pi * f * t))
    light = i - k * i**2
    thd = mod.total_harmonic_distortion(t, light, f)
    np.testing.assert_allclose(thd, k * i0 * depth / (2 * (1 - 2 * k * i0)), rtol=1e-6)
    m_star = 0.1 * (1 - 2 * k * i0) / (k * i0)
    assert mod.usable_modulation_depth(depth, thd) == pytest.approx(m_star, rel=1e-6)
    # clipping at zero current (m > 1) is caught too
    deep = np.array([0.5, 0.9, 1.2, 1.5])
    lin = np.clip(1 + deep[:, None] * np.cos(2 * np.pi * f * t), 0, None)
    thd_clip = mod.total_harmonic_distortion(t, lin, f)
    assert thd_clip[0] < 1e-9 and thd_clip[1] < 1e-9 and thd_clip[2] > 0.01
    um = mod.usable_modulation_depth(deep, thd_clip, thd_max=0.01)
    assert 0.9 < um < 1.2


def test_bad_input_is_named():
    with pytest.raises(AnalysisInputError, match="samples"):
        mod.sine_fit(np.arange(5.0), np.ones((2, 6)), 1.0)
    with pytest.raises(AnalysisInputError, match="no step"):
        mod.edge_times(np.arange(10.0), np.ones(10))
    with pytest.raises(AnalysisInputError, match="finite"):
        mod.sine_fit(np.arange(5.0), np.array([1, 2, np.nan, 4, 5.0]), 1.0)
