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


@lru_cache(maxsize=32)
def _sprague_matrix_cached(x_key: tuple, x_new_key: tuple) -> np.ndarray:
    x = np.asarray(x_key, dtype=float)
    x_new = np.asarray(x_new_key, dtype=float)
    w = x.size
    # Extended data (2 extrapolated points each side) as a linear map of the data.
    ext = np.zeros((w + 4, w))
    ext[2 : w + 2] = np.eye(w)
    ext[0, :6] = _SPRAGUE_BOUNDARY[0]
    ext[1, :6] = _SPRAGUE_BOUNDARY[1]
    ext[w + 2, -6:] = _SPRAGUE_BOUNDARY[2]
    ext[w + 3, -6:] = _SPRAGUE_BOUNDARY[3]

    i = np.clip(np.searchsorted(x, x_new) - 1, 0, w - 2)
    t = (x_new - x[i]) / (x[i + 1] - x[i])
    j = i + 2  # index of x[i] in the extended array
    rows = np.stack([ext[j + k] for k in range(-2, 4)], axis=1)  # (W_new, 6, W)
    a = np.einsum("pk,nkw->npw", _SPRAGUE_WEIGHTS, rows)  # (W_new, 5, W)
    powers = t[:, None] ** np.arange(1, 6)[None, :]  # (W_new, 5)
    m = ext[j] + np.einsum("np,npw->nw", powers, a)
    m.setflags(write=False)
    return m


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
    if x.ndim != 1 or x.size < 6:
        raise AnalysisInputError("Sprague interpolation needs at least 6 source points")
    if not _is_uniform(x) or np.any(np.diff(x) <= 0):
        raise AnalysisInputError("Sprague interpolation needs a uniform increasing grid")
    if x_new.min() < x[0] - 1e-9 or x_new.max() > x[-1] + 1e-9:
        raise AnalysisInputError(
            f"interpolation target {x_new.min():g}-{x_new.max():g} nm is outside the "
            f"source grid {x[0]:g}-{x[-1]:g} nm"
        )
    return _sprague_matrix_cached(tuple(x.tolist()), tuple(x_new.tolist()))


def sprague_interpolate(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Sprague-interpolate ``y`` (shape (..., W)) from grid ``x`` to ``x_new``.

    CIE 167:2005 recommended method for uniformly spaced spectral data.
    Returns an array of shape (..., W_new).
    """
    m = sprague_matrix(x, x_new)
    return np.asarray(y, dtype=float) @ m.T
