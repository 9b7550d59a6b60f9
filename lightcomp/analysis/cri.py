"""CIE 13.3-1995 colour rendering index: general index Ra and special indices Ri.

Vectorised over a batch of spectra (no Python loop over spectra).

Conventions (all explicit, none hidden):

- CIE 13.3 defines the index on 5 nm sums. Spectra given on a 5 nm grid through
  380-780 nm (380, 385, ..., 780 nm among its points) are evaluated *natively at
  5 nm*: the tabulated TCS, the CIE 1931 2° CMFs at those wavelengths and the
  reference illuminant computed at them, no interpolation (Sprague to 1 nm first
  lowered Ra by up to 0.28 on narrow-band sources). Any other grid (1 nm included) is
  evaluated at 1 nm, 380-780 nm, after resampling
  (``lightcomp.analysis.spectra.to_analysis_grid``), with TCS01-TCS14 (CIE 13.3, 5 nm,
  360-830 nm) and TCS15 (Japanese skin, CIE 2024 data set, 5 nm, 380-780 nm)
  Sprague-interpolated (CIE 167) to 1 nm: the 1 nm sum is the finer quadrature of
  the same integral, and 1 nm is what array spectroradiometers deliver.
- Reference illuminant at the CCT of the test source (Ohno 2013 when not given):
  Planckian below 5000 K, CIE daylight from 5000 K (``illuminants.reference_CIE13_3``;
  c2 = 1.4388e-2 m·K; daylight basis linearly interpolated, M1, M2 unrounded).
  The reference side is tabulated over CCT and interpolated (error < 1e-7, see
  ``_cr_common.ReferenceTable``). The table and the TCS on the 1 nm grid are summed in
  a fixed order (``lightcomp.analysis._ordered``), not by BLAS, so that they are the
  same to the last bit whatever ran before in the process (issue #15).
- Von Kries chromatic adaptation in CIE 1960 (u, v) (c, d transform), CIE 1964
  U*V*W*, ΔE Euclidean, Ri = 100 − 4.6 ΔE.
- No intermediate rounding. Ra is the mean of the *unrounded* R1..R8. CIE 13.3's
  integer presentation is available as ``rounding=True`` (display only).
- The CIE 13.3 chromaticity-distance check (DC < 5.4e-3) is not applied; use Duv.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lightcomp.analysis import _cr_common
from lightcomp.analysis._ordered import ordered_matmul
from lightcomp.analysis.data import load_cmfs
from lightcomp.analysis.illuminants import WL_ANALYSIS, load_data_csv
from lightcomp.analysis.interpolation import sprague_matrix

__all__ = ["CRI_CIE13_3", "TCS_CIE13_3", "TCS_NAMES"]

#: Names of the 15 test colour samples, in the order of the ``Ri`` columns.
TCS_NAMES: tuple[str, ...] = tuple(f"TCS{i:02d}" for i in range(1, 16))
_K = 15


@lru_cache(maxsize=1)
def TCS_CIE13_3() -> np.ndarray:
    """CIE 13.3 test colour samples TCS01-TCS15 on the analysis grid -> (15, 401).

    Spectral radiance factors Sprague-interpolated (CIE 167) from the 5 nm tables:
    TCS01-14 from their 360-830 nm data (interior formula everywhere in 380-780 nm),
    TCS15 from its 380-780 nm data (CIE 167 boundary coefficients at the ends).
    """
    wl, names, values = load_data_csv("tcs_cie13_3.csv")
    out = np.empty((_K, WL_ANALYSIS.size))
    # Fixed-order sums (not BLAS): a cached constant must not depend on the calling
    # thread's BLAS state (see lightcomp.analysis._ordered).
    out[:14] = ordered_matmul(values[:, :14].T, sprague_matrix(wl, WL_ANALYSIS).T)
    inside = np.isfinite(values[:, 14])
    out[14] = ordered_matmul(values[inside, 14], sprague_matrix(wl[inside], WL_ANALYSIS).T)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=1)
def _matrix() -> np.ndarray:
    """(401, 3 + 45): white X, Y, Z then X of the 15 TCS, Y of the TCS, Z of the TCS."""
    cmfs = load_cmfs("1931_2")
    return np.ascontiguousarray(np.hstack([cmfs, _cr_common.sample_matrix(TCS_CIE13_3(), cmfs)]))


#: The CIE 13.3 grid: 380-780 nm at 5 nm (81 points).
WL_5NM = np.arange(380.0, 781.0, 5.0)


@lru_cache(maxsize=1)
def _matrix_5nm() -> np.ndarray:
    """(81, 48) like :func:`_matrix` on the native 5 nm grid: tabulated TCS, CMFs at 5 nm."""
    wl, _, values = load_data_csv("tcs_cie13_3.csv")
    rows = np.searchsorted(wl, WL_5NM)
    if not np.array_equal(wl[rows], WL_5NM):  # pragma: no cover - data file integrity
        raise RuntimeError("tcs_cie13_3.csv has no 380-780 nm 5 nm points")
    tcs = np.ascontiguousarray(values[rows, :].T)  # (15, 81)
    cmfs = load_cmfs("1931_2")[::5]  # the 1 nm CIE table holds the 5 nm values
    out = np.ascontiguousarray(np.hstack([cmfs, _cr_common.sample_matrix(tcs, cmfs)]))
    out.setflags(write=False)
    return out


def _reference_features_5nm(T: np.ndarray) -> np.ndarray:
    P = np.hstack([load_cmfs("1931_2")[::5, 1:2], _matrix_5nm()])
    V = _cr_common.reference_products(T, "CIE 13.3", P, WL_5NM)[:, 1:]
    return _features_from_products(V)


@lru_cache(maxsize=1)
def _reference_table_5nm() -> _cr_common.ReferenceTable:
    with np.errstate(invalid="ignore", divide="ignore"):
        return _cr_common.ReferenceTable(_reference_features_5nm)


def native_5nm_columns(wavelengths: np.ndarray) -> np.ndarray | None:
    """Indices of 380, 385, ..., 780 nm in a uniform 5 nm grid, or None for other grids.

    Such input is evaluated natively at 5 nm (CIE 13.3); see the module docstring.
    """
    wl = np.asarray(wavelengths, dtype=float)
    if wl is WL_ANALYSIS or wl.ndim != 1 or wl.size < WL_5NM.size:
        return None
    d = np.diff(wl)
    if not np.all(np.abs(d - 5.0) <= 1e-6):
        return None
    idx = np.searchsorted(wl, WL_5NM - 1e-6)
    if idx[-1] >= wl.size or not np.all(np.abs(wl[np.minimum(idx, wl.size - 1)] - WL_5NM) <= 1e-6):
        return None
    return idx


def Ri_from_5nm(S5: np.ndarray, T: np.ndarray) -> np.ndarray:
    """R1..R15 (n, 15) of spectra at 380, 385, ..., 780 nm (n, 81), natively at 5 nm."""
    with np.errstate(invalid="ignore", divide="ignore"):
        V_t = S5 @ _matrix_5nm()
        V_t[V_t[:, 1] <= 0] = np.nan
        return _Ri_block(V_t, _reference_table_5nm()(T))


def _uv(X, Y, Z):
    den = X + 15.0 * Y + 3.0 * Z
    return 4.0 * X / den, 6.0 * Y / den


def _cd(u, v):
    return (4.0 - u - 10.0 * v) / v, (1.708 * v + 0.404 - 1.481 * u) / v


def _W(Y_rel):
    return 25.0 * np.cbrt(Y_rel) - 17.0


def _reference_features(T: np.ndarray) -> np.ndarray:
    """Exact reference quantities (n, 4 + 45): u_r, v_r, c_r, d_r, W*_r, U*_r, V*_r."""
    P = np.hstack([load_cmfs("1931_2")[:, 1:2], _matrix()])
    V = _cr_common.reference_products(T, "CIE 13.3", P)[:, 1:]
    return _features_from_products(V)


def _features_from_products(V: np.ndarray) -> np.ndarray:
    """Reference features from the reference's products (n, 48) with the TCS matrix."""
    n = V.shape[0]
    s = V[:, 3:].reshape(n, 3, _K)
    u_r, v_r = _uv(V[:, 0], V[:, 1], V[:, 2])
    c_r, d_r = _cd(u_r, v_r)
    u_i, v_i = _uv(s[:, 0], s[:, 1], s[:, 2])
    W = _W(100.0 * s[:, 1] / V[:, 1:2])
    U = 13.0 * W * (u_i - u_r[:, None])
    Vs = 13.0 * W * (v_i - v_r[:, None])
    return np.hstack([np.stack([u_r, v_r, c_r, d_r], axis=1), W, U, Vs])


