"""Correlated colour temperature and Duv: Ohno (2013), vectorised.

Conventions:

- CIE 1960 UCS (u, v) (CIE 15:2018); the Planckian locus is computed from
  Planck's law with ``c2 = 1.4388e-2 m K`` (CIE 15:2018, ITS-90) and the CIE
  1931 2 degree colour-matching functions at 1 nm over their full range,
  360-830 nm, as CIE 15:2018 and colour-science do (the 380-780 nm range of the
  measured quantities would bias CCT by +1.8 K at 6500 K, +62 K at 20 000 K);
- Duv is the signed distance in (u, v) to the Planckian locus, **positive
  above the locus** (greater v; e.g. D65 about +0.0032), as in ANSI C78.377
  and Ohno (2013);
- the Planckian table spans 950-105 000 K (Ohno 2013 is specified for
  1000-100 000 K); outside it CCT and Duv are NaN. CIE
  15:2018 considers CCT meaningful only for |Duv| <= 0.05.

Method (Ohno, Y. 2014, "Practical use and calculation of CCT and Duv",
LEUKOS 10(1), 47-55; first published 2013): a Planckian table in (T, u, v)
with geometric spacing 1.0005 (0.05 %) from 950 K to 105 000 K is
precomputed once; for each sample the nearest table point is found (global
search on a 3 % sub-table, then bisection in the 0.05 % table inside the
bracket) and the
triangular solution is used for |Duv| < 0.002, the parabolic solution
otherwise. With this fine table the method's own error is far below 0.1 K
(Ohno's 0.99991 correction for a 1 % table is not needed and not applied).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lightcomp.analysis._ordered import ordered_matmul
from lightcomp.analysis.colorimetry import uv_to_xy, xy_to_uv
from lightcomp.analysis.data import load_cmfs_1931_full
from lightcomp.analysis.spectra import WL

__all__ = [
    "C2_M_K",
    "CCT_Duv_Ohno2013",
    "CCT_Duv_to_uv_Ohno2013",
    "CCT_Duv_to_xy_Ohno2013",
    "CCT_MAX_K",
    "CCT_MIN_K",
    "CCT_to_uv_Planck",
    "CCT_to_xy_Planck",
    "planck_spectra",
    "xy_to_CCT_Duv_Ohno2013",
]

#: Second radiation constant c2 (m K), CIE 15:2018 / ITS-90.
C2_M_K = 1.4388e-2
#: First radiation constant c1 (W m^2), used for absolute Planck spectra.
C1_W_M2 = 3.741771852e-16

#: Range of the Planckian table (K).
CCT_MIN_K = 950.0
CCT_MAX_K = 105000.0

_SPACING = 1.0005  # geometric step of the fine Planckian table
_COARSE_EVERY = 64  # fine points per coarse point (about 3 %)


def planck_spectra(temperature_k: np.ndarray, wavelengths_nm: np.ndarray = WL) -> np.ndarray:
    """Spectral radiant exitance of blackbodies, W m^-2 nm^-1 (Planck's law, CIE 15:2018).

    ``M(l, T) = c1 l^-5 / (exp(c2 / (l T)) - 1)`` with ``c2 = 1.4388e-2 m K``.

    Parameters
    ----------
    temperature_k : array, shape (N,)
        Temperatures (K).
    wavelengths_nm : array, shape (W,)
        Wavelengths (nm), default the analysis grid.

    Returns
    -------
    array, shape (N, W)
    """
    t = np.atleast_1d(np.asarray(temperature_k, dtype=float))[:, None]
    lam = np.asarray(wavelengths_nm, dtype=float)[None, :] * 1e-9
    with np.errstate(over="ignore"):
        return C1_W_M2 / lam**5 / np.expm1(C2_M_K / (lam * t)) * 1e-9


def CCT_to_uv_Planck(CCT: np.ndarray) -> np.ndarray:
    """CIE 1960 (u, v) of the Planckian radiator at ``CCT`` (K); shape (N,) -> (N, 2).

    Computed from Planck's law (``c2 = 1.4388e-2 m K``) with the CIE 1931 2 degree
    CMFs summed at 1 nm over their full range, 360-830 nm (CIE 15:2018; colour-science
    and luxpy do the same). The one Planckian locus of lightcomp: CCT, Duv and the
    binning (``binning.planckian_uv``) use it.
    """
    t = np.atleast_1d(np.asarray(CCT, dtype=float))
    wl, cmfs = load_cmfs_1931_full()
    out = np.empty((t.size, 2))
    for start in range(0, t.size, 4096):  # bound memory of the (n, 471) spectra
        # Fixed-order sums: the locus table is cached (see lightcomp.analysis._ordered).
        xyz = ordered_matmul(planck_spectra(t[start : start + 4096], wl), cmfs)
        d = xyz[:, 0] + 15.0 * xyz[:, 1] + 3.0 * xyz[:, 2]
        out[start : start + 4096, 0] = 4.0 * xyz[:, 0] / d
        out[start : start + 4096, 1] = 6.0 * xyz[:, 1] / d
    return out


def CCT_to_xy_Planck(CCT: np.ndarray) -> np.ndarray:
    """CIE 1931 (x, y) of the Planckian radiator at ``CCT`` (K); shape (N,) -> (N, 2)."""
    return uv_to_xy(CCT_to_uv_Planck(CCT))


@lru_cache(maxsize=1)
def _planck_table() -> tuple[np.ndarray, np.ndarray]:
    n = int(np.ceil(np.log(CCT_MAX_K / CCT_MIN_K) / np.log(_SPACING))) + 1
    t = CCT_MIN_K * _SPACING ** np.arange(n)
    t[-1] = min(t[-1], CCT_MAX_K * _SPACING)
    uv = CCT_to_uv_Planck(t)
    t.setflags(write=False)
    uv.setflags(write=False)
    return t, uv


def CCT_Duv_Ohno2013(uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlated colour temperature and Duv from CIE 1960 (u, v), Ohno (2013).

    Parameters
    ----------
    uv : array, shape (N, 2) or (2,)
        CIE 1960 UCS chromaticities.

    Returns
    -------
    (CCT, Duv) : arrays, shape (N,)
        CCT in kelvin and Duv (dimensionless, positive above the Planckian
        locus). NaN for non-finite input or when the nearest Planckian point
        is outside the table (950-105 000 K).
    """
    c = np.atleast_2d(np.asarray(uv, dtype=float))
    if c.shape[-1] != 2 or c.ndim != 2:
        raise ValueError(f"uv must have shape (N, 2), got {np.shape(uv)}")
    table_t, table_uv = _planck_table()
    n_t = table_t.size
    valid = np.isfinite(c).all(axis=1)
    all_valid = bool(valid.all())
    cv = c if all_valid else np.where(valid[:, None], c, table_uv[n_t // 2])
    n = cv.shape[0]
    cct = np.empty(n)
    duv = np.empty(n)
    coarse_uv, coarse_sq, window = _coarse_table()
    coef = _ohno_coefficients()
    for start in range(0, n, _CHUNK):  # bounds memory; vectorised within a chunk
        p = cv[start : start + _CHUNK]
        # 1. global nearest point of the coarse table (|p - c|^2 up to the |p|^2 term)
        i = np.argmin(coarse_sq - 2.0 * (p @ coarse_uv.T), axis=1) * _COARSE_EVERY
        # 2. nearest point within one coarse step on either side, every 8th point, then
        #    within 8 points of that (the distance is unimodal there): 2 x 17 points.
        for w in window:
            idx = np.minimum(np.maximum(i[:, None] + w, 0), n_t - 1)
            d = table_uv[idx] - p[:, None, :]
            k = np.argmin(np.einsum("nkc,nkc->nk", d, d), axis=1)
            i = idx[np.arange(idx.shape[0]), k]
        inside = (i > 0) & (i < n_t - 1)
        i = np.minimum(np.maximum(i, 1), n_t - 2)
        # 3. distances to the table points i-1, i, i+1 (one gather, one product).
        e = p[:, None, :] - table_uv[i[:, None] + _NEIGHBOURS]
        d2 = np.einsum("nkc,nkc->nk", e, e)
        d = np.sqrt(d2)
        k3 = coef[i]  # (n, 14): the node-only parts of both solutions
        t_p, seg, g_v, uv_pv = k3[:, 0], k3[:, 1], k3[:, 2], k3[:, 3]
        # Triangular solution.
        x = (d2[:, 0] - d2[:, 2] + seg * seg) / (2.0 * seg)
        sign = np.where(p[:, 1] - (uv_pv + g_v * (x / seg)) >= 0, 1.0, -1.0)
        t_tri = t_p + k3[:, 4] * x
        duv_tri = sign * np.sqrt(np.maximum(d2[:, 0] - x * x, 0.0))
        # Parabolic solution: the parabola through the three distances, in T - T_i
        # (well conditioned, unlike the powers of T itself), and its vertex.
        a = np.einsum("nk,nk->n", d, k3[:, 6:9])
        b = np.einsum("nk,nk->n", d, k3[:, 9:12])
        x_v = -b / (2.0 * a)
        t_par = k3[:, 5] + x_v
        duv_par = sign * (d[:, 1] + 0.5 * b * x_v)
        use_par = np.abs(duv_tri) >= 0.002
        ok = inside if all_valid else inside & valid[start : start + _CHUNK]
        cct[start : start + _CHUNK] = np.where(ok, np.where(use_par, t_par, t_tri), np.nan)
        duv[start : start + _CHUNK] = np.where(ok, np.where(use_par, duv_par, duv_tri), np.nan)
    return cct, duv


_CHUNK = 4096
_NEIGHBOURS = np.array([-1, 0, 1])


@lru_cache(maxsize=1)
def _ohno_coefficients() -> np.ndarray:
    """Per fine-table point i, what Ohno's two solutions need of the nodes i-1, i, i+1.

    Columns: 0 T_(i-1); 1 |uv_(i+1) - uv_(i-1)| (the triangle's base); 2 its v
    component; 3 v_(i-1); 4 (T_(i+1) - T_(i-1)) / base (triangular CCT per unit of
    x); 5 T_i; 6-8 and 9-11 the weights of the distances (d_(i-1), d_i, d_(i+1)) in
    the quadratic and the linear coefficient of the parabola through them (Ohno 2013,
    eq. 6) written in X = T - T_i, whose constant term is d_i: Lagrange's basis
    polynomials at the nodes X = T_(i-1) - T_i, 0, T_(i+1) - T_i. The same parabola
    as the paper's a T^2 + b T + c, without the cancellation of its T^2 terms (10^10
    at 100 000 K). Row 0 and the last row are unused.
    """
    t, uv = _planck_table()
    out = np.full((t.size, 12), np.nan)
    tp, ti, tn = t[:-2], t[1:-1], t[2:]
    g = uv[2:] - uv[:-2]
    base = np.hypot(g[:, 0], g[:, 1])
    xp, xn = tp - ti, tn - ti
    inner = out[1:-1]
    inner[:, 0] = tp
    inner[:, 1] = base
    inner[:, 2] = g[:, 1]
    inner[:, 3] = uv[:-2, 1]
    inner[:, 4] = (tn - tp) / base
    inner[:, 5] = ti
    # quadratic coefficient: sum of d_k / prod(x_k - x_j)
    inner[:, 6:9] = np.stack([1.0 / (xp * (xp - xn)), 1.0 / (xp * xn), 1.0 / (xn * (xn - xp))], 1)
    # linear coefficient: sum of d_k times -(sum of the other nodes) / prod(x_k - x_j)
    inner[:, 9:12] = np.stack(
        [-xn / (xp * (xp - xn)), -(xp + xn) / (xp * xn), -xp / (xn * (xn - xp))], 1
    )
    out.setflags(write=False)
    return out


@lru_cache(maxsize=1)
def _coarse_table() -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Every 64th Planckian table point (u, v), its |uv|^2, and the two search windows."""
    _, table_uv = _planck_table()
    coarse_uv = np.ascontiguousarray(table_uv[::_COARSE_EVERY])
    step = 8  # _COARSE_EVERY = 64 = 8 x 8
    return (
        coarse_uv,
        np.sum(coarse_uv**2, axis=1),
        (step * np.arange(-step, step + 1), np.arange(-step, step + 1)),
    )


def xy_to_CCT_Duv_Ohno2013(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CCT (K) and Duv from CIE 1931 (x, y), shape (N, 2); see :func:`CCT_Duv_Ohno2013`."""
    return CCT_Duv_Ohno2013(xy_to_uv(np.atleast_2d(np.asarray(xy, dtype=float))))


def CCT_Duv_to_uv_Ohno2013(CCT: np.ndarray, Duv: np.ndarray) -> np.ndarray:
    """CIE 1960 (u, v) of a point at ``CCT`` (K) and ``Duv`` (inverse of Ohno 2013).

    The point lies on the normal to the Planckian locus at ``CCT``, at
    distance ``|Duv|``, above the locus for positive Duv. Shapes (N,) -> (N, 2).
    """
    t, d = np.broadcast_arrays(
        np.atleast_1d(np.asarray(CCT, dtype=float)), np.atleast_1d(np.asarray(Duv, dtype=float))
    )
    uv0 = CCT_to_uv_Planck(t)
    uv1 = CCT_to_uv_Planck(t + 0.01)
    du, dv = (uv1 - uv0).T
    ln = np.hypot(du, dv)
    # Unit normal (dv, -du)/|.| points to greater v for the whole locus (du < 0).
    return uv0 + d[:, None] * np.stack([dv / ln, -du / ln], axis=-1)


def CCT_Duv_to_xy_Ohno2013(CCT: np.ndarray, Duv: np.ndarray) -> np.ndarray:
    """CIE 1931 (x, y) of a point at ``CCT`` (K) and ``Duv``; see :func:`CCT_Duv_to_uv_Ohno2013`."""
    return uv_to_xy(CCT_Duv_to_uv_Ohno2013(CCT, Duv))
