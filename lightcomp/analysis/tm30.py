"""ANSI/IES TM-30-20 and CIE 224:2017 colour fidelity (Rf), gamut (Rg) and hue-bin indices.

Vectorised over a batch of spectra (no Python loop over spectra).

Conventions:

- 99 colour evaluation samples (CES) of CIE 224:2017 / TM-30-20 at 1 nm, 380-780 nm.
- CIE 1964 10° observer (1 nm CMFs) for all sample colorimetry; the CCT that picks
  the reference (Ohno 2013 when not given) uses the CIE 1931 2° observer.
- Reference illuminant ``illuminants.reference_CIE224``: Planckian below 4000 K,
  CIE daylight above 5000 K, Y-normalised linear blend m = (T − 4000)/1000 between.
- CIECAM02 with L_A = 100 cd/m², Y_b = 20, average surround (F = 1, c = 0.69,
  N_c = 1), complete adaptation D = 1 (illuminant discounted), white normalised to
  Y = 100 for test and reference; CAM02-UCS J', a', b' (Luo et al. 2006).
- Rf,i = 10 ln(exp((100 − 6.73 ΔE'_i)/10) + 1); Rf uses the mean ΔE' of the 99 CES.
- 16 hue bins of 22.5° by the hue angle of each CES under the *reference*;
  Rf,hj from the mean ΔE' in bin j; Rg = 100 A_test/A_ref with A the area of the
  polygon through the bin-mean (a', b'); Rcs,hj = (Δā' cos θj + Δb̄' sin θj)/|ā'b̄'_ref,j|
  and Rhs,hj = (Δb̄' cos θj − Δā' sin θj)/|ā'b̄'_ref,j| with θj the bin centre
  (TM-30-20 §4.6-4.7). A bin without samples gives NaN for its entries.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from lightcomp.analysis import _cr_common
from lightcomp.analysis._ordered import ordered_matmul
from lightcomp.analysis.data import load_cmfs
from lightcomp.analysis.illuminants import WL_ANALYSIS, load_data_csv
from lightcomp.errors import AnalysisInputError

__all__ = ["CES_TM30", "TM30_CIE224", "XYZ_to_CAM02UCS", "delta_E_to_R_f"]

N_CES = 99
N_BINS = 16

_M_CAT02 = np.array(
    [[0.7328, 0.4296, -0.1624], [-0.7036, 1.6975, 0.0061], [0.0030, 0.0136, 0.9834]]
)
_M_HPE = np.array([[0.38971, 0.68898, -0.07868], [-0.22981, 1.18340, 0.04641], [0.0, 0.0, 1.0]])
_M_HPE_CAT02_INV = ordered_matmul(_M_HPE, np.linalg.inv(_M_CAT02))

#: Surround parameters (F, c, N_c) of CIECAM02 (CIE 159:2004).
SURROUNDS: dict[str, tuple[float, float, float]] = {
    "average": (1.0, 0.69, 1.0),
    "dim": (0.9, 0.59, 0.9),
    "dark": (0.8, 0.525, 0.8),
}


@lru_cache(maxsize=1)
def CES_TM30() -> np.ndarray:
    """The 99 CES of CIE 224:2017 / TM-30-20 on the analysis grid -> (99, 401)."""
    wl, _, values = load_data_csv("ces_tm30.csv")
    if not np.array_equal(wl, WL_ANALYSIS):  # pragma: no cover - data file integrity
        raise RuntimeError("ces_tm30.csv is not on the 380-780 nm 1 nm grid")
    out = np.ascontiguousarray(values.T)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=1)
def _matrix() -> np.ndarray:
    """(401, 3 + 3 + 297): 2° white X, Y, Z; 10° white CAT02 R, G, B; CAT02 R of the
    99 CES (10°), then G, then B."""
    cmf2 = load_cmfs("1931_2")
    cat = ordered_matmul(load_cmfs("1964_10"), _M_CAT02.T)  # cached: fixed order, not BLAS
    return np.ascontiguousarray(np.hstack([cmf2, cat, _cr_common.sample_matrix(CES_TM30(), cat)]))


def products32(S: np.ndarray) -> np.ndarray:
    """Test-side products ``S @ _matrix()`` (n, 303) as float32 for CAM02-UCS.

    The product itself is float64 (row results then do not depend on the batch size or
    BLAS blocking); only the values handed to CAM02-UCS are float32, where the error
    budget allows it (docs/performance.md): float32 CAM02-UCS moves Rf and Rg by
    < 2e-3 (tested on the validation sets against the float64 route,
    :func:`TM30_CIE224`), within the 0.01 budget of the batch analysis; CCT, CIE 13.3
    and the colorimetry stay float64. ``S`` must be of moderate scale (peak within
    1e-30..1e30, :func:`_cr_common.normalise_scale`).
    """
    return (np.asarray(S, dtype=float) @ _matrix()).astype(np.float32)


def delta_E_to_R_f(delta_E: np.ndarray) -> np.ndarray:
    """Fidelity score from a CAM02-UCS difference: 10 ln(exp((100 − 6.73 ΔE')/10) + 1).

    CIE 224:2017 eq. 9 / TM-30-20 eq. 4.9 (scale factor 6.73).
    """
    x = (100.0 - 6.73 * np.asarray(delta_E, dtype=float)) / 10.0
    # 10 ln(1 + e^x), evaluated stably as 10 (max(x, 0) + ln(1 + e^-|x|)).
    return 10.0 * (np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))))


def _spow(x: np.ndarray, p: float) -> np.ndarray:
    return np.sign(x) * np.abs(x) ** p


def XYZ_to_CAM02UCS(
    XYZ: np.ndarray,
    XYZ_w: np.ndarray,
    *,
    L_A: float = 100.0,
    Y_b: float = 20.0,
    surround: str = "average",
    D: float = 1.0,
) -> np.ndarray:
    """CIECAM02 (CIE 159:2004) then CAM02-UCS (Luo, Cui & Li 2006) J', a', b'.

    Parameters
    ----------
    XYZ : array (..., 3)
        Sample tristimulus values, on the scale of the white (white Y_w = 100 usual).
    XYZ_w : array broadcastable to ``XYZ``
        Adopted white tristimulus values.
    L_A : float
        Adapting field luminance, cd/m² (TM-30: 100).
    Y_b : float
        Relative background luminance (TM-30: 20).
    surround : {"average", "dim", "dark"}
    D : float
        Degree of adaptation (TM-30: 1, illuminant discounted).

    Returns
    -------
    array (..., 3)
        J', a', b'.
    """
    if surround not in SURROUNDS:
        raise AnalysisInputError(
            f"unknown CIECAM02 surround {surround!r}; use one of {', '.join(SURROUNDS)}"
        )
    _, c, N_c = SURROUNDS[surround]
    XYZ = np.asarray(XYZ, dtype=float)
    XYZ_w = np.broadcast_to(np.asarray(XYZ_w, dtype=float), XYZ.shape)
    Y_w = XYZ_w[..., 1]
    RGB_w = XYZ_w @ _M_CAT02.T
    scale = Y_w[..., None] * D / RGB_w + 1.0 - D  # (..., 3)
    Jab, _, _ = _cam02ucs_core(XYZ @ _M_CAT02.T * scale, RGB_w * scale, Y_w, L_A, Y_b, c, N_c)
    return Jab


def _cam_constants(L_A: float, Y_b: float, Y_w) -> tuple:
    k = 1.0 / (5.0 * L_A + 1.0)
    F_L = 0.2 * k**4 * (5.0 * L_A) + 0.1 * (1.0 - k**4) ** 2 * (5.0 * L_A) ** (1.0 / 3.0)
    n = Y_b / Y_w
    N_bb = 0.725 * n**-0.2
    z = 1.48 + np.sqrt(n)
    return F_L, n, N_bb, z


def _post_adaptation(RGB_p: np.ndarray, F_L: float) -> np.ndarray:
    x = _spow(F_L * RGB_p / 100.0, 0.42)
    return 400.0 * x / (27.13 + np.abs(x)) + 0.1


def _cam02ucs_core(RGB_c, RGB_cw, Y_w, L_A, Y_b, c, N_c):
    """Adapted CAT02 RGB (sample and white) -> (J'a'b', hue angle h in rad, M')."""
    F_L, n, N_bb, z = _cam_constants(L_A, Y_b, Y_w)
    Ra = _post_adaptation(RGB_c @ _M_HPE_CAT02_INV.T, F_L)
    Raw = _post_adaptation(RGB_cw @ _M_HPE_CAT02_INV.T, F_L)
    return _jab_from_adapted(Ra, Raw, F_L, n, N_bb, z, c, N_c)


def _jab_from_adapted(Ra, Raw, F_L, n, N_bb, z, c, N_c):
    R, G, B = Ra[..., 0], Ra[..., 1], Ra[..., 2]
    a = R - 12.0 * G / 11.0 + B / 11.0
    b = (R + G - 2.0 * B) / 9.0
    h = np.arctan2(b, a)
    A = (2.0 * R + G + B / 20.0 - 0.305) * N_bb
    A_w = (2.0 * Raw[..., 0] + Raw[..., 1] + Raw[..., 2] / 20.0 - 0.305) * N_bb
    J = 100.0 * (A / A_w) ** (c * z)
    e_t = 0.25 * (np.cos(h + 2.0) + 3.8)
    t = (50000.0 / 13.0 * N_c * N_bb) * e_t * np.hypot(a, b) / (R + G + 21.0 / 20.0 * B)
    C = t**0.9 * np.sqrt(J / 100.0) * (1.64 - 0.29**n) ** 0.73
    M = C * F_L**0.25
    J_p = 1.7 * J / (1.0 + 0.007 * J)
    M_p = np.log1p(0.0228 * M) / 0.0228
    out = np.stack([J_p, M_p * np.cos(h), M_p * np.sin(h)], axis=-1)
    return out, h, M_p


def _jab_block(V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``S @ _matrix()`` (n, 303) -> CAM02-UCS J', a', b', each (n, 99).

    D = 1: the CAT02 responses are scaled by 100 / RGB_w (white Y = 100, the absolute
    scale cancels); the adapted white is (100, 100, 100) for every source. Same
    equations as :func:`XYZ_to_CAM02UCS`, arranged for speed: powers as exp/log,
    cos(h + 2) from a, b, and t^0.9 (J/100)^0.5 as one exponential.
    """
    n = V.shape[0]
    rgb = V[:, 6:].reshape(n, 3, N_CES)
    F_L, N_bb, c, z, H, A_w, k_t, k_M = _jab_constants()
    # HPE responses times F_L / 100 (the argument of the post-adaptation power).
    g = (F_L / 100.0 * 100.0) / V[:, 3:6]  # (n, 3)
    post = []
    for row in range(3):  # three HPE channels (not a loop over spectra)
        x = (H[row][0] * g[:, 0:1]) * rgb[:, 0]
        x += (H[row][1] * g[:, 1:2]) * rgb[:, 1]
        x += (H[row][2] * g[:, 2:3]) * rgb[:, 2]
        e = np.abs(x)
        np.log(e, out=e)
        e *= 0.42
        np.exp(e, out=e)  # |x|^0.42
        p = 400.0 * e
        e += 27.13
        p /= e
        np.copysign(p, x, out=p)
        p += 0.1
        post.append(p)
    R, G, B = post
    a = R - (12.0 / 11.0) * G + B / 11.0
    b = (R + G - 2.0 * B) / 9.0
    r = np.sqrt(a * a + b * b)
    lA = np.log((2.0 * R + G + B / 20.0 - 0.305) * (N_bb / A_w))  # ln(A / A_w)
    J = 100.0 * np.exp((c * z) * lA)
    # e_t * |ab| with cos(h + 2) = (a cos 2 - b sin 2) / |ab| (no trigonometry needed).
    e_r = 0.25 * (a * _COS2 - b * _SIN2 + 3.8 * r)
    t = e_r / (R + G + 1.05 * B)
    # M = k_M t^0.9 (J/100)^0.5
    M = k_M * np.exp(0.9 * np.log(k_t * t) + (0.5 * c * z) * lA)
    M_p = np.log1p(0.0228 * M) / 0.0228
    J_p = 1.7 * J / (1.0 + 0.007 * J)
    M_p /= r
    return J_p, M_p * a, M_p * b


_COS2, _SIN2 = math.cos(2.0), math.sin(2.0)


@lru_cache(maxsize=1)
def _jab_constants() -> tuple:
    """The viewing-condition constants of :func:`_jab_block` (CIE 224: L_A = 100 cd/m²,
    Y_b = 20, average surround; adapted white (100, 100, 100)), as Python floats so that
    the arithmetic stays in the products' dtype (float32 or 64)."""
    F_L, n_, N_bb, z = (float(v) for v in _cam_constants(100.0, 20.0, 100.0))
    _, c, N_c = SURROUNDS["average"]
    Raw = _post_adaptation(100.0 * _M_HPE_CAT02_INV.sum(axis=1), F_L)
    A_w = float((2.0 * Raw[0] + Raw[1] + Raw[2] / 20.0 - 0.305) * N_bb)
    k_t = 50000.0 / 13.0 * N_c * N_bb
    k_M = float((1.64 - 0.29**n_) ** 0.73 * F_L**0.25)
    return F_L, N_bb, float(c), z, _M_HPE_CAT02_INV.tolist(), A_w, k_t, k_M


def _reference_features(T: np.ndarray) -> np.ndarray:
    """Exact CAM02-UCS J', a', b' of the 99 CES under the CIE 224 reference -> (n, 297)."""
    P = np.hstack([load_cmfs("1931_2")[:, 1:2], _matrix()])
    V = _cr_common.reference_products(T, "CIE 224", P)[:, 1:]
    return np.hstack(_jab_block(V))


@lru_cache(maxsize=1)
def _reference_table() -> _cr_common.ReferenceTable:
    with np.errstate(invalid="ignore", divide="ignore"):
        return _cr_common.ReferenceTable(_reference_features)


@lru_cache(maxsize=1)
def _reference_table32() -> _cr_common.ReferenceTable:
    """The same reference J', a', b' stored and interpolated in float32: the batch path
    of :func:`Rf_Rg_from_products` with float32 products (:func:`products32`)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _cr_common.ReferenceTable(_reference_features, dtype=np.float32)


def _bin_means(ar: np.ndarray, br: np.ndarray, quantities) -> list[np.ndarray]:
    """Hue-bin means (n, 16) of each of ``quantities`` (each (n, 99)); NaN for empty bins.

    Bin j holds the CES whose hue angle under the *reference* (``ar``, ``br``) is in
    [22.5 j, 22.5 (j+1)) degrees (TM-30-20 §4.6).
    """
    n = ar.shape[0]
    x = np.arctan2(br, ar)
    x *= N_BINS / (2.0 * np.pi)  # in [-8, 8]
    x += np.where(x < 0.0, float(N_BINS), 0.0)  # (np.mod is much slower)
    np.floor(x, out=x)
    np.minimum(x, N_BINS - 1, out=x)  # guards x == 16 from rounding
    if not np.isfinite(x).all():  # rows without a reference: any bin, values are NaN
        x[~np.isfinite(x)] = 0.0
    x += (N_BINS * np.arange(n, dtype=float))[:, None]
    size = n * N_BINS
    idx = x.astype(np.intp).ravel()
    count = np.bincount(idx, minlength=size).reshape(n, N_BINS).astype(float)
    count[count == 0] = np.nan
    return [
        np.bincount(idx, weights=q.ravel(), minlength=size).reshape(n, N_BINS) / count
        for q in quantities
    ]


def _delta_E(Jt, at, bt, Jr, ar, br) -> np.ndarray:
    """CAM02-UCS ΔE' = sqrt((Jt − Jr)² + (at − ar)² + (bt − br)²), in place on temporaries."""
    dE = Jt - Jr
    dE *= dE
    d = at - ar
    d *= d
    dE += d
    np.subtract(bt, br, out=d)
    d *= d
    dE += d
    np.sqrt(dE, out=dE)
    return dE


def _bins_block(
    at: np.ndarray, bt: np.ndarray, ar: np.ndarray, br: np.ndarray, dE: np.ndarray
) -> dict[str, np.ndarray]:
    """Hue-bin quantities from test/reference a', b' and ΔE', each (n, 99)."""
    mat, mbt, mar, mbr, mdE = _bin_means(ar, br, (at, bt, ar, br, dE))
    theta = np.radians(22.5 * np.arange(N_BINS) + 11.25)
    cos, sin = np.cos(theta), np.sin(theta)
    norm_r = np.hypot(mar, mbr)
    da, db = mat - mar, mbt - mbr

    return {
        "Rg": 100.0 * _polygon_area(mat, mbt) / _polygon_area(mar, mbr),
        "Rf_hj": delta_E_to_R_f(mdE),
        "Rcs_hj": 100.0 * (da * cos + db * sin) / norm_r,
        "Rhs_hj": (db * cos - da * sin) / norm_r,
        "hue_bin_test_ab": np.stack([mat, mbt], axis=-1),
        "hue_bin_ref_ab": np.stack([mar, mbr], axis=-1),
    }


def _polygon_area(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shoelace area of the polygons through the rows of (a, b), each (n, k)."""
    # sum over k of a_k b_(k+1) - b_k a_(k+1), the last vertex closing on the first
    # (slices rather than np.roll: the small batches of a station call this per unit)
    inner = np.einsum("nk,nk->n", a[:, :-1], b[:, 1:]) - np.einsum("nk,nk->n", b[:, :-1], a[:, 1:])
    return 0.5 * (inner + a[:, -1] * b[:, 0] - b[:, -1] * a[:, 0])


def Rf_Rg_from_products(
    V_t: np.ndarray, T: np.ndarray, ref: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rf and Rg (n,) from ``S @ _matrix()`` rows (n, 303) and the reference CCT (K).

    The batch core of :func:`TM30_CIE224` for callers that already have the products
    (:mod:`lightcomp.analysis.batch`): only what Rf and Rg need (no per-sample or
    per-bin fidelity, no chroma/hue shifts). Same equations, same numbers. ``ref``: the
    interpolated reference J', a', b' (n, 297) when the caller has them already.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        Jt, at, bt = _jab_block(V_t)
        if ref is None:
            table = _reference_table32() if Jt.dtype == np.float32 else _reference_table()
            ref = table(T)
        ref = ref.astype(Jt.dtype, copy=False)
        Jr, ar, br = ref[:, :N_CES], ref[:, N_CES : 2 * N_CES], ref[:, 2 * N_CES :]
        dE = _delta_E(Jt, at, bt, Jr, ar, br)
        Rf = delta_E_to_R_f(dE.mean(axis=1)).astype(float)
        mat, mbt, mar, mbr = _bin_means(ar, br, (at, bt, ar, br))
        Rg = 100.0 * _polygon_area(mat, mbt) / _polygon_area(mar, mbr)
    return Rf, Rg


def TM30_CIE224(
    wavelengths: np.ndarray,
    spectra: np.ndarray,
    *,
    CCT: np.ndarray | float | None = None,
) -> dict[str, np.ndarray]:
    """ANSI/IES TM-30-20 / CIE 224:2017 colour rendition measures.

    Parameters
    ----------
    wavelengths : array (W,)
        Wavelengths in nm, covering 380-780 nm (step <= 5 nm).
    spectra : array (N, W) or (W,)
        Spectral distributions of the test sources (any radiometric unit).
    CCT : float or array (N,), optional
        Correlated colour temperature (K) for the reference illuminant. Default:
        Ohno (2013) from the CIE 1931 2° chromaticity.

    Returns
    -------
    dict of arrays
        ``"Rf"`` (N,) fidelity index; ``"Rg"`` (N,) gamut index; ``"Rf_i"`` (N, 99)
        per-CES fidelity; ``"Rf_hj"`` (N, 16) per-hue-bin fidelity; ``"Rcs_hj"``
        (N, 16) local chroma shift in percent; ``"Rhs_hj"`` (N, 16) local hue shift
        (rad); ``"hue_bin_test_ab"``, ``"hue_bin_ref_ab"`` (N, 16, 2) bin-mean a', b'
        under test and reference (colour vector graphic); ``"CCT"`` (N,) in K.

    Rows whose spectrum has no positive luminance or whose CCT is outside
    1000-25000 K are NaN. See the module docstring for all conventions.
    """
    S = _cr_common.spectra_on_grid(wavelengths, spectra)
    n = S.shape[0]
    cct = _cr_common.cct_argument(CCT, n)
    M = _matrix()
    table = _reference_table()
    out = {
        "Rf": np.empty(n),
        "Rg": np.empty(n),
        "Rf_i": np.empty((n, N_CES)),
        "Rf_hj": np.empty((n, N_BINS)),
        "Rcs_hj": np.empty((n, N_BINS)),
        "Rhs_hj": np.empty((n, N_BINS)),
        "hue_bin_test_ab": np.empty((n, N_BINS, 2)),
        "hue_bin_ref_ab": np.empty((n, N_BINS, 2)),
        "CCT": np.empty(n),
    }

    def work(blk: slice) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):
            V_t = S[blk] @ M
            V_t[V_t[:, 1] <= 0] = np.nan
            T = _cr_common.cct_from_white(V_t[:, :3]) if cct is None else cct[blk]
            Jt, at, bt = _jab_block(V_t)
            Jr, ar, br = np.split(table(T), 3, axis=1)
            dE = _delta_E(Jt, at, bt, Jr, ar, br)
            out["Rf_i"][blk] = delta_E_to_R_f(dE)
            out["Rf"][blk] = delta_E_to_R_f(dE.mean(axis=1))
            out["CCT"][blk] = T
            for key, value in _bins_block(at, bt, ar, br, dE).items():
                out[key][blk] = value

    _cr_common.for_blocks(n, work)  # blocks bound memory, may run on 2 threads
    return out
