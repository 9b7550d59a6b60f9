"""Planckian radiator, CIE daylight and the reference illuminants of colour rendering.

Vectorised over colour temperatures: every generator takes ``T`` of shape (N,)
(or a scalar) and returns spectra of shape (N, W).

References
----------
- CIE 15:2018 *Colorimetry*, 4th ed., §4.1 (Planck's law, c2 = 1.4388e-2 m·K) and
  §4.1.2 / eq. 4.7-4.12 (daylight chromaticity x_D(T), M1, M2 and S0, S1, S2).
- CIE 13.3-1995 *Method of measuring and specifying colour rendering properties of
  light sources*, §5.2 (reference illuminant).
- CIE 224:2017 *Colour fidelity index for accurate scientific use* and ANSI/IES
  TM-30-20, §4.2 (reference illuminant with a Planckian/daylight blend 4000-5000 K).

Package data (``lightcomp/analysis/data``, extracted once from colour-science 0.4.7,
sources named in each file header): ``daylight_s0s1s2.csv`` (S0, S1, S2 at 5 nm,
300-830 nm) and ``illuminants_cie.csv`` (A, D65, FL1-FL12 at 5 nm, 380-780 nm).
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

from lightcomp.analysis.data import read_csv
from lightcomp.errors import AnalysisInputError

__all__ = [
    "C1_RADIANCE",
    "C2",
    "WL_ANALYSIS",
    "daylight",
    "daylight_xy",
    "illuminant_CIE",
    "planck",
    "reference_CIE13_3",
    "reference_CIE224",
]

#: Second radiation constant c2 (m·K), CIE 15:2018 convention (not CODATA).
C2: float = 1.4388e-2
#: First radiation constant for spectral radiance c1L = 2hc² (W·m²·sr⁻¹), CODATA 2018.
C1_RADIANCE: float = 1.191042972e-16
#: Analysis grid (nm): 380-780 nm at 1 nm (same as ``lightcomp.analysis.spectra.WL``).
WL_ANALYSIS: np.ndarray = np.arange(380.0, 781.0)
WL_ANALYSIS.setflags(write=False)

#: Ratio applied to a *nominal* daylight temperature (e.g. 6500 K for D65) to get the
#: temperature used in the x_D(T) formulas (CIE 15:2018 §4.1.2, note on c2).
NOMINAL_C2_RATIO: float = 1.4388 / 1.4380

_DAYLIGHT_T_RANGE = (4000.0, 25000.0)
#: Temperatures outside this range give NaN references (and NaN indices) in batches.
REFERENCE_T_RANGE: tuple[float, float] = (1000.0, 25000.0)


# --------------------------------------------------------------------------- data


@cache
def load_data_csv(filename: str) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """Load one of this package's colour-rendering CSV tables.

    Returns ``(wavelengths_nm (W,), column names, values (W, k))``; ``#`` lines are
    comments (source), the first other line is the header. Arrays are read-only.
    """
    header, table = read_csv(filename)
    names = tuple(header[1:])
    wl, values = table[:, 0].copy(), table[:, 1:].copy()
    wl.setflags(write=False)
    values.setflags(write=False)
    return wl, names, values


def illuminant_CIE(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Tabulated CIE illuminant ``"A"``, ``"D65"`` or ``"FL1"`` ... ``"FL12"``.

    Relative spectral power at 5 nm, 380-780 nm (CIE 15:2018 Tables 5 and 10).

    Returns
    -------
    (wavelengths_nm (81,), spd (81,))
    """
    wl, names, values = load_data_csv("illuminants_cie.csv")
    key = name.upper()
    if key not in names:
        raise AnalysisInputError(f"unknown CIE illuminant {name!r}; known: {', '.join(names)}")
    return wl, values[:, names.index(key)]


@lru_cache(maxsize=16)
def _daylight_basis_cached(wl_key: tuple) -> np.ndarray:
    """S0, S1, S2 linearly interpolated onto ``wl_key`` -> (3, W), read-only."""
    wl_b, _, basis = load_data_csv("daylight_s0s1s2.csv")
    wl = np.asarray(wl_key, dtype=float)
    out = np.stack([np.interp(wl, wl_b, basis[:, k]) for k in range(3)])
    out.setflags(write=False)
    return out


def daylight_basis(wavelengths_nm: np.ndarray | None = None) -> np.ndarray:
    """CIE daylight basis functions S0, S1, S2 on ``wavelengths_nm`` -> (3, W).

    The 5 nm table is interpolated *linearly* (CIE 15:2018 §4.1.2: intermediate
    values of the daylight components are obtained by linear interpolation).
    """
    wl = _check_wavelengths(wavelengths_nm, lo=300.0, hi=830.0)
    return _daylight_basis_cached(tuple(wl.tolist()))


# --------------------------------------------------------------------------- helpers


