"""Modulation response of a light component for visible light communication (VLC).

Pure and vectorised: waveforms are arrays ``(..., N)`` sampled at times ``t``
``(N,)`` (or broadcastable ``(..., N)``), frequencies ``(..., F)``; nothing here
loops over waveforms.

* :func:`sine_fit` / :func:`harmonic_amplitudes`: least-squares lock-in of a
  sampled waveform at a known frequency and its harmonics (a digital lock-in
  that stays exact for records that do not hold a whole number of periods).
* :func:`transfer_function`: small-signal electrical-to-optical response
  ``H(f) = R(f) / S(f)`` from the fundamental of the stimulus (current monitor)
  and of the response (photoreceiver), optionally de-embedded by a known
  receiver response, normalised to its lowest-frequency value
  (:func:`normalise`).
* :func:`bandwidth_3db`: the modulation (-3 dB) bandwidth, the lowest
  frequency at which ``|H|^2`` falls to one half of its low-frequency value
  (20 log10 |H| = -3.0103 dB), by linear interpolation of dB against log f
  between the two bracketing points.  A first-order response
  ``1 / (1 + j f/fc)`` gives exactly ``fc``.
* :func:`edge_times`: 10-90 % rise and fall times of a step response, with the
  state levels and reference levels of IEEE 181-2011 (levels from the
  histogram of the record's lowest and highest tenth, reference levels 10 % /
  90 % of the amplitude, crossing instants by linear interpolation), from the
  first complete rising and falling edge.
* :func:`total_harmonic_distortion` and :func:`usable_modulation_depth`: the
  modulation depth at which the optical output turns non-linear or clips,
  taken as the depth where THD first reaches a limit (default 5 %).

Reference results used in the tests: first order, -3 dB at fc, 10-90 % rise
``tau ln 9`` (tau = 1 / (2 pi fc)); two real poles: ``|H|^2 = 1/2`` solved in
closed form, rise time from an independent numerical step response.
"""

from __future__ import annotations

import numpy as np

from lightcomp.errors import AnalysisInputError

__all__ = [
    "HALF_POWER_DB",
    "bandwidth_3db",
    "edge_times",
    "harmonic_amplitudes",
    "magnitude_db",
    "normalise",
    "phase_deg",
    "sine_fit",
    "total_harmonic_distortion",
    "transfer_function",
    "usable_modulation_depth",
]

HALF_POWER_DB = float(20.0 * np.log10(np.sqrt(0.5)))
"""-3.0103 dB: the "-3 dB" point is where the optical power response is half (|H|^2 = 1/2)."""


def _arrays(t, y) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if y.ndim < 1 or y.shape[-1] < 4:
        raise AnalysisInputError("waveforms need at least 4 samples along the last axis")
    if t.shape[-1] != y.shape[-1]:
        raise AnalysisInputError(
            f"time axis has {t.shape[-1]} samples but waveforms have {y.shape[-1]}"
        )
    if not (np.isfinite(t).all() and np.isfinite(y).all()):
        raise AnalysisInputError("waveforms and times must be finite")
    return t, y


def _fit(t, ys: tuple, frequency_hz, harmonics: int) -> list[np.ndarray]:
    """Complex harmonic amplitudes of each waveform in ``ys`` (all on times ``t``),
    sharing one basis and one set of normal equations."""
    t, y0 = _arrays(t, ys[0])
    ys = [y0, *(_arrays(t, y)[1] for y in ys[1:])]
    f = np.asarray(frequency_hz, dtype=float)
    if not (np.isfinite(f).all() and (f > 0).all()):
        raise AnalysisInputError("frequencies must be finite and > 0")
    k = np.arange(1, harmonics + 1, dtype=float)
    # phase (..., N, K); centring t keeps the normal equations well conditioned
    tm = t.mean(axis=-1, keepdims=True)
    ph = (2.0 * np.pi * f[..., None, None] * k) * (t - tm)[..., :, None]
    basis = np.concatenate([np.ones_like(ph[..., :1]), np.cos(ph), np.sin(ph)], axis=-1)
    bt = np.swapaxes(basis, -1, -2)
    gram = bt @ basis  # (..., 2K+1, 2K+1), batched BLAS
    # one product per waveform (..., 2K+1, N) @ (..., N, 1): stacking the waveforms into
    # one (..., N, Y) operand first would copy every sample (3x slower for a Monte
    # Carlo's (M, F, N) records, lightcomp.uncertainty.modulation)
    rhs = np.concatenate([bt @ y[..., None] for y in np.broadcast_arrays(*ys)], axis=-1)
    coef = np.linalg.solve(gram, rhs)
    # undo the centring: cos(w(t - tm) + p) = cos(wt + p - w tm)
    shift = np.exp(-2j * np.pi * f[..., None] * k * tm)
    a, b = coef[..., 1 : 1 + harmonics, :], coef[..., 1 + harmonics :, :]
    amp = (a - 1j * b) * shift[..., None]
    return [amp[..., j] for j in range(len(ys))]


