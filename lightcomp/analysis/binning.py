"""Chromaticity binning: ANSI C78.377-2017 quadrangles and MacAdam ellipse steps (SDCM).

ANSI C78.377-2017
    Each nominal CCT (2200 ... 6500 K) has a target CCT +- tolerance and a target
    Duv +- 0.006; the "7-step quadrangle" joins the four corners
    (T - tol, Duv + 0.006), (T + tol, Duv + 0.006), (T + tol, Duv - 0.006),
    (T - tol, Duv - 0.006) with straight lines in CIE 1931 x,y. The published
    corners (2700-6500 K) are in ``data/ansi_c78377.csv``; the 2200 K and 2500 K
    quadrangles are computed from that rule (*verify*). The *flexible CCT* rule
    allows any nominal CCT T in 100 K steps with target Duv(T) = 57700/T^2 -
    44.6/T + 0.00854 (T >= 2780 K, 0 below) and Duv tolerance +- 0.006.

Sub-bins (lightcomp's documented scheme)
    Each standard quadrangle is split into four quarter-quadrangles by the two
    lines joining the midpoints of opposite edges (the split LED makers use for
    "ANSI quarter bins"). They are named after the nominal CCT and a letter,
    clockwise from the low-CCT/upper corner:
    ``A`` = lower CCT, upper Duv; ``B`` = higher CCT, upper Duv;
    ``C`` = higher CCT, lower Duv; ``D`` = lower CCT, lower Duv
    (e.g. ``"3000-A"``).

MacAdam ellipses (SDCM)
    n^2 = g11 dx^2 + 2 g12 dx dy + g22 dy^2 (CIE 1931 x,y), with the IEC 60081
    Annex D g-values for the F-series colours 2700, 3000, 3500, 4000, 5000,
    6500 K in ``data/macadam_ellipses.csv`` (all *verify*). Rule for other CCTs
    (lightcomp's choice, documented): g11, g12, g22 are interpolated linearly in
    reciprocal temperature (mired) between the neighbouring tabulated CCTs and
    held constant outside 2700-6500 K. CIE TN 001:2014 proposes circles in
    CIE 1976 u'v' instead; :func:`sdcm_cie_tn001` gives that alternative with
    1 step = 0.0011 in u'v' (*verify*).

All functions are vectorised: inputs broadcast, no Python loop over components.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from lightcomp.analysis.data import read_rows
from lightcomp.errors import AnalysisInputError

__all__ = [
    "ANSI_NOMINAL_CCTS",
    "SUB_BIN_LETTERS",
    "ansi_c78377_bin",
    "ansi_c78377_table",
    "ansi_flexible_quadrangle",
    "ansi_flexible_target_duv",
    "ansi_flexible_tolerance_k",
    "ansi_quadrangles",
    "ansi_sub_bin_quadrangles",
    "cct_duv_to_xy",
    "macadam_ellipse_axes",
    "macadam_ellipse_parameters",
    "macadam_ellipse_table",
    "macadam_steps",
    "nominal_centre_xy",
    "planckian_uv",
    "sdcm_cie_tn001",
]

#: Nominal CCTs of ANSI C78.377-2017 (K).
ANSI_NOMINAL_CCTS: tuple[int, ...] = (2200, 2500, 2700, 3000, 3500, 4000, 4500, 5000, 5700, 6500)

#: Sub-bin letters in corner order (see module docstring).
SUB_BIN_LETTERS: tuple[str, ...] = ("A", "B", "C", "D")

#: Duv tolerance of every ANSI C78.377-2017 quadrangle.
ANSI_DUV_TOLERANCE = 0.006

#: One MacAdam step as a radius in CIE 1976 u'v' per CIE TN 001:2014 (verify).
TN001_STEP_UV = 0.0011


@cache
def ansi_c78377_table() -> dict[str, np.ndarray]:
    """ANSI C78.377-2017 table, one entry per nominal CCT (rows in :data:`ANSI_NOMINAL_CCTS` order).

    Returns
    -------
    dict of read-only arrays
        ``nominal_cct_k`` (10,), ``target_cct_k`` (10,), ``cct_tolerance_k`` (10,),
        ``target_duv`` (10,), ``duv_tolerance`` (10,), ``centre_xy`` (10, 2) and
        ``corners_xy`` (10, 4, 2) in CIE 1931 x,y, corner order as in the module
        docstring. 2200 K and 2500 K corners/centre are computed from the rule.
    """
    header, rows = read_rows("ansi_c78377.csv")
    col = {name: i for i, name in enumerate(header)}
    num = np.array([[float(v) if v.strip() else np.nan for v in r] for r in rows])
    nominal = num[:, col["nominal_cct_k"]]
    target = num[:, col["target_cct_k"]]
    tol = num[:, col["cct_tolerance_k"]]
    duv = num[:, col["target_duv"]]
    duv_tol = num[:, col["duv_tolerance"]]
    centre = num[:, [col["centre_x"], col["centre_y"]]]
    corners = num[:, [col[f"{a}{i}"] for i in range(1, 5) for a in "xy"]].reshape(-1, 4, 2)
    missing = np.isnan(corners).any(axis=(1, 2))
    if missing.any():
        t_c = np.stack([target - tol, target + tol, target + tol, target - tol], axis=1)
        d_c = duv[:, None] + duv_tol[:, None] * np.array([1.0, 1.0, -1.0, -1.0])
        corners[missing] = cct_duv_to_xy(t_c[missing], d_c[missing])
        centre[missing] = cct_duv_to_xy(target[missing], duv[missing])
    out = {
        "nominal_cct_k": nominal,
        "target_cct_k": target,
        "cct_tolerance_k": tol,
        "target_duv": duv,
        "duv_tolerance": duv_tol,
        "centre_xy": centre,
        "corners_xy": corners,
    }
    for v in out.values():
        v.setflags(write=False)
    return out


def ansi_quadrangles() -> dict[int, np.ndarray]:
    """Corners of the ANSI C78.377-2017 7-step quadrangles: ``{nominal K: array (4, 2) of x,y}``."""
    t = ansi_c78377_table()
    return {int(n): c for n, c in zip(t["nominal_cct_k"], t["corners_xy"], strict=True)}


def _edge_midpoints(q: np.ndarray) -> tuple[np.ndarray, ...]:
    """Midpoints of the upper, lower, low-CCT and high-CCT edges of quadrangles ``(..., 4, 2)``:
    the lines joining opposite ones split a quadrangle into its four sub-bins."""
    return (
        0.5 * (q[..., 0, :] + q[..., 1, :]),
        0.5 * (q[..., 3, :] + q[..., 2, :]),
        0.5 * (q[..., 0, :] + q[..., 3, :]),
        0.5 * (q[..., 1, :] + q[..., 2, :]),
    )


def ansi_sub_bin_quadrangles() -> dict[str, np.ndarray]:
    """Corners of the quarter sub-bins (module docstring): ``{"3000-A": array (4, 2) of x,y}``.

    The same split as :func:`ansi_c78377_bin` uses to name a component's sub-bin; the
    lines joining the edge midpoints cross at the mean of the four corners.
    """
    out: dict[str, np.ndarray] = {}
    for nominal, q in ansi_quadrangles().items():
        top, bot, low, high = _edge_midpoints(q)
        c = q.mean(axis=0)
        corners = {
            "A": (q[0], top, c, low),
            "B": (top, q[1], high, c),
            "C": (c, high, q[2], bot),
            "D": (low, c, bot, q[3]),
        }
        for letter in SUB_BIN_LETTERS:
            out[f"{nominal}-{letter}"] = np.array(corners[letter])
    return out


# ---------------------------------------------------------------------------------------------
# Planckian locus and CCT/Duv -> x,y
# ---------------------------------------------------------------------------------------------
def planckian_uv(cct_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CIE 1960 u, v of a Planckian radiator (:func:`lightcomp.analysis.cct.CCT_to_uv_Planck`).

    CIE 1931 2 degree observer, 360-830 nm at 1 nm (the locus of CCT and Duv).

    Parameters
    ----------
    cct_k : array_like
        Temperature (K), any shape.

    Returns
    -------
    u, v : arrays of the shape of ``cct_k``
    """
    from lightcomp.analysis.cct import CCT_to_uv_Planck

    t = np.asarray(cct_k, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise AnalysisInputError("planckian_uv: temperatures must be finite and > 0 K")
    uv = CCT_to_uv_Planck(t.reshape(-1))
    return uv[:, 0].reshape(t.shape), uv[:, 1].reshape(t.shape)


@cache
def _locus_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Planckian locus u, v and unit normal on a fine mired grid (1000-25000 K, 0.25 mired steps)."""
    mired = np.arange(40.0, 1000.0 + 0.125, 0.25)
    u, v = planckian_uv(1e6 / mired)
    du, dv = -np.gradient(u, mired), -np.gradient(v, mired)  # d/dT has the sign of -d/dmired
    norm = np.hypot(du, dv)
    # Tangent points to increasing T (u decreasing); (dv, -du) then points to higher v.
    return mired, u, v, dv / norm, -du / norm


def cct_duv_to_xy(cct_k: np.ndarray, duv: np.ndarray) -> np.ndarray:
    """CIE 1931 x,y of the point at distance Duv from the Planckian locus at CCT (ANSI C78.377, CIE 1960 uv).

    Duv is positive above the locus (towards green), as in ANSI C78.377 and
    Ohno (2013). The locus and its normal are tabulated once (Planck's law,
    CIE 1931 2 degree CMFs, 1000-25000 K, 0.25 mired steps) and interpolated
    linearly (error < 1e-7 in u, v).

    Returns
    -------
    array, shape broadcast(cct_k, duv) + (2,)
    """
    t, d = np.broadcast_arrays(np.asarray(cct_k, dtype=float), np.asarray(duv, dtype=float))
    if np.any(~np.isfinite(t)) or np.any((t < 1000.0) | (t > 25000.0)) or np.any(~np.isfinite(d)):
        raise AnalysisInputError("cct_duv_to_xy: CCT must be 1000-25000 K and Duv finite")
    mired, lu, lv, nu, nv = _locus_table()
    m = 1e6 / t
    u = np.interp(m, mired, lu) + d * np.interp(m, mired, nu)
    v = np.interp(m, mired, lv) + d * np.interp(m, mired, nv)
    den = 2.0 * u - 8.0 * v + 4.0
    return np.stack([3.0 * u / den, 2.0 * v / den], axis=-1)


def ansi_flexible_target_duv(cct_k: np.ndarray) -> np.ndarray:
    """Target Duv of the ANSI C78.377-2017 flexible-CCT rule: 57700/T^2 - 44.6/T + 0.00854 (T >= 2780 K), else 0."""
    t = np.asarray(cct_k, dtype=float)
    return np.where(t >= 2780.0, 57700.0 / t**2 - 44.6 / t + 0.00854, 0.0)


def ansi_flexible_tolerance_k(cct_k: np.ndarray) -> np.ndarray:
    """CCT tolerance (K) for a flexible nominal CCT.

    lightcomp's rule: linear interpolation in CCT of the tolerances of the
    tabulated nominal CCTs (so the tabulated values are reproduced exactly);
    clamped outside 2200-6500 K. (The 2008 edition's cubic in T is not used.)
    """
    tab = ansi_c78377_table()
    return np.interp(np.asarray(cct_k, dtype=float), tab["nominal_cct_k"], tab["cct_tolerance_k"])


def ansi_flexible_quadrangle(nominal_cct_k: np.ndarray) -> np.ndarray:
    """Quadrangle of a flexible nominal CCT T: corners (T -+ tol, Duv(T -+ tol) +- 0.006) in x,y.

    Returns
    -------
    array, shape nominal_cct_k.shape + (4, 2); corner order as in the module docstring.
    """
    t = np.asarray(nominal_cct_k, dtype=float)
    tol = ansi_flexible_tolerance_k(t)
    t_c = np.stack([t - tol, t + tol, t + tol, t - tol], axis=-1)
    d_c = ansi_flexible_target_duv(t_c) + ANSI_DUV_TOLERANCE * np.array([1.0, 1.0, -1.0, -1.0])
    return cct_duv_to_xy(t_c, d_c)


# ---------------------------------------------------------------------------------------------
# Quadrangle classification
# ---------------------------------------------------------------------------------------------
def _cross(o: np.ndarray, a: np.ndarray, p: np.ndarray) -> np.ndarray:
    """z of (a - o) x (p - o); broadcasting over leading axes, last axis = (x, y)."""
    return (a[..., 0] - o[..., 0]) * (p[..., 1] - o[..., 1]) - (a[..., 1] - o[..., 1]) * (
        p[..., 0] - o[..., 0]
    )


def inside_ansi_quadrangle(x: np.ndarray, y: np.ndarray, nominal_cct_k: int) -> np.ndarray:
    """Whether (x, y) lie inside (or on) the ANSI C78.377 7-step quadrangle of ``nominal_cct_k``.

    Tests that one quadrangle directly (for a non-tabulated nominal CCT, the
    flexible-CCT quadrangle); :func:`ansi_c78377_bin` instead assigns a point to
    the first of overlapping or edge-sharing quadrangles.
    """
    quads = ansi_quadrangles()
    t = float(nominal_cct_k)
    quad = quads[int(t)] if t in quads else ansi_flexible_quadrangle(t)  # flexible CCT rule
    pts = np.stack(np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float)), axis=-1)
    return _inside_quadrangle(pts, quad)


def _inside_quadrangle(points: np.ndarray, quads: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Points (..., 2) inside convex quadrangles (..., 4, 2) (boundary counts as inside)."""
    p = points[..., None, :]
    nxt = np.roll(quads, -1, axis=-2)
    c = _cross(quads, nxt, p)  # (..., 4)
    orient = np.sign(_cross(quads[..., 0, :], quads[..., 1, :], quads[..., 2, :]))[..., None]
    return np.all(c * orient >= -eps, axis=-1)


def _as_xy(cct: np.ndarray, duv: np.ndarray, x, y) -> np.ndarray:
    if (x is None) != (y is None):
        raise AnalysisInputError("ansi_c78377_bin: give both x and y, or neither")
    if x is None:
        return cct_duv_to_xy(cct, duv)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != cct.shape or y.shape != cct.shape:
        raise AnalysisInputError(
            f"ansi_c78377_bin: x {x.shape}, y {y.shape} and cct {cct.shape} must have one shape"
        )
    return np.stack([x, y], axis=-1)


def ansi_c78377_bin(
    cct_k: np.ndarray,
    duv: np.ndarray,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Classify components against ANSI C78.377-2017 (standard and flexible CCTs, quarter sub-bins).

    Parameters
    ----------
    cct_k, duv : array_like, shape (N,)
        Measured CCT (K) and Duv (CIE 1960 uv, positive above the Planckian locus).
    x, y : array_like, shape (N,), optional
        Measured CIE 1931 chromaticity. The quadrangle tests use x,y (the
        quadrangles are straight-edged in x,y); when omitted, x,y are computed
        from CCT and Duv.

    Returns
    -------
    dict of arrays, each shape (N,)
        ``nominal_cct_k`` (int): the standard nominal CCT whose quadrangle
        contains the point; for points outside every quadrangle, the nominal
        CCT nearest in units of its CCT tolerance, ``|CCT - target| / tol``.
        ``in_quadrangle`` (bool): inside the quadrangle of ``nominal_cct_k``.
        ``sub_bin`` (str): e.g. ``"3000-A"``; ``""`` when outside.
        ``flexible_cct_k`` (int): nearest 100 K step, clamped to 2200-6500 K.
        ``in_flexible_quadrangle`` (bool): inside the flexible-CCT quadrangle of
        ``flexible_cct_k``.

    Raises
    ------
    AnalysisInputError
        Non-finite or non-positive CCT, non-finite Duv/x/y, shape mismatch.
    """
    cct = np.atleast_1d(np.asarray(cct_k, dtype=float))
    duv_a = np.atleast_1d(np.asarray(duv, dtype=float))
    if cct.ndim != 1 or duv_a.shape != cct.shape:
        raise AnalysisInputError(
            f"ansi_c78377_bin: cct_k and duv must be 1-D of one length, got {cct.shape}, {duv_a.shape}"
        )
    bad = ~np.isfinite(cct) | (cct <= 0) | ~np.isfinite(duv_a)
    xy = _as_xy(cct, duv_a, x, y) if not bad.any() else None
    if xy is not None:
        bad |= ~np.isfinite(xy).all(axis=-1)
    if bad.any():
        raise AnalysisInputError(
            f"ansi_c78377_bin: non-finite or non-positive CCT/Duv/x/y at indices {np.flatnonzero(bad)[:10].tolist()}"
        )
    tab = ansi_c78377_table()
    quads = tab["corners_xy"]  # (K, 4, 2)
    inside = _inside_quadrangle(xy[:, None, :], quads[None])  # (N, K)
    any_in = inside.any(axis=1)
    nearest = np.argmin(
        np.abs(cct[:, None] - tab["target_cct_k"][None]) / tab["cct_tolerance_k"][None], axis=1
    )
    k = np.where(any_in, np.argmax(inside, axis=1), nearest)
    nominal = tab["nominal_cct_k"][k].astype(int)

    # Quarter sub-bins: split by the lines joining midpoints of opposite edges.
    q = quads[k]  # (N, 4, 2)
    m_top, m_bot, m_low, m_high = _edge_midpoints(q)
    high_t = np.sign(_cross(m_bot, m_top, xy)) == np.sign(_cross(m_bot, m_top, q[:, 1]))
    upper = np.sign(_cross(m_low, m_high, xy)) == np.sign(_cross(m_low, m_high, q[:, 0]))
    letter_idx = np.where(upper, np.where(high_t, 1, 0), np.where(high_t, 2, 3))
    letters = np.asarray(SUB_BIN_LETTERS)[letter_idx]
    sub_bin = np.where(any_in, np.char.add(np.char.add(nominal.astype(str), "-"), letters), "")

    flex = np.clip(np.round(cct / 100.0) * 100.0, 2200.0, 6500.0)
    flex_values, inverse = np.unique(flex, return_inverse=True)
    in_flex = _inside_quadrangle(xy, ansi_flexible_quadrangle(flex_values)[inverse])
    return {
        "nominal_cct_k": nominal,
        "in_quadrangle": any_in,
        "sub_bin": sub_bin.astype(str),
        "flexible_cct_k": flex.astype(int),
        "in_flexible_quadrangle": in_flex,
    }


# ---------------------------------------------------------------------------------------------
# MacAdam ellipses
# ---------------------------------------------------------------------------------------------
@cache
def macadam_ellipse_table() -> dict[str, np.ndarray]:
    """IEC 60081 Annex D ellipse table (*verify*): ``nominal_cct_k`` (6,), ``centre_xy`` (6, 2), ``g`` (6, 3) = g11, g12, g22."""
    header, rows = read_rows("macadam_ellipses.csv")
    col = {name: i for i, name in enumerate(header)}
    num = np.array([[float(r[col[c]]) for c in header if c != "source"] for r in rows])
    names = [c for c in header if c != "source"]
    idx = {n: i for i, n in enumerate(names)}
    out = {
        "nominal_cct_k": num[:, idx["nominal_cct_k"]],
        "centre_xy": num[:, [idx["centre_x"], idx["centre_y"]]],
        "g": num[:, [idx["g11"], idx["g12"], idx["g22"]]],
    }
    for v in out.values():
        v.setflags(write=False)
    return out


def nominal_centre_xy(nominal_cct_k: np.ndarray, scheme: str = "ansi") -> np.ndarray:
    """Rated chromaticity centre (CIE 1931 x,y) of a nominal CCT, to measure MacAdam steps from.

    Parameters
    ----------
    nominal_cct_k : array_like
        Nominal CCT (K).
    scheme : {"ansi", "iec"}
        ``"ansi"``: ANSI C78.377-2017 quadrangle centre for the tabulated
        nominal CCTs, otherwise the flexible-CCT target (T, Duv(T));
        ``"iec"``: IEC 60081 F-series centre (2700, 3000, 3500, 4000, 5000,
        6500 K only; *verify*).

    Returns
    -------
    array, shape nominal_cct_k.shape + (2,)
    """
    t = np.asarray(nominal_cct_k, dtype=float)
    if scheme == "iec":
        tab = macadam_ellipse_table()
        match = t[..., None] == tab["nominal_cct_k"]
        if not match.any(axis=-1).all():
            raise AnalysisInputError(
                f"nominal_centre_xy: IEC 60081 centres exist only for {tab['nominal_cct_k'].astype(int).tolist()} K"
            )
        return tab["centre_xy"][np.argmax(match, axis=-1)]
    if scheme != "ansi":
        raise AnalysisInputError(
            f"nominal_centre_xy: unknown scheme {scheme!r}; use 'ansi' or 'iec'"
        )
    tab = ansi_c78377_table()
    match = t[..., None] == tab["nominal_cct_k"]
    flexible = cct_duv_to_xy(t, ansi_flexible_target_duv(t))
    return np.where(
        match.any(axis=-1)[..., None], tab["centre_xy"][np.argmax(match, axis=-1)], flexible
    )


def macadam_ellipse_parameters(cct_k: np.ndarray) -> np.ndarray:
    """g11, g12, g22 for a (nominal) CCT: tabulated values, interpolated linearly in mired between them.

    Returns
    -------
    array, shape cct_k.shape + (3,)
    """
    t = np.asarray(cct_k, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise AnalysisInputError("macadam_ellipse_parameters: CCT must be finite and > 0 K")
    tab = macadam_ellipse_table()
    mired = 1e6 / tab["nominal_cct_k"][::-1]  # increasing
    g = tab["g"][::-1]
    m = 1e6 / t
    return np.stack([np.interp(m, mired, g[:, i]) for i in range(3)], axis=-1)


def macadam_steps(
    x: np.ndarray,
    y: np.ndarray,
    centre_x: np.ndarray,
    centre_y: np.ndarray,
    cct_k: np.ndarray | None = None,
    g: np.ndarray | None = None,
) -> np.ndarray:
    """MacAdam ellipse distance n (SDCM steps) of x,y from a centre: n^2 = g11 dx^2 + 2 g12 dx dy + g22 dy^2.

    Parameters
    ----------
    x, y : array_like
        Measured CIE 1931 chromaticity.
    centre_x, centre_y : array_like
        Nominal (rated) centre, broadcast against x, y.
    cct_k : array_like, optional
        Nominal CCT used to choose the ellipse (:func:`macadam_ellipse_parameters`).
    g : array_like, shape (..., 3), optional
        Explicit g11, g12, g22 (overrides ``cct_k``).

    Returns
    -------
    array
        Steps (dimensionless), shape broadcast of the inputs.
    """
    if g is None:
        if cct_k is None:
            raise AnalysisInputError("macadam_steps: give cct_k (nominal CCT) or explicit g")
        g = macadam_ellipse_parameters(cct_k)
    g = np.asarray(g, dtype=float)
    dx = np.asarray(x, dtype=float) - np.asarray(centre_x, dtype=float)
    dy = np.asarray(y, dtype=float) - np.asarray(centre_y, dtype=float)
    n2 = g[..., 0] * dx**2 + 2.0 * g[..., 1] * dx * dy + g[..., 2] * dy**2
    if np.any(np.isnan(n2)):
        raise AnalysisInputError("macadam_steps: NaN in chromaticity or centre")
    return np.sqrt(np.maximum(n2, 0.0))


def macadam_ellipse_axes(g: np.ndarray, steps: float = 1.0) -> np.ndarray:
    """Semi-axes a >= b and angle theta (degrees, of a from the x axis) of the n-step ellipse of g11, g12, g22.

    Returns
    -------
    array, shape g.shape[:-1] + (3,): a, b, theta_deg
    """
    g = np.asarray(g, dtype=float)
    g11, g12, g22 = g[..., 0], g[..., 1], g[..., 2]
    half_tr = 0.5 * (g11 + g22)
    root = np.sqrt((0.5 * (g11 - g22)) ** 2 + g12**2)
    lam_small, lam_big = half_tr - root, half_tr + root
    if np.any(lam_small <= 0):
        raise AnalysisInputError("macadam_ellipse_axes: g matrix is not positive definite")
    theta = 0.5 * np.degrees(np.arctan2(2.0 * g12, g11 - g22)) + 90.0
    theta = np.mod(theta, 180.0)
    return np.stack([steps / np.sqrt(lam_small), steps / np.sqrt(lam_big), theta], axis=-1)


def sdcm_cie_tn001(
    u_prime: np.ndarray, v_prime: np.ndarray, centre_u_prime: np.ndarray, centre_v_prime: np.ndarray
) -> np.ndarray:
    """Steps as CIE TN 001:2014 circles: Euclidean distance in CIE 1976 u'v' divided by 0.0011 (*verify*)."""
    d = np.hypot(
        np.asarray(u_prime, dtype=float) - np.asarray(centre_u_prime, dtype=float),
        np.asarray(v_prime, dtype=float) - np.asarray(centre_v_prime, dtype=float),
    )
    if np.any(np.isnan(d)):
        raise AnalysisInputError("sdcm_cie_tn001: NaN in u'v' or centre")
    return d / TN001_STEP_UV
