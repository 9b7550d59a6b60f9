"""Temporal light modulation (flicker) of a photometric waveform.

Metrics (IES Lighting Handbook; IEEE 1789-2015):

- percent flicker (modulation depth) = 100 (max - min) / (max + min);
- flicker index = area above the mean / total area, over whole periods of the
  flicker frequency;
- flicker frequency = frequency of the strongest non-DC spectral component.

IEEE 1789-2015 recommended practice (modulation % against frequency f):

- low risk: <= 0.025 f (f < 90 Hz), <= 0.08 f (90 Hz <= f <= 1250 Hz), no limit above 1250 Hz;
- no observable effect: <= 0.01 f (f < 90 Hz), <= 0.0333 f (90 Hz <= f <= 3000 Hz),
  exempt above 3000 Hz.

The verdict here applies the curves to the percent flicker at the dominant
frequency (the common simplification; IEEE 1789 strictly speaks of each
Fourier component of a periodic waveform).

Not done: the stroboscopic visibility measure SVM (IEC TR 63158 / CIE TN
006:2016) — it needs the standard's threshold function and demodulation
filter, which lightcomp does not have from a citable primary source yet.
"""

from __future__ import annotations

import numpy as np

from lightcomp.errors import AnalysisInputError

__all__ = [
    "flicker_metrics",
    "ieee1789_low_risk_limit_pct",
    "ieee1789_no_effect_limit_pct",
]


def ieee1789_low_risk_limit_pct(frequency_hz: np.ndarray) -> np.ndarray:
    """IEEE 1789-2015 low-risk limit on percent flicker: 0.025 f below 90 Hz, 0.08 f to 1250 Hz, inf above."""
    f = np.asarray(frequency_hz, dtype=float)
    return np.where(f < 90.0, 0.025 * f, np.where(f <= 1250.0, 0.08 * f, np.inf))


def ieee1789_no_effect_limit_pct(frequency_hz: np.ndarray) -> np.ndarray:
    """IEEE 1789-2015 no-observable-effect limit: 0.01 f below 90 Hz, 0.0333 f to 3000 Hz, inf (exempt) above."""
    f = np.asarray(frequency_hz, dtype=float)
    return np.where(f < 90.0, 0.01 * f, np.where(f <= 3000.0, 0.0333 * f, np.inf))


def _dominant_frequency(x: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    """Frequency of the largest non-DC component: Hann window, 2x zero padding, parabolic fit of log |X|."""
    n = x.shape[1]
    nfft = 2 * n
    w = np.hanning(n)
    spec = np.abs(np.fft.rfft((x - x.mean(axis=1, keepdims=True)) * w, n=nfft, axis=1))
    # Ignore the first bins around DC (leakage of the window main lobe: 2 bins of the unpadded record).
    guard = int(np.ceil(2 * nfft / n))
    spec[:, :guard] = 0.0
    k = np.clip(np.argmax(spec, axis=1), 1, spec.shape[1] - 2)
    rows = np.arange(x.shape[0])
    a, b, c = (np.log(spec[rows, k + d] + 1e-300) for d in (-1, 0, 1))
    den = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(den != 0, 0.5 * (a - c) / den, 0.0)
    return (k + np.clip(delta, -0.5, 0.5)) * sample_rate_hz / nfft


def flicker_metrics(
    light: np.ndarray,
    sample_rate_hz: float,
    frequency_hz: float | np.ndarray | None = None,
    min_modulation_pct: float = 1e-6,
) -> dict[str, np.ndarray]:
    """Percent flicker, flicker index, frequency and IEEE 1789 verdicts of light waveforms.

    Parameters
    ----------
    light : array_like, shape (N, S) or (S,)
        Photometric signal (any linear unit: lux, photodiode V), >= 0, sampled
        at ``sample_rate_hz``. Should cover several flicker periods.
    sample_rate_hz : float
        Sampling rate (Hz).
    frequency_hz : float or array (N,), optional
        Flicker fundamental frequency; estimated from the spectrum when omitted.
    min_modulation_pct : float
        Below this percent flicker the light is treated as steady: frequency
        NaN, flicker index 0, both verdicts True.

    Returns
    -------
    dict of arrays, shape (N,)
        ``percent_flicker`` (%), ``flicker_index`` (0..1), ``frequency_hz``,
        ``low_risk_limit_pct``, ``no_effect_limit_pct``, ``ieee1789_low_risk``
        (bool), ``ieee1789_no_effect`` (bool).
    """
    x = np.asarray(light, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] < 4:
        raise AnalysisInputError(
            f"flicker_metrics: expected shape (N, samples >= 4), got {np.shape(light)}"
        )
    if not np.isfinite(x).all():
        raise AnalysisInputError("flicker_metrics: waveform contains NaN or infinite samples")
    if not sample_rate_hz > 0:
        raise AnalysisInputError("flicker_metrics: sample_rate_hz must be > 0")
    mx, mn = x.max(axis=1), x.min(axis=1)
    if np.any(mx + mn <= 0) or np.any(mn < -1e-9 * np.abs(mx)):
        raise AnalysisInputError(
            "flicker_metrics: light signal must be >= 0 and not all zero (subtract the dark offset first)"
        )
    pct = 100.0 * (mx - mn) / (mx + mn)
    steady = pct < min_modulation_pct
    n, s = x.shape
    if frequency_hz is None:
        freq = _dominant_frequency(x, sample_rate_hz)
    else:
        freq = np.broadcast_to(np.asarray(frequency_hz, dtype=float), (n,)).copy()
        if np.any(~(freq > 0)):
            raise AnalysisInputError("flicker_metrics: frequency_hz must be > 0")
    freq = np.where(steady, np.nan, freq)

    # Flicker index over the largest whole number of periods (per row: a sample mask).
    with np.errstate(invalid="ignore"):
        per = sample_rate_hz / freq
        n_per = np.floor(s / per)
    short = ~steady & (n_per < 1)
    if short.any():
        raise AnalysisInputError(
            f"flicker_metrics: record shorter than one flicker period for rows {np.flatnonzero(short)[:10].tolist()}"
        )
    m = np.where(steady, s, np.minimum(s, np.round(n_per * per)))
    mask = np.arange(s)[None, :] < m[:, None]
    xm = np.where(mask, x, 0.0)
    mean = xm.sum(axis=1) / m
    above = np.where(mask, np.maximum(x - mean[:, None], 0.0), 0.0).sum(axis=1)
    fi = np.where(steady, 0.0, above / xm.sum(axis=1))

    f_eval = np.where(steady, np.inf, freq)
    low = ieee1789_low_risk_limit_pct(f_eval)
    noe = ieee1789_no_effect_limit_pct(f_eval)
    return {
        "percent_flicker": pct,
        "flicker_index": fi,
        "frequency_hz": freq,
        "low_risk_limit_pct": np.where(steady, np.inf, low),
        "no_effect_limit_pct": np.where(steady, np.inf, noe),
        "ieee1789_low_risk": steady | (pct <= low),
        "ieee1789_no_effect": steady | (pct <= noe),
    }
