"""CIE colorimetry: tristimulus values, chromaticity, dominant wavelength, purity.

Conventions (CIE 15:2018):

- spectra are resampled once to the 1 nm analysis grid
  (:func:`lightcomp.analysis.spectra.to_analysis_grid`, 380-780 nm) and the
  CIE 1931 2 degree (default) or CIE 1964 10 degree colour-matching functions
  at 1 nm (:func:`lightcomp.analysis.data.load_cmfs`) are used;
- tristimulus values are plain sums ``sum(S(l) * cmf(l) * dl)`` with
  ``dl = 1 nm`` — no factor ``k`` or ``Km`` is applied here, callers normalise
  (``Y = 100`` for relative spectra, ``Km = 683 lm/W`` for photometric values);
- no intermediate rounding.

Functions ending in ``_grid`` take spectra already on the analysis grid
(shape (N, 401)); the others accept any valid grid.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lightcomp.analysis.data import load_cmfs
from lightcomp.analysis.spectra import WL, to_analysis_grid
from lightcomp.errors import AnalysisInputError

__all__ = [
    "XYZ",
    "XYZ_grid",
    "XYZ_to_uv",
    "XYZ_to_uv_prime",
    "XYZ_to_xy",
    "dominant_wavelength",
    "dominant_wavelength_purity",
    "excitation_purity",
    "spectral_locus_xy",
    "uv_to_xy",
    "xy_to_uv",
    "xy_to_uv_prime",
]

#: Achromatic stimulus for dominant wavelength / purity of light sources:
#: CIE illuminant E (equal energy), x = y = 1/3 (CIE 15:2018, 9.1).
XY_E = np.array([1.0 / 3.0, 1.0 / 3.0])


def XYZ_grid(spectra_grid: np.ndarray, observer: str = "1931_2") -> np.ndarray:
    """Tristimulus sums of spectra already on the 1 nm analysis grid.

    Parameters
    ----------
    spectra_grid : array, shape (N, 401)
        Spectra on :data:`lightcomp.analysis.spectra.WL`.
    observer : {"1931_2", "1964_10"}

    Returns
    -------
    array, shape (N, 3)
        ``sum(S * [x_bar, y_bar, z_bar]) * 1 nm`` (unit of S times nm); no ``k``.
    """
    s = np.asarray(spectra_grid, dtype=float)
    if s.ndim == 1:
        s = s[None, :]
    return s @ load_cmfs(observer)


def XYZ(wavelengths: np.ndarray, spectra: np.ndarray, observer: str = "1931_2") -> np.ndarray:
    """CIE tristimulus values X, Y, Z (CIE 15:2018, eq. 7.1-7.3) without normalisation.

    Parameters
    ----------
    wavelengths : array, shape (W,)
        Wavelengths (nm), covering 380-780 nm with steps <= 5 nm.
    spectra : array, shape (N, W) or (W,)
        Spectral distributions (e.g. W/nm or relative).
    observer : {"1931_2", "1964_10"}
        CIE 1931 2 degree (default) or CIE 1964 10 degree standard observer.

    Returns
    -------
    array, shape (N, 3)
        Plain sums ``sum(S(l) * cmf(l)) * 1 nm`` over 380-780 nm on the 1 nm
        analysis grid: no ``k`` and no ``Km`` applied (multiply by
        ``100 / Y`` for relative values or by 683 lm/W for photometric ones).
    """
    return XYZ_grid(to_analysis_grid(wavelengths, spectra), observer)


_UV_1960 = np.array([4.0, 6.0])  # numerators' factors of u, v (CIE 1960)
_UV_1976 = np.array([4.0, 9.0])  # and of u', v' (CIE 1976)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)


def XYZ_to_xy(XYZ: np.ndarray) -> np.ndarray:
    """CIE 1931 (or 1964) chromaticity x, y from X, Y, Z; shape (..., 3) -> (..., 2).

    ``x = X / (X + Y + Z)``, ``y = Y / (X + Y + Z)``; NaN where the sum is zero.
    """
    t = np.asarray(XYZ, dtype=float)
    return _safe_div(t[..., :2], t.sum(axis=-1)[..., None])  # both columns at once


def XYZ_to_uv(XYZ: np.ndarray) -> np.ndarray:
    """CIE 1960 UCS u, v from X, Y, Z; shape (..., 3) -> (..., 2).

    ``u = 4X / (X + 15Y + 3Z)``, ``v = 6Y / (X + 15Y + 3Z)`` (CIE 15:2018, used
    for CCT and Duv); NaN where the denominator is zero.
    """
    t = np.asarray(XYZ, dtype=float)
    d = t[..., 0] + 15.0 * t[..., 1] + 3.0 * t[..., 2]
    return _safe_div(t[..., :2] * _UV_1960, d[..., None])


def XYZ_to_uv_prime(XYZ: np.ndarray) -> np.ndarray:
    """CIE 1976 UCS u', v' from X, Y, Z; shape (..., 3) -> (..., 2).

    ``u' = 4X / (X + 15Y + 3Z)``, ``v' = 9Y / (X + 15Y + 3Z)`` (CIE 15:2018, eq. 8.4).
    """
    t = np.asarray(XYZ, dtype=float)
    d = t[..., 0] + 15.0 * t[..., 1] + 3.0 * t[..., 2]
    return _safe_div(t[..., :2] * _UV_1976, d[..., None])


def xy_to_uv(xy: np.ndarray) -> np.ndarray:
    """CIE 1960 u, v from CIE x, y: ``u = 4x / (-2x + 12y + 3)``, ``v = 6y / (-2x + 12y + 3)``."""
    c = np.asarray(xy, dtype=float)
    d = -2.0 * c[..., 0] + 12.0 * c[..., 1] + 3.0
    return np.stack([_safe_div(4.0 * c[..., 0], d), _safe_div(6.0 * c[..., 1], d)], axis=-1)


def xy_to_uv_prime(xy: np.ndarray) -> np.ndarray:
    """CIE 1976 u', v' from CIE x, y: ``u' = 4x / (-2x + 12y + 3)``, ``v' = 9y / (-2x + 12y + 3)``."""
    c = np.asarray(xy, dtype=float)
    d = -2.0 * c[..., 0] + 12.0 * c[..., 1] + 3.0
    return np.stack([_safe_div(4.0 * c[..., 0], d), _safe_div(9.0 * c[..., 1], d)], axis=-1)


def uv_to_xy(uv: np.ndarray) -> np.ndarray:
    """CIE x, y from CIE 1960 u, v: ``x = 3u / (2u - 8v + 4)``, ``y = 2v / (2u - 8v + 4)``."""
    c = np.asarray(uv, dtype=float)
    d = 2.0 * c[..., 0] - 8.0 * c[..., 1] + 4.0
    return np.stack([_safe_div(3.0 * c[..., 0], d), _safe_div(2.0 * c[..., 1], d)], axis=-1)


def spectral_locus_xy(observer: str = "1931_2") -> np.ndarray:
    """Chromaticities x, y of the monochromatic stimuli 380-780 nm at 1 nm, shape (401, 2)."""
    return _spectral_locus_xy(observer).copy()


@lru_cache(maxsize=4)
def _spectral_locus_xy(observer: str) -> np.ndarray:
    out = XYZ_to_xy(load_cmfs(observer))
    out.setflags(write=False)
    return out


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _segment_hit(
    origin: np.ndarray, direction: np.ndarray, p0: np.ndarray, p1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Intersection of rays with the lines through segments p0-p1 (all shape (N, 2)).

    Returns (u: position along the segment, clipped to [0, 1]; t: ray parameter).
    """
    e = p1 - p0
    q = p0 - origin
    den = _cross(direction, e)
    degenerate = np.abs(den) <= 1e-15
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(degenerate, 0.0, _cross(q, e) / np.where(degenerate, 1.0, den))
        u = np.where(degenerate, 0.0, _cross(q, direction) / np.where(degenerate, 1.0, den))
    # Degenerate (coincident 1 nm points, far red end): project p0 on the ray.
    t_proj = np.sum(q * direction, axis=1) / np.sum(direction * direction, axis=1)
    return np.minimum(np.maximum(u, 0.0), 1.0), np.where(degenerate, t_proj, t)


