"""Matrix products summed in one fixed order, for the constants the core caches.

Why not ``a @ b``: a BLAS product's rounding depends on the state of the process, not
only on its inputs. Measured with numpy's OpenBLAS 0.3.31 (Haswell kernels): the same
(14, 81) x (81, 401) product of the CIE 13.3 test colour samples and the Sprague
operator gives different last bits on 2 BLAS threads (the main thread's default) and
on 1 (inside ``_cr_common.single_threaded_blas``, where ``analyze`` runs), and a row
of ``S @ M`` changes with the number of rows around it. The cached tables (the TCS on
the 1 nm grid, the CIE 13.3 and CIE 224 reference tables, the Planckian locus) were
therefore built with whatever rounding the *first* caller's thread had, and every
result computed from them carried it: the same spectrum analysed in a fresh process
and after other work differed in the last bits.

:func:`ordered_matmul` sums each dot product from the first term to the last, one
IEEE 754 multiplication and one addition at a time (numpy ufuncs on float64: each
element a correctly rounded basic operation, IEEE 754-2019 §5.4.1, whichever SIMD
path, memory alignment or thread computes it; no fused multiply-add). The result is
then a function of the operands alone. It costs more than BLAS (measured: the CIE 224
reference table 28 ms -> 158 ms, a fresh process's first ``analyze_arrays`` call 61 ms
-> 186 ms, once per process) and is meant for constants, not for the batch products of
the spectra, which stay BLAS products on one BLAS thread
(``_cr_common.single_threaded_blas``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ordered_matmul"]

#: Up to this many output columns the sums run along the rows as running sums
#: (``np.add.accumulate``: its partial sums are by definition left to right), so that a
#: long, narrow product (the Planckian locus: (n, 471) x (471, 3)) costs a few calls
#: instead of one per term. Both routes give the same floats (tested).
_NARROW = 8


def ordered_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for ``a`` (n, k) or (k,) and ``b`` (k, m), each element summed in order.

    ``out[i, j] = (...((a[i, 0] b[0, j] + a[i, 1] b[1, j]) + a[i, 2] b[2, j]) + ...)``,
    every product and sum rounded separately: bit-identical whatever ran before in
    the process (BLAS threads, other work) and wherever the arrays lie in memory.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    vector = a.ndim == 1
    a2 = a[None, :] if vector else a
    if a2.ndim != 2 or b.ndim != 2 or a2.shape[1] != b.shape[0] or b.shape[0] == 0:
        raise ValueError(f"ordered_matmul: cannot multiply {a.shape} by {b.shape}")
    n, k = a2.shape
    m = b.shape[1]
    if m <= _NARROW:
        out = np.empty((n, m))
        for j in range(m):  # output columns (a few), not terms
            out[:, j] = np.add.accumulate(a2 * b[:, j], axis=1)[:, -1]
    else:
        out = a2[:, 0:1] * b[0:1, :]
        term = np.empty_like(out)
        for i in range(1, k):  # the terms, in order (k: a table's grid, <= 471)
            np.multiply(a2[:, i : i + 1], b[i : i + 1, :], out=term)
            out += term
    return out[0] if vector else out
