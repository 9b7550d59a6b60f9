"""Shared machinery of the colour rendering metrics (CIE 13.3 and CIE 224 / TM-30).

Private module: input normalisation, CCT when not given, and the reference side.

Everything computed under the reference illuminant depends on the test source only
through its CCT. :class:`ReferenceTable` therefore evaluates those quantities
exactly (reference spectrum -> sample colorimetry) on a fine grid of reciprocal
temperature and interpolates them per spectrum with 4-point (cubic) Lagrange
interpolation. The grid has nodes at 25000, 7000, 5000, 4000 and 1000 K and never
interpolates across them (kinks of the daylight formula at 7000 K, the CIE 13.3
switch at 5000 K and the CIE 224 blend limits), so the interpolated values follow
the exact ones to better than 1e-7 in Ri and 1e-8 in the CAM02-UCS coordinates
(1e-5 for the nearly neutral CES 91, whose M' has a weak singularity), i.e. about
1e-4 at most in Rf (checked in the tests). The tables are built with fixed-order sums
(:func:`lightcomp.analysis._ordered.ordered_matmul`): bit-identical in every process,
whichever thread first needs them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from lightcomp.analysis import illuminants
from lightcomp.analysis._ordered import ordered_matmul
from lightcomp.analysis.cct import CCT_Duv_Ohno2013
from lightcomp.analysis.spectra import WL, to_analysis_grid
from lightcomp.errors import AnalysisInputError

#: Spectra processed per block (bounds temporary memory; ~1000 keeps the (n, 99)
#: temporaries in cache).
CHUNK = 1024
#: Worker threads for the blocks (numpy releases the GIL in its array loops).
THREADS = max(1, min(2, os.cpu_count() or 1))

_POOL: ThreadPoolExecutor | None = None
_POOL_PID = 0
_POOL_LOCK = threading.Lock()
_LOCAL = threading.local()
_BLAS_LOCK = threading.Lock()
_BLAS_USERS = 0
_BLAS_LIMIT = None


def worker_pool() -> ThreadPoolExecutor:
    """The shared pool of :data:`THREADS` worker threads of the analysis core.

    A new pool is made in a forked child process (the parent's threads do not exist
    there).
    """
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_PID != os.getpid():
            _POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="lightcomp-cr")
            _POOL_PID = os.getpid()
        return _POOL


def in_worker() -> bool:
    """True inside a block run by :func:`run_parallel` (nested calls then stay serial)."""
    return getattr(_LOCAL, "serial", False)


@contextmanager
def _serial() -> Iterator[None]:
    previous = in_worker()
    _LOCAL.serial = True
    try:
        yield
    finally:
        _LOCAL.serial = previous


@lru_cache(maxsize=1)
def _openblas_local_setters() -> tuple[Callable[[int], int], ...]:
    """``openblas_set_num_threads_local`` (OpenBLAS 0.3.27+; returns the previous value)
    of *every* OpenBLAS loaded, in file-path order; () if none has it.

    Every one, not the first listed: a process that imported scipy.linalg, .stats or
    .spatial holds two (scipy's wheels bring their own 32-bit OpenBLAS beside numpy's
    64-bit one), and threadpoolctl lists them in an order that changes from run to run
    (measured: two of four ``PYTHONHASHSEED`` values put scipy's first). Limiting only
    the first left numpy's products on its default threads in those runs, and their
    rounding differs from one thread's: results then depended on the process's
    history (issue #15).
    """
    import ctypes

    setters = []
    for lib in sorted(_blas_libraries(), key=lambda c: str(getattr(c, "filepath", ""))):
        f = getattr(getattr(lib, "dynlib", None), "openblas_set_num_threads_local", None)
        if f is not None:
            f.restype, f.argtypes = ctypes.c_int, [ctypes.c_int]
            setters.append(f)
    return tuple(setters)


@lru_cache(maxsize=1)
def openblas_local_threads() -> Callable[[int], int] | None:
    """Set the calling thread's OpenBLAS thread count in every OpenBLAS loaded
    (:func:`_openblas_local_setters`); returns the previous value of the first. None for
    another BLAS or an older OpenBLAS."""
    setters = _openblas_local_setters()
    if not setters:
        return None

    def set_all(n: int) -> int:
        previous = [f(n) for f in setters]
        return previous[0]

    return set_all


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS on one thread in the calling thread while it runs our work (no
    oversubscription with our own worker threads, no thread wake-ups for small products).

    With OpenBLAS 0.3.27+ the limit is the calling thread's own
    (``openblas_set_num_threads_local``): it holds in any thread — the station calls
    the core from its worker thread, where OpenBLAS ignored the process-wide limit
    (measured: 4x the CPU time of the same Monte Carlo from the main thread) — and
    costs one C call per OpenBLAS loaded. Otherwise the process-wide limit through
    ``threadpoolctl``, or nothing without it.

    The limit also fixes the rounding: OpenBLAS's products differ in the last bits
    between 1 and 2 threads, so the core's products are bit-identical from one process
    to the next only because they always run on one (issue #15). The libraries are
    those loaded at the first call (numpy's always is).
    """
    local = _openblas_local_setters()
    if local:
        previous = [f(1) for f in local]
        try:
            yield
        finally:
            for f, n in zip(local, previous, strict=True):
                f(n)
        return
    global _BLAS_USERS, _BLAS_LIMIT
    libs = _blas_libraries()
    if not libs:  # pragma: no cover - optional speed-up
        yield
        return
    # Reference-counted: concurrent analyses set the limit once and restore it once.
    with _BLAS_LOCK:
        if _BLAS_USERS == 0:
            # The library controllers directly (a few ctypes calls, not a rescan).
            _BLAS_LIMIT = [(lib, lib.get_num_threads()) for lib in libs]
            for lib, n in _BLAS_LIMIT:
                if n != 1:
                    lib.set_num_threads(1)
        _BLAS_USERS += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_USERS -= 1
            if _BLAS_USERS == 0 and _BLAS_LIMIT is not None:
                for lib, n in _BLAS_LIMIT:
                    if n != 1:
                        lib.set_num_threads(n)
                _BLAS_LIMIT = None


@lru_cache(maxsize=1)
def _blas_libraries() -> tuple:
    """threadpoolctl's controllers of the BLAS libraries loaded (numpy's), or ()."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional speed-up
        return ()
    return tuple(c for c in ThreadpoolController().lib_controllers if c.user_api == "blas")


def run_parallel(blocks: list[slice], work: Callable[[slice], None]) -> None:
    """Call ``work(block)`` for each block, on up to :data:`THREADS` threads.

    Blocks must write disjoint rows of preallocated outputs. Calls made from inside
    a worker (e.g. CRI inside :func:`lightcomp.analysis.analyze`) run serially, so
    the pool is never waited on by its own threads. While the threads run, BLAS is
    limited to one thread (:func:`single_threaded_blas`).
    """

    def serial_work(blk: slice) -> None:
        with _serial(), single_threaded_blas():  # (the limit is per thread: set it here)
            work(blk)

    if in_worker():
        for blk in blocks:
            work(blk)
        return
    if THREADS <= 1 or len(blocks) <= 1:
        # Serial, but BLAS on one thread too: its own threads cost more than they save
        # on the products of a small batch (and contend with other processes' work).
        with single_threaded_blas():
            for blk in blocks:
                work(blk)
        return
    with single_threaded_blas():
        futures = [worker_pool().submit(serial_work, blk) for blk in blocks]
        try:
            for future in futures:
                future.result()
        finally:
            for future in futures:  # after an error: do not start the remaining blocks
                future.cancel()


def for_blocks(n: int, work: Callable[[slice], None]) -> None:
    """Call ``work(block)`` for consecutive row blocks of at most :data:`CHUNK` rows.

    Blocks write disjoint rows of preallocated outputs, so they run on up to
    :data:`THREADS` threads when there is more than one block (see
    :func:`run_parallel`).
    """
    run_parallel([slice(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)], work)


#: Segment limits of the reference table in mired (10^6/T): 25000, 7000, 5000, 4000, 1000 K.
_SEGMENTS_MIRED = (40.0, 1e6 / 7000.0, 200.0, 250.0, 1000.0)
_INNER_MIRED = np.array(_SEGMENTS_MIRED[1:-1])  # the segment limits searched per call
_NODES4 = np.arange(4)  # the 4 Lagrange nodes from a row's first node
#: Up to this many rows, :meth:`ReferenceTable.__call__` gathers the 4 nodes at once
#: (faster for small batches, slower for large ones; same floats).
_FEW_ROWS = 64
#: Maximum node spacing of the reference table (mired).
_STEP_MIRED = 0.5


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


#: Spectra whose largest |value| is outside this range are scaled to a peak of 1 first
#: (every colour-rendering quantity is scale-free; float32 products need it).
SCALE_RANGE = (1e-30, 1e30)


def normalise_scale(S: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``S`` with rows of extreme scale divided by their peak, and the factors (or None)."""
    peak = np.maximum(S.max(axis=1), -S.min(axis=1))
    extreme = ((peak > SCALE_RANGE[1]) | (peak < SCALE_RANGE[0])) & (peak > 0)
    if not extreme.any():
        return S, None
    factor = np.where(extreme, peak, 1.0)
    return S / factor[:, None], factor


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


def sample_matrix(samples: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Matrix (401, K*3) mapping a spectrum S to channel sums of each sample.

    ``samples`` (K, 401) spectral radiance factors, ``weights`` (401, 3) (CMFs or
    CMFs times a 3x3 matrix). Column ``c*K + i`` is channel c of sample i
    (channel-major, so a batch product reshapes to (N, 3, K)).
    """
    cols = weights.T[:, None, :] * samples[None, :, :]  # (3, K, 401)
    return np.ascontiguousarray(cols.reshape(-1, samples.shape[1]).T)


def reference_products(
    T: np.ndarray, method: str, P: np.ndarray, wl: np.ndarray = WL
) -> np.ndarray:
    """Exact ``reference(T) @ P`` with the reference normalised to Y_2deg = 1.

    Summed in a fixed order (:func:`lightcomp.analysis._ordered.ordered_matmul`): the
    same floats whatever the BLAS state of the calling thread.

    ``P`` (W, K) on the grid ``wl`` (default the 1 nm analysis grid) must have the
    CIE 1931 2° y_bar as column 0. Daylight is built from S0, S1, S2 (linear basis
    interpolation, M1/M2 unrounded); CIE 224 blends the Y-normalised components.
    Rows with an invalid temperature are NaN.
    """
    valid, w_p, w_d = illuminants.reference_weights(T, method)
    out = np.zeros((T.size, P.shape[1]))
    use_p = valid & (w_p > 0)
    use_d = valid & (w_d > 0)
    # Fixed-order sums, not BLAS: these products build the cached reference tables,
    # which must not carry the rounding of the first caller's BLAS threads (_ordered).
    if np.any(use_p):
        v = ordered_matmul(illuminants._planck_unchecked(wl, T[use_p]), P)
        out[use_p] += w_p[use_p, None] * (v / v[:, :1])
    if np.any(use_d):
        td = np.clip(T[use_d], 4000.0, 25000.0)
        coeff = illuminants._daylight_M(illuminants._daylight_xy_unchecked(td), False)
        v = ordered_matmul(coeff, ordered_matmul(illuminants.daylight_basis(wl), P))
        out[use_d] += w_d[use_d, None] * (v / v[:, :1])
    out[~valid] = np.nan
    return out


class ReferenceTable:
    """Reference-side quantities ``features(T) -> (n, K)`` tabulated in mired.

    Parameters
    ----------
    features : callable
        Exact evaluation for an array of temperatures (K) -> (n, K).
    dtype : numpy dtype
        Storage and interpolation precision (float32 for the CIE 224 test-side
        comparison, whose error budget allows it; see docs/performance.md).
    """

    def __init__(self, features: Callable[[np.ndarray], np.ndarray], dtype=np.float64) -> None:
        self.features = features
        self.dtype = np.dtype(dtype)
        nodes, seg_start, seg_n, seg_lo, seg_step = [], [], [], [], []
        offset = 0
        for lo, hi in zip(_SEGMENTS_MIRED[:-1], _SEGMENTS_MIRED[1:], strict=True):
            n_int = int(np.ceil((hi - lo) / _STEP_MIRED))
            m = lo + (hi - lo) * np.arange(n_int + 1) / n_int
            # Evaluate the end nodes just inside the segment (one-sided limits).
            m_eval = m.copy()
            m_eval[0] *= 1.0 + 1e-12
            m_eval[-1] *= 1.0 - 1e-12
            nodes.append(m_eval)
            seg_start.append(offset)
            seg_n.append(n_int + 1)
            seg_lo.append(lo)
            seg_step.append((hi - lo) / n_int)
            offset += n_int + 1
        self._seg_start = np.array(seg_start)
        self._seg_n = np.array(seg_n)
        self._seg_lo = np.array(seg_lo)
        self._seg_step = np.array(seg_step)
        self.table = np.ascontiguousarray(features(1e6 / np.concatenate(nodes)), dtype=dtype)
        self.table.setflags(write=False)

    def __call__(self, T: np.ndarray, where=None) -> np.ndarray:
        """Interpolated features for temperatures ``T`` (n,); NaN outside 1000-25000 K.

        ``where``: the result of :meth:`locate` for the same ``T`` (any table: they all
        share the nodes), so that several tables interpolate at one location cost.
        """
        valid, base, w = self.locate(T) if where is None else where
        w = w.astype(self.dtype, copy=False)
        t = self.table
        if base.size <= _FEW_ROWS:
            # A few rows (a station's unit, small batches): one gather and one product,
            # the same sum in the same order as below (bit-identical, tested), without
            # the dozen calls whose fixed cost dominates for one row.
            out = np.einsum("nj,njk->nk", w, t[base[:, None] + _NODES4])
            out[~valid] = np.nan
            return out
        # w0 t0 + w1 t1 + w2 t2 + w3 t3 (in this order), in place.
        out = np.take(t, base, axis=0)
        out *= w[:, 0:1]
        term = np.empty_like(out)
        for j in range(1, 4):  # the 4 Lagrange nodes (not a loop over spectra)
            np.take(t, base + j, axis=0, out=term)
            term *= w[:, j : j + 1]
            out += term
        out[~valid] = np.nan
        return out

    def locate(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(valid (n,), first node index (n,), Lagrange weights (n, 4)) for ``T`` (K)."""
        T = np.asarray(T, dtype=float)
        lo_k, hi_k = illuminants.REFERENCE_T_RANGE
        valid = np.isfinite(T) & (T >= lo_k) & (T <= hi_k)
        m = 1e6 / np.where(valid, T, 5000.0)
        m = np.minimum(np.maximum(m, _SEGMENTS_MIRED[0]), _SEGMENTS_MIRED[-1])
        # A value on an inner limit belongs to the segment on its higher-T side (so that
        # T = 5000 K is daylight in CIE 13.3), except 7000 K, which the daylight
        # formula puts in its 4000-7000 K branch.
        seg = np.searchsorted(_INNER_MIRED, m, side="left")
        seg[m == _SEGMENTS_MIRED[1]] = 1
        x = (m - self._seg_lo[seg]) / self._seg_step[seg]
        n_nodes = self._seg_n[seg]
        first = np.minimum(np.maximum(np.floor(x).astype(np.int64) - 1, 0), n_nodes - 4)
        # Cubic Lagrange weights at the local coordinate u (nodes at 0, 1, 2, 3):
        # w_j = prod over k != j of (u - k) / (j - k), from the columns u - k at once.
        d = (x - first)[:, None] - _NODES4  # (n, 4): u, u - 1, u - 2, u - 3
        w = np.empty_like(d)
        w[:, 0] = d[:, 1] * d[:, 2] * d[:, 3] / -6.0
        w[:, 1] = d[:, 0] * d[:, 2] * d[:, 3] / 2.0
        w[:, 2] = d[:, 0] * d[:, 1] * d[:, 3] / -2.0
        w[:, 3] = d[:, 0] * d[:, 1] * d[:, 2] / 6.0
        return valid, self._seg_start[seg] + first, w