@lru_cache(maxsize=8)
def _locus_angles(white: tuple, observer: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Angles of the locus seen from ``white`` (unwrapped), their non-increasing envelope
    and the index where the far-red tail folds back (cached: the same for every call)."""
    rel = _spectral_locus_xy(observer) - np.asarray(white)
    a = np.unwrap(np.arctan2(rel[:, 1], rel[:, 0]))
    if a[-1] > a[0]:  # orientation (always clockwise for an interior white point)
        raise AnalysisInputError("achromatic point is outside the spectral locus")
    env = np.minimum.accumulate(a)
    da = np.diff(a)
    tail = int(np.flatnonzero(da >= 0)[0]) if np.any(da >= 0) else a.size - 1
    return a, env, tail


def _locus_lookup(
    white: np.ndarray, direction: np.ndarray, observer: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where rays from one ``white`` point leave the horseshoe (vectorised, O(N log S)).

    The angle of the locus points seen from ``white`` decreases monotonically
    from 380 nm to about 700 nm; beyond, the tabulated chromaticities coincide
    to 1e-7, so a non-increasing envelope of the angles locates the segment and
    in that tail the 1 nm locus point nearest to the ray is taken. Returns
    (wavelength of the locus hit (NaN for purples), ray parameter t of the exit
    point (locus or purple line), purple mask).
    """
    locus = _spectral_locus_xy(observer)
    a, env, tail = _locus_angles(tuple(white.tolist()), observer)
    theta = np.arctan2(direction[:, 1], direction[:, 0])
    theta = theta - 2.0 * np.pi * np.ceil((theta - a[0]) / (2.0 * np.pi))  # in (a0 - 2pi, a0]
    purple = theta < env[-1]
    # k with env[k] >= theta >= env[k + 1]
    k = np.searchsorted(-env, -theta, side="left") - 1
    k = np.minimum(np.maximum(k, 0), locus.shape[0] - 2)
    o = np.broadcast_to(white, direction.shape)
    u, t = _segment_hit(o, direction, locus[k], locus[k + 1])
    wl = WL[k] + u * (WL[k + 1] - WL[k])
    # Far-red tail, where the tabulated locus folds on itself: take the 1 nm locus
    # point nearest to the ray (exact for monochromatic stimuli).
    in_tail = (k >= tail - 1) & ~purple
    if tail < a.size - 1 and in_tail.any():
        dt = direction[in_tail]
        pts = locus[tail - 1 :] - white  # (T, 2)
        dist = (
            np.abs(_cross(dt[:, None, :], pts[None, :, :])) / np.hypot(dt[:, 0], dt[:, 1])[:, None]
        )
        j = tail - 1 + np.argmin(dist, axis=1)
        wl[in_tail] = WL[j]
        t[in_tail] = np.hypot(*(locus[j] - white).T) / np.hypot(dt[:, 0], dt[:, 1])
    # Purple line from 780 nm to 380 nm (only for the rays that meet it).
    if purple.any():
        dp = direction[purple]
        o = o[: dp.shape[0]]
        p0 = np.broadcast_to(locus[-1], dp.shape)
        p1 = np.broadcast_to(locus[0], dp.shape)
        wl[purple] = np.nan
        t[purple] = _segment_hit(o, dp, p0, p1)[1]
    return wl, t, purple


def dominant_wavelength_purity(
    xy: np.ndarray, xy_n: np.ndarray | None = None, observer: str = "1931_2"
) -> tuple[np.ndarray, np.ndarray]:
    """Dominant wavelength and excitation purity (CIE 15:2018, 9.1-9.2).

    The straight line from the achromatic point ``xy_n`` through the sample is
    intersected with the spectral locus (380-780 nm at 1 nm, linear between
    the 1 nm points, so the wavelength is not restricted to whole nm). When
    the sample lies in the purple region (the line meets the purple line) the
    *complementary* wavelength is returned with a negative sign,
    ``-lambda_c`` (the colour-science convention), and the purity is measured
    to the purple line.

    Parameters
    ----------
    xy : array, shape (N, 2)
        Chromaticities of the samples.
    xy_n : array, shape (2,), optional
        Achromatic stimulus; default CIE illuminant E (1/3, 1/3), the usual
        reference for light sources.
    observer : {"1931_2", "1964_10"}

    Returns
    -------
    (dominant_wavelength_nm (N,), excitation_purity (N,))
        Purity ``p_e = |xy - xy_n| / |xy_b - xy_n|`` (0 at the white point, 1 on
        the locus). NaN for a sample at the white point or non-finite input.
    """
    c = np.atleast_2d(np.asarray(xy, dtype=float))
    white = XY_E if xy_n is None else np.asarray(xy_n, dtype=float)
    if white.shape != (2,):
        raise ValueError(f"xy_n must have shape (2,), got {white.shape}")
    d = c - white
    dist = np.hypot(d[:, 0], d[:, 1])
    valid = np.isfinite(dist) & (dist > 0)
    d = np.where(valid[:, None], d, 1.0)
    wl, t, purple = _locus_lookup(white, d, observer)
    if purple.any():  # complementary wavelength, only for the (few) purple samples
        wl[purple] = -_locus_lookup(white, -d[purple], observer)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        purity = 1.0 / t  # |xy - xy_n| = |d|, |xy_b - xy_n| = t |d|
    return np.where(valid, wl, np.nan), np.where(valid, purity, np.nan)


def dominant_wavelength(
    xy: np.ndarray, xy_n: np.ndarray | None = None, observer: str = "1931_2"
) -> np.ndarray:
    """Dominant wavelength (nm), negative complementary wavelength for purples; shape (N,).

    See :func:`dominant_wavelength_purity`.
    """
    return dominant_wavelength_purity(xy, xy_n, observer)[0]


def excitation_purity(
    xy: np.ndarray, xy_n: np.ndarray | None = None, observer: str = "1931_2"
) -> np.ndarray:
    """Excitation purity p_e (CIE 15:2018, 9.2), shape (N,). See :func:`dominant_wavelength_purity`."""
    return dominant_wavelength_purity(xy, xy_n, observer)[1]