@lru_cache(maxsize=1)
def _reference_table() -> _cr_common.ReferenceTable:
    with np.errstate(invalid="ignore", divide="ignore"):
        return _cr_common.ReferenceTable(_reference_features)


def _Ri_block(V_t: np.ndarray, F_r: np.ndarray) -> np.ndarray:
    """Special indices (n, 15) from test products ``V_t`` and reference features ``F_r``."""
    n = V_t.shape[0]
    s = V_t[:, 3:].reshape(n, 3, _K)
    u_r, v_r, c_r, d_r = (F_r[:, j : j + 1] for j in range(4))
    W_r, U_r, V_r = F_r[:, 4 : 4 + _K], F_r[:, 4 + _K : 4 + 2 * _K], F_r[:, 4 + 2 * _K :]
    u_k, v_k = _uv(V_t[:, 0:1], V_t[:, 1:2], V_t[:, 2:3])
    c_k, d_k = _cd(u_k, v_k)
    u_i, v_i = _uv(s[:, 0], s[:, 1], s[:, 2])
    c_i, d_i = _cd(u_i, v_i)
    # Von Kries adaptation of the test sample colours to the reference white (CIE 13.3 eq. 6).
    cc = (c_r / c_k) * c_i
    dd = (d_r / d_k) * d_i
    den = 16.518 + 1.481 * cc - dd
    u_a = (10.872 + 0.404 * cc - 4.0 * dd) / den
    v_a = 5.520 / den
    # CIE 1964 U*V*W* relative to the adapted white (= reference white u_r, v_r).
    W_t = _W(100.0 * s[:, 1] / V_t[:, 1:2])
    dU = 13.0 * W_t * (u_a - u_r) - U_r
    dV = 13.0 * W_t * (v_a - v_r) - V_r
    dE = np.sqrt(dU * dU + dV * dV + (W_t - W_r) ** 2)
    return 100.0 - 4.6 * dE