def _check_wavelengths(wavelengths_nm, lo: float = 0.0, hi: float = np.inf) -> np.ndarray:
    if wavelengths_nm is None:
        return WL_ANALYSIS
    wl = np.asarray(wavelengths_nm, dtype=float)
    if wl.ndim != 1 or wl.size < 1 or not np.all(np.isfinite(wl)):
        raise AnalysisInputError("wavelengths_nm must be a finite 1-D array")
    if wl.min() < lo or wl.max() > hi:
        raise AnalysisInputError(f"wavelengths_nm must lie within {lo:g}-{hi:g} nm")
    return wl


def _as_temperatures(T) -> np.ndarray:
    t = np.atleast_1d(np.asarray(T, dtype=float))
    if t.ndim != 1:
        raise AnalysisInputError(f"temperature T must be a scalar or shape (N,), got {t.shape}")
    return t


# --------------------------------------------------------------------------- Planck


def planck(wavelengths_nm: np.ndarray | None, T) -> np.ndarray:
    """Planckian radiator spectral radiance (CIE 15:2018 eq. 4.1, refractive index 1).

    L(λ, T) = c1L λ⁻⁵ / (exp(c2 / (λ T)) − 1) with c2 = 1.4388e-2 m·K (CIE convention)
    and c1L = 1.191042972e-16 W·m²·sr⁻¹.

    Parameters
    ----------
    wavelengths_nm : array (W,) or None
        Wavelengths in nm; None means the 380-780 nm 1 nm analysis grid.
    T : float or array (N,)
        Temperatures in K (> 0).

    Returns
    -------
    array (N, W)
        Spectral radiance in W·sr⁻¹·m⁻²·nm⁻¹.
    """
    wl = _check_wavelengths(wavelengths_nm, lo=1e-3)
    t = _as_temperatures(T)
    if np.any(~np.isfinite(t) | (t <= 0)):
        raise AnalysisInputError("Planckian temperature T must be finite and > 0 K")
    return _planck_unchecked(wl, t)


def _planck_unchecked(wl: np.ndarray, t: np.ndarray) -> np.ndarray:
    lam = wl * 1e-9
    with np.errstate(over="ignore"):
        denom = np.expm1(C2 / (lam[None, :] * t[:, None]))
    return C1_RADIANCE * lam[None, :] ** -5 / denom * 1e-9


# --------------------------------------------------------------------------- daylight


def daylight_xy(T, *, nominal: bool = False) -> np.ndarray:
    """Chromaticity x_D, y_D of CIE daylight at correlated colour temperature ``T``.

    CIE 15:2018 eq. 4.7-4.8: x_D is a cubic in 1/T (one branch 4000-7000 K, one
    7000-25000 K); y_D = −3.000 x_D² + 2.870 x_D − 0.275.

    Parameters
    ----------
    T : float or array (N,)
        Temperature in K, 4000-25000 K.
    nominal : bool
        False (default): ``T`` is the actual CCT, used as is (convention for colour
        rendering reference illuminants, CIE 13.3 / CIE 224). True: ``T`` is a
        *nominal* temperature of the c2 = 1.4380e-2 era (e.g. 6500 for D65) and is
        multiplied by 1.4388/1.4380 first, which reproduces D50/D55/D65/D75.

    Returns
    -------
    array (N, 2)
    """
    t = _as_temperatures(T)
    if nominal:
        t = t * NOMINAL_C2_RATIO
    lo, hi = _DAYLIGHT_T_RANGE
    if np.any(~np.isfinite(t) | (t < lo - 1e-9) | (t > hi + 1e-9)):
        raise AnalysisInputError(f"CIE daylight is defined for {lo:g}-{hi:g} K only")
    return _daylight_xy_unchecked(t)


def _daylight_xy_unchecked(t: np.ndarray) -> np.ndarray:
    r = 1.0 / t
    x_low = -4.6070e9 * r**3 + 2.9678e6 * r**2 + 0.09911e3 * r + 0.244063
    x_high = -2.0064e9 * r**3 + 1.9018e6 * r**2 + 0.24748e3 * r + 0.237040
    x = np.where(t <= 7000.0, x_low, x_high)
    y = -3.000 * x**2 + 2.870 * x - 0.275
    return np.stack([x, y], axis=-1)


def _daylight_M(xy: np.ndarray, M_rounding: bool) -> np.ndarray:
    x, y = xy[..., 0], xy[..., 1]
    m = 0.0241 + 0.2562 * x - 0.7341 * y
    m1 = (-1.3515 - 1.7703 * x + 5.9114 * y) / m
    m2 = (0.0300 - 31.4424 * x + 30.0717 * y) / m
    out = np.stack([np.ones_like(x), m1, m2], axis=-1)
    if M_rounding:
        out = np.round(out, 3)
    return out


