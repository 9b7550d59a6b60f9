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

import numpy as np

from lightcomp.analysis.data import load_cmfs
from lightcomp.analysis.spectra import WL, to_analysis_grid

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


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)


def XYZ_to_xy(XYZ: np.ndarray) -> np.ndarray:
    """CIE 1931 (or 1964) chromaticity x, y from X, Y, Z; shape (..., 3) -> (..., 2).

    ``x = X / (X + Y + Z)``, ``y = Y / (X + Y + Z)``; NaN where the sum is zero.
    """
    t = np.asarray(XYZ, dtype=float)
    s = t.sum(axis=-1)
    return np.stack([_safe_div(t[..., 0], s), _safe_div(t[..., 1], s)], axis=-1)


def XYZ_to_uv(XYZ: np.ndarray) -> np.ndarray:
    """CIE 1960 UCS u, v from X, Y, Z; shape (..., 3) -> (..., 2).

    ``u = 4X / (X + 15Y + 3Z)``, ``v = 6Y / (X + 15Y + 3Z)`` (CIE 15:2018, used
    for CCT and Duv); NaN where the denominator is zero.
    """
    t = np.asarray(XYZ, dtype=float)
    d = t[..., 0] + 15.0 * t[..., 1] + 3.0 * t[..., 2]
    return np.stack([_safe_div(4.0 * t[..., 0], d), _safe_div(6.0 * t[..., 1], d)], axis=-1)


def XYZ_to_uv_prime(XYZ: np.ndarray) -> np.ndarray:
    """CIE 1976 UCS u', v' from X, Y, Z; shape (..., 3) -> (..., 2).

    ``u' = 4X / (X + 15Y + 3Z)``, ``v' = 9Y / (X + 15Y + 3Z)`` (CIE 15:2018, eq. 8.4).
    """
    t = np.asarray(XYZ, dtype=float)
    d = t[..., 0] + 15.0 * t[..., 1] + 3.0 * t[..., 2]
    return np.stack([_safe_div(4.0 * t[..., 0], d), _safe_div(9.0 * t[..., 1], d)], axis=-1)


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
    return XYZ_to_xy(load_cmfs(observer))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _ray_locus(
    origin: np.ndarray, direction: np.ndarray, locus: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First intersection of rays with the open spectral-locus polyline.

    Returns (wavelength (nm, NaN when no hit), ray parameter t at the hit).
    """
    p = locus[:-1]  # (S, 2) segment starts
    e = locus[1:] - p  # (S, 2) segment vectors
    d = direction[:, None, :]  # (N, 1, 2)
    q = p[None, :, :] - origin[:, None, :]  # (N, S, 2)
    den = _cross(d, e[None, :, :])  # (N, S)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = _cross(q, e[None, :, :]) / den
        u = _cross(q, d) / den
    hit = (den != 0) & (t > 0) & (u >= 0) & (u <= 1)
    # Nearest hit along the ray (the locus is convex up to tiny wiggles at its ends).
    t_hit = np.where(hit, t, np.inf)
    k = np.argmin(t_hit, axis=1)
    rows = np.arange(k.size)
    ok = np.isfinite(t_hit[rows, k])
    wl = np.where(ok, WL[k] + u[rows, k] * (WL[k + 1] - WL[k]), np.nan)
    return wl, np.where(ok, t_hit[rows, k], np.nan)


def dominant_wavelength_purity(
    xy: np.ndarray, xy_n: np.ndarray | None = None, observer: str = "1931_2"
) -> tuple[np.ndarray, np.ndarray]:
    """Dominant wavelength and excitation purity (CIE 15:2018, 9.1).

    The straight line from the achromatic point ``xy_n`` through the sample is
    intersected with the spectral locus (380-780 nm at 1 nm, linear between
    the 1 nm points). When the sample lies in the purple region (the ray
    meets the purple line first) the *complementary* wavelength is returned
    with a negative sign, ``-lambda_c`` (the colour-science convention), and
    the purity is measured to the purple line.

    Parameters
    ----------
    xy : array, shape (N, 2)
        Chromaticities of the samples.
    xy_n : array, shape (2,) or (N, 2), optional
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
    n = np.broadcast_to(XY_E if xy_n is None else np.asarray(xy_n, dtype=float), c.shape)
    locus = spectral_locus_xy(observer)
    d = c - n
    dist = np.hypot(d[:, 0], d[:, 1])
    valid = np.isfinite(dist) & (dist > 0)
    d = np.where(valid[:, None], d, 1.0)
    wl_fwd, t_fwd = _ray_locus(n, d, locus)
    # Purple line: from locus[-1] (780 nm) to locus[0] (380 nm).
    e = locus[0] - locus[-1]
    q = locus[-1][None, :] - n
    den = _cross(d, e[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        t_p = _cross(q, e[None, :]) / den
        u_p = _cross(q, d) / den
    purple_hit = (den != 0) & (t_p > 0) & (u_p >= 0) & (u_p <= 1)
    purple = purple_hit & ~(np.isfinite(t_fwd) & (t_fwd < t_p))
    wl = wl_fwd.copy()
    if np.any(purple):  # complementary wavelength, only for the (few) purple samples
        wl[purple] = -_ray_locus(n[purple], -d[purple], locus)[0]
    t = np.where(purple, t_p, t_fwd)
    with np.errstate(divide="ignore", invalid="ignore"):
        purity = 1.0 / t  # |xy - xy_n| = 1 * |d|, |xy_b - xy_n| = t * |d|
    wl = np.where(valid, wl, np.nan)
    purity = np.where(valid, purity, np.nan)
    return wl, purity


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