def CRI_CIE13_3(
    wavelengths: np.ndarray,
    spectra: np.ndarray,
    *,
    CCT: np.ndarray | float | None = None,
    rounding: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """CIE 13.3-1995 general colour rendering index Ra and special indices R1..R15.

    Parameters
    ----------
    wavelengths : array (W,)
        Wavelengths in nm, covering 380-780 nm (step <= 5 nm).
    spectra : array (N, W) or (W,)
        Spectral distributions of the test sources (any radiometric unit).
    CCT : float or array (N,), optional
        Correlated colour temperature (K) used for the reference illuminant. Default:
        computed from the 2° chromaticity with Ohno (2013).
    rounding : bool
        Display option: Ri rounded to integers, Ra = round(mean of unrounded R1..R8)
        (CIE 13.3 presentation). Default False (full precision).

    Returns
    -------
    Ra : array (N,)
        General colour rendering index (mean of R1..R8).
    Ri : array (N, 15)
        Special colour rendering indices R1..R15 (R9: saturated red, R15: Asian skin).

    Rows whose spectrum has no positive luminance or whose CCT is outside
    1000-25000 K give NaN. See the module docstring for all conventions.
    """
    cols5 = native_5nm_columns(wavelengths)
    if cols5 is not None:  # CIE 13.3's own 5 nm sums
        S5 = np.atleast_2d(np.asarray(spectra, dtype=float))[:, cols5]
        # BLAS on one thread, as in the blocks below: its rounding depends on its
        # thread count, which is process state (a Dask worker runs with one).
        with _cr_common.single_threaded_blas():
            if CCT is None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    CCT = _cr_common.cct_from_white(
                        _cr_common.spectra_on_grid(wavelengths, spectra) @ load_cmfs("1931_2")
                    )
            Ri = Ri_from_5nm(S5, _cr_common.cct_argument(CCT, S5.shape[0]))
        Ra = Ri[:, :8].mean(axis=1)
        if rounding:
            return np.round(Ra), np.round(Ri)
        return Ra, Ri
    S = _cr_common.spectra_on_grid(wavelengths, spectra)
    n = S.shape[0]
    cct = _cr_common.cct_argument(CCT, n)
    M = _matrix()
    table = _reference_table()
    Ri = np.empty((n, _K))

    def work(blk: slice) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):
            V_t = S[blk] @ M
            V_t[V_t[:, 1] <= 0] = np.nan
            T = _cr_common.cct_from_white(V_t[:, :3]) if cct is None else cct[blk]
            Ri[blk] = _Ri_block(V_t, table(T))

    _cr_common.for_blocks(n, work)  # blocks bound memory, may run on 2 threads
    Ra = Ri[:, :8].mean(axis=1)
    if rounding:
        return np.round(Ra), np.round(Ri)
    return Ra, Ri


def Ri_from_products(V_t: np.ndarray, T: np.ndarray, F_r: np.ndarray | None = None) -> np.ndarray:
    """R1..R15 (n, 15) from ``S @ _matrix()`` rows (n, 48) and the reference CCT (K).

    The batch core of :func:`CRI_CIE13_3` for callers that already have the products
    (:mod:`lightcomp.analysis.batch`); ``F_r`` the interpolated reference features
    when the caller has them already. NaN where T is outside 1000-25000 K.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return _Ri_block(V_t, _reference_table()(T) if F_r is None else F_r)
