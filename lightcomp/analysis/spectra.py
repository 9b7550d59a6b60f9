"""Spectral grids: validation and resampling onto the 1 nm analysis grid.

Every quantity in :mod:`lightcomp.analysis` is computed on one grid,
:data:`WL` = 380, 381, ..., 780 nm (401 points), the grid of the CIE tables in
:mod:`lightcomp.analysis.data`. Input spectra on any wavelength grid that

- is one-dimensional, finite and strictly increasing,
- covers at least 380-780 nm, and
- has steps of at most 5 nm over that range (CIE S 025 / LM-79: spectroradiometer
  380-780 nm with step <= 5 nm),

are resampled to :data:`WL` exactly once:

- uniform grids: Sprague (1880) interpolation as recommended by CIE 167:2005
  (:mod:`lightcomp.analysis.interpolation`); a grid that already is :data:`WL`
  is used as is;
- non-uniform grids (e.g. array-spectrometer pixel wavelengths): a not-a-knot
  cubic spline (:class:`scipy.interpolate.CubicSpline`), the method CIE 167
  and colour-science use for non-uniform data.

Both methods are linear in the data. Sprague is one banded matrix product for the
whole batch (cached per grid; sparse for long grids); the spline is evaluated on the
data directly. Memory grows linearly with the grid; grids finer than
:data:`MIN_STEP_NM` or longer than :data:`MAX_POINTS` are refused. Resampled values are
point samples of the interpolant (no band-pass averaging); no rounding is done.

Also here: per-spectrum validation (:func:`check_spectra`) and the shape of
the main peak on the analysis grid (:func:`peak_wavelength_grid`,
:func:`fwhm_grid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from lightcomp.analysis.illuminants import WL_ANALYSIS
from lightcomp.errors import AnalysisInputError

__all__ = [
    "MAX_POINTS",
    "MAX_STEP_NM",
    "MIN_STEP_NM",
    "Resampler",
    "WL",
    "check_spectra",
    "fwhm_grid",
    "peak_and_fwhm_grid",
    "peak_wavelength_grid",
    "resampler",
    "resampling_matrix",
    "spectrum_names",
    "to_analysis_grid",
    "validate_wavelengths",
]

#: The analysis grid (nm): 380-780 nm at 1 nm, 401 points, float64.
WL: np.ndarray = WL_ANALYSIS

#: Largest accepted wavelength step (nm) inside 380-780 nm.
MAX_STEP_NM = 5.0

#: Smallest accepted step (nm) and largest grid: finer grids are no measurement (the
#: 0.01 nm grid of a 1.3 MB file is accepted; a 1e-6 nm one is refused).
MIN_STEP_NM = 1e-3
MAX_POINTS = 200_000

_TOL = 1e-6  # nm, tolerance on grid coverage and uniformity


def spectrum_names(n: int, names: Sequence[str] | None = None) -> list[str]:
    """Names of ``n`` spectra: ``names`` as strings, or ``spectrum 1`` ... ``spectrum n``.

    Raises :class:`AnalysisInputError` if ``names`` does not have ``n`` entries.
    """
    if names is None:
        return ["spectrum " + str(i) for i in range(1, n + 1)]
    names = [str(s) for s in names]
    if len(names) != n:
        raise AnalysisInputError(f"{len(names)} names given for {n} spectra")
    return names


def validate_wavelengths(wavelengths: np.ndarray) -> np.ndarray:
    """Check a wavelength grid (nm) and return it as a float64 1-D array.

    Raises :class:`AnalysisInputError` naming the problem when the grid is not
    1-D, contains NaN/inf, is not strictly increasing, does not cover
    380-780 nm, or has a step larger than :data:`MAX_STEP_NM` within 380-780 nm.
    """
    if wavelengths is WL:  # the analysis grid itself (checked once, read-only)
        return WL
    wl = np.asarray(wavelengths, dtype=float)
    if _is_analysis_grid(wl):  # the usual 1 nm grid as another array: WL itself (cheap)
        return WL
    if wl.ndim != 1:
        raise AnalysisInputError(f"wavelengths must be a 1-D array, got shape {wl.shape}")
    if wl.size < 2:
        raise AnalysisInputError(f"wavelength grid has only {wl.size} point(s)")
    if not np.all(np.isfinite(wl)):
        i = int(np.flatnonzero(~np.isfinite(wl))[0])
        raise AnalysisInputError(f"wavelength grid has a non-finite value at index {i}")
    d = np.diff(wl)
    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0])
        raise AnalysisInputError(
            f"wavelength grid is not strictly increasing: {wl[i]:g} nm is followed by "
            f"{wl[i + 1]:g} nm (index {i + 1})"
        )
    if wl.size > MAX_POINTS:
        raise AnalysisInputError(
            f"wavelength grid has {wl.size} points (more than {MAX_POINTS}): not a "
            "spectroradiometer grid; resample it (e.g. to 1 nm) first"
        )
    if wl[0] > WL[0] + _TOL or wl[-1] < WL[-1] - _TOL:
        hint = ""
        if wl[-1] < 1e-5:
            hint = " (metres? give the wavelengths in nm)"
        elif wl[-1] < 2.0:
            hint = " (micrometres? give the wavelengths in nm)"
        elif wl[0] > 1e4:
            hint = " (picometres or angstrom? give the wavelengths in nm)"
        raise AnalysisInputError(
            f"wavelength grid {wl[0]:g}-{wl[-1]:g} nm does not cover 380-780 nm{hint}"
        )
    # Steps of the intervals that overlap 380-780 nm.
    inside = (wl[1:] > WL[0] + _TOL) & (wl[:-1] < WL[-1] - _TOL)
    if np.any(d[inside] < MIN_STEP_NM):
        i = int(np.flatnonzero(inside & (d < MIN_STEP_NM))[0])
        raise AnalysisInputError(
            f"wavelength step {d[i]:.3g} nm between {wl[i]:.6g} and {wl[i + 1]:.6g} nm is "
            f"below {MIN_STEP_NM:g} nm: not a spectroradiometer grid"
        )
    if np.any(d[inside] > MAX_STEP_NM + _TOL):
        i = int(np.flatnonzero(inside & (d > MAX_STEP_NM + _TOL))[0])
        raise AnalysisInputError(
            f"wavelength step {d[i]:g} nm between {wl[i]:g} and {wl[i + 1]:g} nm exceeds "
            f"{MAX_STEP_NM:g} nm"
        )
    return wl


def _is_uniform(wl: np.ndarray) -> bool:
    d = np.diff(wl)
    return bool(np.all(np.abs(d - d[0]) <= 1e-9 * max(1.0, abs(d[0]))))


def _is_analysis_grid(wl: np.ndarray) -> bool:
    """``wl`` is :data:`WL` to 1e-9 nm (NaN compares unequal: such a grid is checked in full)."""
    return wl.shape == WL.shape and bool((np.abs(wl - WL) <= 1e-9).all())


#: Grids up to this many points in 380-780 nm get a dense resampling matrix (fast
#: BLAS product); longer ones a sparse one (memory linear in the grid).
_DENSE_MAX = 4096


def _margins(wl: np.ndarray, margin: int) -> tuple[int, int]:
    lo = max(int(np.searchsorted(wl, WL[0] - _TOL)) - margin, 0)
    hi = min(int(np.searchsorted(wl, WL[-1] + _TOL, side="right")) + margin, wl.size)
    return lo, hi


@lru_cache(maxsize=16)
def _sprague_cached(first: float, step: float, size: int, lo: int, hi: int):
    sub = first + step * np.arange(size)
    sub = sub[lo:hi]
    from lightcomp.analysis.interpolation import sprague_operator

    op = sprague_operator(sub, np.clip(WL, sub[0], sub[-1]))
    if size <= _DENSE_MAX:
        dense = np.zeros((WL.size, size))
        dense[:, lo:hi] = op.toarray()
        dense.setflags(write=False)
        return dense
    from scipy.sparse import csr_matrix

    return csr_matrix((op.data, op.indices + lo, op.indptr), shape=(WL.size, size))


class Resampler:
    """Maps spectra (n, W) on a validated grid to the analysis grid (n, 401).

    Uniform grids: Sprague (CIE 167) as one matrix product (dense up to
    4096 points, sparse beyond: about 6 non-zeros per output point, so memory is
    linear in the grid). Non-uniform grids: the not-a-knot cubic spline is
    evaluated directly on the data (cost and memory linear in the grid; no
    operator is built). Only the points near 380-780 nm are used: Sprague needs 3
    neighbours on each side (result unchanged); the spline's influence decays by
    about 0.27 per knot, so 20 knots leave < 1e-11.
    """

    def __init__(self, wl: np.ndarray) -> None:
        self.wl = wl
        self.uniform = _is_uniform(wl)
        self.lo, self.hi = _margins(wl, 3 if self.uniform else 20)
        self.operator = None
        if self.uniform:
            step = (wl[-1] - wl[0]) / (wl.size - 1)
            self.operator = _sprague_cached(float(wl[0]), float(step), wl.size, self.lo, self.hi)

    def __call__(self, spectra: np.ndarray) -> np.ndarray:
        if self.operator is not None:
            if isinstance(self.operator, np.ndarray):
                return spectra @ self.operator.T
            return np.asarray((self.operator @ spectra.T).T)
        from scipy.interpolate import CubicSpline

        sub = self.wl[self.lo : self.hi]
        out = np.empty((spectra.shape[0], WL.size))
        for start in range(0, spectra.shape[0], 256):  # bounds the spline coefficients
            block = spectra[start : start + 256, self.lo : self.hi]
            spline = CubicSpline(sub, block.T, axis=0, bc_type="not-a-knot")
            out[start : start + 256] = spline(WL).T
        return out


def resampler(wavelengths: np.ndarray) -> Resampler | None:
    """The :class:`Resampler` for ``wavelengths`` (validated), or ``None`` if it is :data:`WL`."""
    wl = validate_wavelengths(wavelengths)
    if wl is WL or _is_analysis_grid(wl):
        return None
    return Resampler(wl)


def resampling_matrix(wavelengths: np.ndarray) -> np.ndarray | None:
    """Dense linear operator ``M`` (shape (401, W)) mapping a spectrum on ``wavelengths`` to :data:`WL`.

    Sprague (CIE 167) for uniform grids, not-a-knot cubic spline for non-uniform
    grids; ``None`` when ``wavelengths`` already is :data:`WL` (no resampling).
    For inspection and small grids: the analysis itself uses :func:`resampler`,
    whose memory is linear in the grid.
    """
    r = resampler(wavelengths)
    if r is None:
        return None
    if isinstance(r.operator, np.ndarray):
        return r.operator
    return r(np.eye(r.wl.size)).T


def _as_batch(wl: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    s = np.asarray(spectra, dtype=float)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2:
        raise AnalysisInputError(f"spectra must be an (N, W) array, got shape {s.shape}")
    if s.shape[1] != wl.size:
        raise AnalysisInputError(
            f"spectra have {s.shape[1]} values per spectrum but the wavelength grid has "
            f"{wl.size} points"
        )
    return s


def check_spectra(
    wavelengths: np.ndarray,
    spectra: np.ndarray,
    names: Sequence[str] | None = None,
    *,
    max_negative_fraction: float = 0.5,
) -> list[str | None]:
    """Per-spectrum validation: one error message (or ``None`` if usable) per spectrum.

    A spectrum is unusable when it contains NaN or inf, when all its values in
    380-780 nm are zero, or when it is mostly negative there (more than
    ``max_negative_fraction`` of the samples in 380-780 nm negative, or a
    non-positive sum). Each message starts with the spectrum's name.

    Grid and shape problems concern all spectra and raise
    :class:`AnalysisInputError` instead.

    Parameters
    ----------
    wavelengths : array, shape (W,)
        Wavelengths (nm).
    spectra : array, shape (N, W) or (W,)
        Spectral distributions (any unit).
    names : sequence of N str, optional
        Names used in the messages (default ``spectrum 1`` ...).
    """
    wl = validate_wavelengths(wavelengths)
    s = _as_batch(wl, spectra)
    n = s.shape[0]
    if wl is WL or _is_analysis_grid(wl):
        lo, hi = 0, WL.size - 1
    else:
        visible = (wl >= WL[0] - _TOL) & (wl <= WL[-1] + _TOL)
        lo, hi = np.flatnonzero(visible)[[0, -1]]
    if n <= 4096:
        # The usual case first: finite, non-negative, positive sum (3 passes, no messages).
        sv = s[:, lo : hi + 1]
        tot = sv.sum(axis=1)
        if np.isfinite(tot).all() and (tot > 0).all() and sv.min() >= 0:
            return [None] * n
    n_nonfinite = np.zeros(n, dtype=int)
    all_zero = np.zeros(n, dtype=bool)
    neg_fraction = np.zeros(n)
    total = np.zeros(n)
    for start in range(0, n, 4096):  # row chunks bound the temporaries' memory
        rows = slice(start, min(start + 4096, n))
        block = s[rows]
        finite = np.isfinite(block)
        if finite.all():  # the usual case: no copy with zeros for the non-finite values
            sv = block[:, lo : hi + 1]
        else:
            n_nonfinite[rows] = block.shape[1] - np.count_nonzero(finite, axis=1)
            sv = np.where(finite[:, lo : hi + 1], block[:, lo : hi + 1], 0.0)
        all_zero[rows] = ~np.any(sv != 0.0, axis=1)
        neg_fraction[rows] = np.count_nonzero(sv < 0.0, axis=1) / sv.shape[1]
        total[rows] = sv.sum(axis=1)
    errors: list[str | None] = [None] * s.shape[0]
    # Messages are built only for the (few) bad rows.
    bad = np.flatnonzero(
        (n_nonfinite > 0) | all_zero | (neg_fraction > max_negative_fraction) | (total <= 0)
    )
    # Names only for those rows too (measured spectra with a little negative noise in the
    # dark-subtracted tails take this path: no list of N default names for them).
    labels = spectrum_names(n, names) if bad.size else ()
    for i in bad:
        name = labels[i]
        if n_nonfinite[i]:
            j = int(np.flatnonzero(~np.isfinite(s[i]))[0])
            errors[i] = (
                f"{name}: {n_nonfinite[i]} non-finite value(s) (NaN/inf), first at {wl[j]:g} nm"
            )
        elif all_zero[i]:
            errors[i] = f"{name}: spectrum is all zero in 380-780 nm"
        elif neg_fraction[i] > max_negative_fraction:
            errors[i] = (
                f"{name}: spectrum is mostly negative in 380-780 nm "
                f"({100 * neg_fraction[i]:.0f} % of samples negative, sum {total[i]:.4g})"
            )
        else:
            errors[i] = (
                f"{name}: the sum of the spectrum over 380-780 nm is not positive "
                f"({total[i]:.4g}; {100 * neg_fraction[i]:.0f} % of samples negative)"
            )
    return errors


def to_analysis_grid(
    wavelengths: np.ndarray,
    spectra: np.ndarray,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Resample spectra to the 1 nm analysis grid :data:`WL` (380-780 nm).

    Parameters
    ----------
    wavelengths : array, shape (W,)
        Wavelengths (nm): strictly increasing, covering 380-780 nm, step <= 5 nm.
    spectra : array, shape (N, W) or (W,)
        Spectral distributions on ``wavelengths`` (unit kept, e.g. W/nm).
    names : sequence of N str, optional
        Spectrum names used in error messages.

    Returns
    -------
    array, shape (N, 401)
        Spectra on :data:`WL`: Sprague (CIE 167) for uniform input grids,
        not-a-knot cubic spline for non-uniform ones; a copy when the input
        already is on :data:`WL`.

    Raises
    ------
    AnalysisInputError
        Bad grid, shape mismatch, or a spectrum containing NaN/inf (the
        message names the first such spectrum). Zero or negative spectra are
        not rejected here; see :func:`check_spectra`.
    """
    wl = validate_wavelengths(wavelengths)
    s = _as_batch(wl, spectra)
    finite = np.isfinite(s).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        label = spectrum_names(s.shape[0], names)[i]
        raise AnalysisInputError(f"{label}: spectrum contains non-finite values (NaN/inf)")
    r = resampler(wl)
    if r is None:
        return s.copy()
    return r(s)


