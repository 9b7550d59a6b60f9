"""Interpolation of spectral data onto the 1 nm analysis grid.

Sprague (1880) fifth-order interpolation as recommended by CIE 167:2005 for
uniformly spaced spectral data, with the CIE boundary extrapolation
coefficients. Sprague interpolation is linear in the data, so it is built once
as a matrix ``M`` (shape W_new x W) and applied to a whole batch as
``spectra @ M.T`` — no Python loop over spectra.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lightcomp.analysis._ordered import ordered_matmul
from lightcomp.errors import AnalysisInputError

# CIE 167:2005 boundary coefficients: two extra points at each end.
_SPRAGUE_BOUNDARY = (
    np.array(
        [
            [884, -1960, 3033, -2648, 1080, -180],
            [508, -540, 488, -367, 144, -24],
            [-24, 144, -367, 488, -540, 508],
            [-180, 1080, -2648, 3033, -1960, 884],
        ],
        dtype=float,
    )
    / 209.0
)

_SPRAGUE_WEIGHTS = (
    np.array(
        [
            (2, -16, 0, 16, -2, 0),
            (-1, 16, -30, 16, -1, 0),
            (-9, 39, -70, 66, -33, 7),
            (13, -64, 126, -124, 61, -12),
            (-5, 25, -50, 50, -25, 5),
        ],
        dtype=float,
    )
    / 24.0
)


def _is_uniform(x: np.ndarray) -> bool:
    d = np.diff(x)
    return bool(d.size) and bool(np.allclose(d, d[0], rtol=0, atol=1e-9 * max(1.0, abs(d[0]))))


def _sprague_triplets(x: np.ndarray, x_new: np.ndarray):
    """(rows, cols, values) of the Sprague operator: at most 6 x 6 entries per target.

    Each target point combines 6 points of the extended data (2 extrapolated points
    at each end, CIE 167 boundary coefficients, each a combination of the 6 end
    points), so the operator is banded: memory grows linearly with the grid.
    """
    w = x.size
    i = np.clip(np.searchsorted(x, x_new) - 1, 0, w - 2)
    t = (x_new - x[i]) / (x[i + 1] - x[i])
    powers = t[:, None] ** np.arange(1, 6)[None, :]  # (W_new, 5)
    # (W_new, 6): weights of ext[j-2] ... ext[j+3]; summed in a fixed order, since the
    # operator is cached and must not carry the rounding of the first caller's BLAS.
    coef = ordered_matmul(powers, _SPRAGUE_WEIGHTS)
    coef[:, 2] += 1.0  # + y_i itself
    ext = (i + 2)[:, None] + np.arange(-2, 4)[None, :]  # extended indices (W_new, 6)
    rows = np.broadcast_to(np.arange(x_new.size)[:, None], ext.shape)
    inner = (ext >= 2) & (ext < w + 2)
    r_all = [rows[inner]]
    c_all = [ext[inner] - 2]
    v_all = [coef[inner]]
    # Extrapolated points: ext 0, 1 from the first 6 data, w+2, w+3 from the last 6.
    for e, brow, base in ((0, 0, 0), (1, 1, 0), (w + 2, 2, w - 6), (w + 3, 3, w - 6)):
        hit = ext == e
        if hit.any():
            rr = rows[hit]
            vv = coef[hit]
            r_all.append(np.repeat(rr, 6))
            c_all.append(np.tile(base + np.arange(6), rr.size))
            v_all.append((vv[:, None] * _SPRAGUE_BOUNDARY[brow][None, :]).ravel())
    return np.concatenate(r_all), np.concatenate(c_all), np.concatenate(v_all)


@lru_cache(maxsize=32)
def _sprague_matrix_cached(x_key: tuple, x_new_key: tuple) -> np.ndarray:
    x = np.asarray(x_key, dtype=float)
    x_new = np.asarray(x_new_key, dtype=float)
    rows, cols, vals = _sprague_triplets(x, x_new)
    m = np.zeros((x_new.size, x.size))
    np.add.at(m, (rows, cols), vals)
    m.setflags(write=False)
    return m


def sprague_operator(x: np.ndarray, x_new: np.ndarray):
    """Sprague operator as a ``scipy.sparse`` CSR matrix (W_new, W) for long grids.

    Same values as :func:`sprague_matrix`; about 6 non-zeros per row, so a grid of
    100 000 points costs kilobytes, not the 80 GB of a dense W x W intermediate.
    """
    from scipy.sparse import csr_matrix

    x = np.asarray(x, dtype=float)
    x_new = np.asarray(x_new, dtype=float)
    _check_sprague(x, x_new)
    rows, cols, vals = _sprague_triplets(x, x_new)
    return csr_matrix((vals, (rows, cols)), shape=(x_new.size, x.size))


def _check_sprague(x: np.ndarray, x_new: np.ndarray) -> None:
    if x.ndim != 1 or x.size < 6:
        raise AnalysisInputError("Sprague interpolation needs at least 6 source points")
    if not _is_uniform(x) or np.any(np.diff(x) <= 0):
        raise AnalysisInputError("Sprague interpolation needs a uniform increasing grid")
    if x_new.min() < x[0] - 1e-9 or x_new.max() > x[-1] + 1e-9:
        raise AnalysisInputError(
            f"interpolation target {x_new.min():g}-{x_new.max():g} nm is outside the "
            f"source grid {x[0]:g}-{x[-1]:g} nm"
        )


def sprague_matrix(x: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Linear operator of Sprague interpolation from grid ``x`` to ``x_new``.

    Parameters
    ----------
    x : array, shape (W,)
        Uniformly spaced, increasing source grid (nm); at least 6 points.
    x_new : array, shape (W_new,)
        Target points, within ``[x[0], x[-1]]``.

    Returns
    -------
    array, shape (W_new, W)
        ``M`` such that ``y_new = M @ y`` (or ``Y @ M.T`` for a batch).
    """
    x = np.asarray(x, dtype=float)
    x_new = np.asarray(x_new, dtype=float)
    _check_sprague(x, x_new)
    return _sprague_matrix_cached(tuple(x.tolist()), tuple(x_new.tolist()))


def sprague_interpolate(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Sprague-interpolate ``y`` (shape (..., W)) from grid ``x`` to ``x_new``.

    CIE 167:2005 recommended method for uniformly spaced spectral data.
    Returns an array of shape (..., W_new).
    """
    m = sprague_matrix(x, x_new)
    return np.asarray(y, dtype=float) @ m.T