def harmonic_amplitudes(t, y, frequency_hz, harmonics: int = 1) -> np.ndarray:
    """Complex amplitudes of harmonics 1..``harmonics`` of ``frequency_hz`` in ``y``.

    Least-squares fit of ``c0 + sum_k a_k cos(2 pi k f t) + b_k sin(2 pi k f t)``
    per waveform (normal equations, batched), so records need not hold a whole
    number of periods.  Returns ``A_k = a_k - j b_k`` (peak amplitude |A_k|,
    phase angle(A_k) of ``|A_k| cos(2 pi k f t + phase)``), shape ``(..., harmonics)``.

    :param t: sample times, s, shape ``(N,)`` or broadcastable to ``y``.
    :param y: waveforms, shape ``(..., N)``.
    :param frequency_hz: fundamental, Hz, scalar or shape ``(...)``.
    """
    return _fit(t, (y,), frequency_hz, harmonics)[0]


def sine_fit(t, y, frequency_hz) -> np.ndarray:
    """Complex amplitude of the fundamental at ``frequency_hz`` (shape ``(...)``); see
    :func:`harmonic_amplitudes`."""
    return harmonic_amplitudes(t, y, frequency_hz, 1)[..., 0]


def transfer_function(
    t, stimulus, response, frequency_hz, *, reference_response=None
) -> np.ndarray:
    """Complex response ``H = R / S`` at the stimulus frequency of each record pair.

    :param stimulus: modulation current monitor, shape ``(..., N)``.
    :param response: photoreceiver output, same shape.
    :param frequency_hz: shape ``(...)`` (one frequency per record).
    :param reference_response: known complex response of the receiver chain at
        ``frequency_hz`` (e.g. from its calibration); ``H`` is divided by it.
    :returns: complex ``(...)``, not normalised (see :func:`normalise`).
    """
    s, r = (a[..., 0] for a in _fit(t, (stimulus, response), frequency_hz, 1))
    if np.any(np.abs(s) == 0):
        raise AnalysisInputError("stimulus has no component at the modulation frequency")
    h = r / s
    if reference_response is not None:
        h = h / np.asarray(reference_response)
    return h


def normalise(frequency_hz, h) -> np.ndarray:
    """``H`` divided by its value at the lowest frequency of each sweep (last axis)."""
    f = np.asarray(frequency_hz, dtype=float)
    h = np.asarray(h)
    i0 = np.argmin(np.broadcast_to(f, h.shape), axis=-1)
    return h / np.take_along_axis(h, i0[..., None], axis=-1)


def magnitude_db(h) -> np.ndarray:
    """20 log10 |H| (dB)."""
    return 20.0 * np.log10(np.abs(np.asarray(h)))


def phase_deg(h) -> np.ndarray:
    """Phase of ``H`` in degrees, unwrapped along the frequency axis (last)."""
    return np.degrees(np.unwrap(np.angle(np.asarray(h)), axis=-1))