def daylight(
    wavelengths_nm: np.ndarray | None,
    T,
    *,
    nominal: bool = False,
    M_rounding: bool = False,
) -> np.ndarray:
    """CIE daylight spectral distribution S(λ) = S0 + M1 S1 + M2 S2 (CIE 15:2018 §4.1.2).

    Parameters
    ----------
    wavelengths_nm : array (W,) or None
        Wavelengths in nm within 300-830 nm; None means the analysis grid. The 5 nm
        basis is interpolated linearly.
    T : float or array (N,)
        Correlated colour temperature in K (4000-25000 K after the ``nominal`` scaling).
    nominal : bool
        See :func:`daylight_xy`. Default False: ``T`` is the actual CCT (colour
        rendering references). True reproduces D65 from ``T=6500``.
    M_rounding : bool
        Round M1, M2 to 3 decimals as CIE 15 does for the tabulated D illuminants.
        Default False (continuous in T; used for reference illuminants).

    Returns
    -------
    array (N, W)
        Relative spectral power (S0 scale: 100 at 560 nm for all T).
    """
    xy = daylight_xy(T, nominal=nominal)
    basis = daylight_basis(wavelengths_nm)
    return _daylight_M(xy, M_rounding) @ basis


# --------------------------------------------------------------------------- references


def _valid_reference_T(t: np.ndarray) -> np.ndarray:
    lo, hi = REFERENCE_T_RANGE
    return np.isfinite(t) & (t >= lo) & (t <= hi)


def reference_weights(T, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blend weights of the reference illuminant: (valid (N,), w_planck (N,), w_daylight (N,)).

    ``method`` ``"CIE 13.3"``: Planckian below 5000 K, daylight at and above 5000 K.
    ``"CIE 224"``: Planckian below 4000 K, daylight above 5000 K, and in between
    (1 − m)·Planck + m·daylight with m = (T − 4000)/1000, both components first
    normalised to the same luminance (Y = 100). Weights refer to Y-normalised
    components. Temperatures outside 1000-25000 K (or non-finite) are invalid.
    """
    t = _as_temperatures(T)
    valid = _valid_reference_T(t)
    if method == "CIE 13.3":
        w_d = (t >= 5000.0).astype(float)
    elif method == "CIE 224":
        w_d = np.clip((t - 4000.0) / 1000.0, 0.0, 1.0)
    else:
        raise AnalysisInputError(f"unknown reference method {method!r}")
    return valid, 1.0 - w_d, w_d


def _Y_2deg(wl: np.ndarray, spd: np.ndarray) -> np.ndarray:
    from lightcomp.analysis.data import load_cmfs

    if not np.array_equal(wl, WL_ANALYSIS):
        ybar = np.interp(wl, WL_ANALYSIS, load_cmfs("1931_2")[:, 1], left=0.0, right=0.0)
    else:
        ybar = load_cmfs("1931_2")[:, 1]
    return spd @ ybar


def _reference(wavelengths_nm, T, method: str) -> np.ndarray:
    wl = _check_wavelengths(wavelengths_nm, lo=300.0, hi=830.0)
    t = _as_temperatures(T)
    valid, w_p, w_d = reference_weights(t, method)
    out = np.full((t.size, wl.size), np.nan)
    tp = np.where(valid, t, 5000.0)
    use_p = valid & (w_p > 0)
    use_d = valid & (w_d > 0)
    if np.any(use_p):
        p = _planck_unchecked(wl, tp[use_p])
        p *= (100.0 / _Y_2deg(wl, p))[:, None]
        out[use_p] = w_p[use_p, None] * p
    if np.any(use_d):
        td = np.clip(tp[use_d], *_DAYLIGHT_T_RANGE)
        d = _daylight_M(_daylight_xy_unchecked(td), False) @ daylight_basis(wl)
        d *= (100.0 / _Y_2deg(wl, d))[:, None]
        out[use_d] = np.where(use_p[use_d, None], out[use_d], 0.0) + w_d[use_d, None] * d
    return out


def reference_CIE13_3(T, wavelengths_nm: np.ndarray | None = None) -> np.ndarray:
    """CIE 13.3-1995 reference illuminant: Planckian below 5000 K, CIE daylight from 5000 K.

    Parameters
    ----------
    T : float or array (N,)
        Correlated colour temperature of the test source in K (used as is, no
        1.4388/1.4380 scaling).
    wavelengths_nm : array (W,) or None
        Output wavelengths (300-830 nm); None means the 380-780 nm 1 nm grid.

    Returns
    -------
    array (N, W)
        Spectra normalised to Y = 100 (CIE 1931 2° observer); rows with T outside
        1000-25000 K are NaN.
    """
    return _reference(wavelengths_nm, T, "CIE 13.3")


def reference_CIE224(T, wavelengths_nm: np.ndarray | None = None) -> np.ndarray:
    """CIE 224:2017 / ANSI/IES TM-30-20 reference illuminant.

    Planckian below 4000 K, CIE daylight above 5000 K; between, the mix
    (1 − m)·P + m·D with m = (T − 4000)/1000 of the Planckian P and daylight D, each
    normalised to Y = 100 (CIE 1931 2° observer, as colour-science) before mixing.

    Parameters
    ----------
    T : float or array (N,)
        Correlated colour temperature of the test source in K.
    wavelengths_nm : array (W,) or None
        Output wavelengths (300-830 nm); None means the analysis grid.

    Returns
    -------
    array (N, W)
        Spectra with Y = 100 (2°); rows with T outside 1000-25000 K are NaN.
    """
    return _reference(wavelengths_nm, T, "CIE 224")
