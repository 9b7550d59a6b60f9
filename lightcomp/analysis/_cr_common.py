"""Shared machinery of the colour rendering metrics (CIE 13.3 and CIE 224 / TM-30).

Private module: input normalisation, CCT when not given, and tristimulus values
of the test samples under the reference illuminant computed without building
most reference spectra (daylight is linear in S0, S1, S2, so its products with
the sample x CMF matrices are precomputed).
"""

from __future__ import annotations

import numpy as np

from lightcomp.analysis import illuminants
from lightcomp.analysis.cct import CCT_Duv_Ohno2013
from lightcomp.analysis.spectra import WL, to_analysis_grid
from lightcomp.errors import AnalysisInputError

#: Spectra processed per block (bounds temporary memory to some 100 MB).
CHUNK = 4096


def spectra_on_grid(wavelengths, spectra) -> np.ndarray:
    """Spectra as (N, 401) on the 380-780 nm 1 nm analysis grid.

    Input already on the grid is used without a copy (non-finite rows then simply
    give NaN results); anything else goes through ``to_analysis_grid``.
    """
    wl = np.asarray(wavelengths, dtype=float)
    s = np.asarray(spectra, dtype=float)
    if s.ndim == 1:
        s = s[None, :]
    if wl.shape == WL.shape and s.ndim == 2 and s.shape[1] == WL.size and np.array_equal(wl, WL):
        return s
    return to_analysis_grid(wl, s)


def cct_from_white(XYZ_2deg: np.ndarray) -> np.ndarray:
    """CCT (K) by Ohno (2013) from CIE 1931 2° XYZ (N, 3); NaN where undefined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        den = XYZ_2deg[:, 0] + 15.0 * XYZ_2deg[:, 1] + 3.0 * XYZ_2deg[:, 2]
        uv = np.stack([4.0 * XYZ_2deg[:, 0] / den, 6.0 * XYZ_2deg[:, 1] / den], axis=1)
    uv[~np.isfinite(uv).all(axis=1)] = np.nan
    cct, _ = CCT_Duv_Ohno2013(uv)
    return np.asarray(cct, dtype=float)


def cct_argument(CCT, n: int) -> np.ndarray | None:
    """Validate a user-given CCT: None, a scalar or shape (N,) -> (N,) or None."""
    if CCT is None:
        return None
    t = np.asarray(CCT, dtype=float)
    if t.ndim == 0:
        t = np.full(n, float(t))
    if t.shape != (n,):
        raise AnalysisInputError(f"CCT must be a scalar or have shape ({n},), got {t.shape}")
    return t


def product_matrix(samples: np.ndarray, cmfs: np.ndarray, ybar_2deg: np.ndarray) -> np.ndarray:
    """Matrix (401, 4 + 3K) mapping a spectrum S to [Y_2deg, XYZ_white, XYZ_samples...].

    ``samples`` (K, 401) are spectral radiance factors, ``cmfs`` (401, 3). A batch
    ``S @ P`` gives (N, 4 + 3K): column 0 is the 2° luminance (used to normalise the
    reference components), columns 1-3 the white, then X, Y, Z of each sample.
    """
    sample_cols = (samples[:, :, None] * cmfs[None, :, :]).transpose(1, 0, 2)
    sample_cols = sample_cols.reshape(cmfs.shape[0], -1)
    return np.ascontiguousarray(np.hstack([ybar_2deg[:, None], cmfs, sample_cols]))


def reference_products(
    T: np.ndarray, method: str, P: np.ndarray, P_daylight: np.ndarray
) -> np.ndarray:
    """``reference(T) @ P`` for a block of temperatures, reference normalised to Y_2deg = 1.

    Planckian rows build their spectra (exp per wavelength); daylight rows use
    ``P_daylight = basis (3, 401) @ P``. CIE 224 blends the Y-normalised components.
    Rows with an invalid temperature are NaN.
    """
    valid, w_p, w_d = illuminants.reference_weights(T, method)
    out = np.zeros((T.size, P.shape[1]))
    use_p = valid & (w_p > 0)
    use_d = valid & (w_d > 0)
    if np.any(use_p):
        spd = illuminants._planck_unchecked(illuminants.WL_ANALYSIS, T[use_p])
        v = spd @ P
        out[use_p] += w_p[use_p, None] * (v / v[:, :1])
    if np.any(use_d):
        td = np.clip(T[use_d], 4000.0, 25000.0)
        coeff = illuminants._daylight_M(illuminants._daylight_xy_unchecked(td), False)
        v = coeff @ P_daylight
        out[use_d] += w_d[use_d, None] * (v / v[:, :1])
    out[~valid] = np.nan
    return out