def bandwidth_3db(frequency_hz, h_or_db, *, level_db: float = HALF_POWER_DB) -> np.ndarray:
    """Lowest frequency where the normalised response first falls to ``level_db``.

    :param frequency_hz: ascending sweep frequencies, Hz, ``(F,)`` or ``(..., F)``.
    :param h_or_db: normalised complex ``H`` (``(..., F)``) or its magnitude in dB
        (real input is taken as dB).
    :returns: ``(...)`` Hz, interpolated linearly in dB against log10 f between the
        last point above and the first point at or below the level; NaN when the
        sweep never reaches the level (bandwidth above the sweep).
    """
    v = np.asarray(h_or_db)
    db = magnitude_db(v) if np.iscomplexobj(v) else v.astype(float)
    f = np.broadcast_to(np.asarray(frequency_hz, dtype=float), db.shape)
    if db.shape[-1] < 2:
        raise AnalysisInputError("a sweep needs at least 2 frequencies")
    if np.any(np.diff(f, axis=-1) <= 0) or np.any(f <= 0):
        raise AnalysisInputError("sweep frequencies must be > 0 and strictly ascending")
    below = db <= level_db
    found = below.any(axis=-1)
    i = np.argmax(below, axis=-1)
    i1 = np.clip(i, 1, db.shape[-1] - 1)[..., None]
    i0 = i1 - 1
    d0, d1 = np.take_along_axis(db, i0, -1)[..., 0], np.take_along_axis(db, i1, -1)[..., 0]
    lf0 = np.log10(np.take_along_axis(f, i0, -1)[..., 0])
    lf1 = np.log10(np.take_along_axis(f, i1, -1)[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(d1 != d0, (level_db - d0) / (d1 - d0), 0.0)
    fc = 10.0 ** (lf0 + np.clip(w, 0.0, 1.0) * (lf1 - lf0))
    # the first point already at the level: the bandwidth is below the sweep
    return np.where(found & (i > 0), fc, np.nan)


def edge_times(t, y, *, low: float = 0.1, high: float = 0.9) -> dict[str, np.ndarray]:
    """10-90 % rise and fall times of step responses (IEEE 181-2011 reference levels).

    State levels: the mean of the lowest and of the highest tenth of each
    record's samples (the records must dwell at both states, i.e. hold at least
    ~5 time constants per half period).  The rise time runs from the first
    upward crossing of ``low`` after the record sat at the low state to the
    next upward crossing of ``high``; the fall time likewise downwards.
    Crossing instants are linearly interpolated between samples.

    :returns: ``rise_s``, ``fall_s``, ``low_level``, ``high_level`` (each ``(...)``);
        NaN where a record holds no complete edge.
    """
    t, y = _arrays(t, y)
    t = np.broadcast_to(t, y.shape)
    n = y.shape[-1]
    srt = np.sort(y, axis=-1)
    tenth = max(n // 10, 1)
    base, top = srt[..., :tenth].mean(-1), srt[..., -tenth:].mean(-1)
    amp = top - base
    if np.any(amp <= 0):
        raise AnalysisInputError("a waveform has no step (constant record)")
    u = (y - base[..., None]) / amp[..., None]
    rise = _edge(t, u, low, high)
    fall = _edge(t, 1.0 - u, 1.0 - high, 1.0 - low)
    return {"rise_s": rise, "fall_s": fall, "low_level": base, "high_level": top}


def _crossings(u, level):
    """Mask of upward crossings of ``level`` between samples i and i+1, shape ``(..., N-1)``."""
    return (u[..., :-1] < level) & (u[..., 1:] >= level)


def _interp_time(t, u, i, level):
    i = i[..., None]
    u0, u1 = np.take_along_axis(u, i, -1)[..., 0], np.take_along_axis(u, i + 1, -1)[..., 0]
    t0, t1 = np.take_along_axis(t, i, -1)[..., 0], np.take_along_axis(t, i + 1, -1)[..., 0]
    return t0 + (level - u0) / (u1 - u0) * (t1 - t0)


def _edge(t, u, low, high):
    """Duration of the first upward edge of ``u`` (0..1) that starts at the base state.

    The edge is located by its 50 % (mesial) crossing, so noise around the
    reference levels cannot start or end an edge; its ``low`` instant is the
    last ``low`` crossing before the mesial one, its ``high`` instant the first
    ``high`` crossing after it.
    """
    n = u.shape[-1]
    idx = np.arange(n - 1)
    at_base = u < low
    start = np.where(at_base.any(-1), np.argmax(at_base, axis=-1), n)
    mes = _crossings(u, 0.5) & (idx >= start[..., None])
    ok = mes.any(-1)
    im = np.argmax(mes, axis=-1)
    lo = _crossings(u, low) & (idx <= im[..., None]) & (idx >= start[..., None])
    hi = _crossings(u, high) & (idx >= im[..., None])
    ok &= lo.any(-1) & hi.any(-1)
    i_lo = (n - 2) - np.argmax(lo[..., ::-1], axis=-1)  # last crossing before the mesial one
    i_hi = np.argmax(hi, axis=-1)
    dt = _interp_time(t, u, i_hi, high) - _interp_time(t, u, i_lo, low)
    return np.where(ok, dt, np.nan)


def total_harmonic_distortion(t, y, frequency_hz, harmonics: int = 5) -> np.ndarray:
    """THD of ``y`` at fundamental ``frequency_hz``: sqrt(sum_{k=2..K} |A_k|^2) / |A_1| (fraction).

    IEC 61000-4-7 style definition on harmonic amplitudes (here up to ``harmonics``).
    """
    a = np.abs(harmonic_amplitudes(t, y, frequency_hz, harmonics))
    return np.sqrt((a[..., 1:] ** 2).sum(-1)) / a[..., 0]


def usable_modulation_depth(depth, thd, *, thd_max: float = 0.05) -> np.ndarray:
    """Largest modulation depth before the THD first reaches ``thd_max``.

    :param depth: ascending modulation depths (peak AC current / DC bias), ``(..., M)``.
    :param thd: THD of the optical output at those depths (fraction), ``(..., M)``.
    :returns: ``(...)``: interpolated linearly between the bracketing depths; the
        largest depth swept when the limit is never reached; 0 when the first
        depth already reaches it.
    """
    d = np.broadcast_to(np.asarray(depth, dtype=float), np.shape(thd))
    h = np.asarray(thd, dtype=float)
    if np.any(np.diff(d, axis=-1) <= 0):
        raise AnalysisInputError("modulation depths must be strictly ascending")
    over = h >= thd_max
    found = over.any(-1)
    i = np.argmax(over, axis=-1)
    i1 = np.clip(i, 1, h.shape[-1] - 1)[..., None]
    i0 = i1 - 1
    h0, h1 = np.take_along_axis(h, i0, -1)[..., 0], np.take_along_axis(h, i1, -1)[..., 0]
    d0, d1 = np.take_along_axis(d, i0, -1)[..., 0], np.take_along_axis(d, i1, -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.clip(np.where(h1 != h0, (thd_max - h0) / (h1 - h0), 0.0), 0.0, 1.0)
    interp = d0 + w * (d1 - d0)
    return np.where(~found, d[..., -1], np.where(i == 0, 0.0, interp))