def peak_wavelength_grid(spectra_grid: np.ndarray) -> np.ndarray:
    """Peak wavelength (nm) of spectra on the analysis grid, shape (N,).

    The largest 1 nm sample in 380-780 nm, refined by the vertex of the
    parabola through it and its two neighbours (sub-nanometre; the plain
    sample wavelength at the grid ends).
    """
    return peak_and_fwhm_grid(spectra_grid, fwhm=False)[0]


def fwhm_grid(spectra_grid: np.ndarray) -> np.ndarray:
    """Full width at half maximum (nm) of the main (highest) peak, shape (N,).

    From the highest 1 nm sample, the nearest samples below half of it on
    each side are found and the half-maximum crossings are located by linear
    interpolation between 1 nm samples. NaN when the spectrum does not fall
    below half maximum on both sides within 380-780 nm. For a multi-peak
    spectrum (e.g. an RGB mix) the width is that of the main peak only.
    """
    return peak_and_fwhm_grid(spectra_grid)[1]


def peak_and_fwhm_grid(
    spectra_grid: np.ndarray, *, fwhm: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """(:func:`peak_wavelength_grid`, :func:`fwhm_grid`) from one search of the peak."""
    s = np.atleast_2d(np.asarray(spectra_grid, dtype=float))
    n, w = s.shape
    rows = np.arange(n)
    k = np.argmax(s, axis=1)
    kc = np.minimum(np.maximum(k, 1), w - 2)
    y0, y1, y2 = s[rows, kc - 1], s[rows, kc], s[rows, kc + 1]
    den = y0 - 2.0 * y1 + y2
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(den < 0, 0.5 * (y0 - y2) / den, 0.0)
    delta = np.where(k == kc, np.minimum(np.maximum(delta, -0.5), 0.5), 0.0)
    peak = WL[k] + delta
    if not fwhm:
        return peak, None
    half = 0.5 * s[rows, k]
    below = s < half[:, None]
    after = np.arange(w)[None, :] > k[:, None]
    # Nearest sample below half maximum after the peak (first True of below & after)
    # and before it (last True of below & ~after; the peak itself is not below).
    mask = below & after
    right = np.argmax(mask, axis=1)
    right = np.where(mask[rows, right], right, w)
    np.logical_and(below, ~after, out=mask)
    left = w - 1 - np.argmax(mask[:, ::-1], axis=1)
    left = np.where(mask[rows, left], left, -1)
    ok = (left >= 0) & (right < w) & (half > 0)
    lc = np.minimum(np.maximum(left, 0), w - 2)
    rc = np.minimum(np.maximum(right, 1), w - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # crossing between lc (below) and lc+1 (>= half); between rc-1 (>= half) and rc (below)
        xl = WL[lc] + (half - s[rows, lc]) / (s[rows, lc + 1] - s[rows, lc])
        xr = WL[rc - 1] + (s[rows, rc - 1] - half) / (s[rows, rc - 1] - s[rows, rc])
    return peak, np.where(ok, xr - xl, np.nan)
