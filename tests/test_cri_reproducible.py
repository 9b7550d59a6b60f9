"""The CIE 13.3 reference table and analyze's results do not depend on the process's
history, bit for bit (issue #15).

The cached tables (the TCS on the 1 nm grid, the CIE 13.3 and CIE 224 reference
tables, the Planckian locus) were built by BLAS products whose rounding depends on the
BLAS thread count of the thread that first needed them: built in the main thread (2
OpenBLAS threads) they differed in the last bits from the same tables built inside
``analyze``'s workers (1 thread). They are now summed in a fixed order
(``lightcomp.analysis._ordered``). Each history below runs in its own process and
this test process, after its own other work, must agree with them to the last bit
(md5 of the raw float64 bytes).

Run as a script (``python tests/test_cri_reproducible.py HISTORY``), this file prints
the fingerprint of one history as JSON.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _led_spectra import led_spectra

from lightcomp.analysis import _cr_common, analyze_arrays, batch, cct, cri, tm30
from lightcomp.analysis._ordered import ordered_matmul
from lightcomp.analysis.spectra import WL


def _md5(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.md5(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes()).hexdigest()


def _tables() -> dict[str, str]:
    return {
        "cri reference table": _md5(cri._reference_table().table),
        "cri reference table 5 nm": _md5(cri._reference_table_5nm().table),
        "TCS 1 nm": _md5(cri.TCS_CIE13_3()),
        "product matrix": _md5(batch.product_matrix()),
        "tm30 reference table": _md5(tm30._reference_table().table),
        "tm30 reference table float32": _md5(tm30._reference_table32().table),
        "Planckian locus table": _md5(cct._planck_table()[1]),
    }


def _results() -> dict[str, str]:
    """analyze_arrays and CRI_CIE13_3 on fixed spectra: 1 nm, native 5 nm, resampled 2 nm."""
    S = led_spectra(40, seed=15)
    wl2 = np.arange(380.0, 781.0, 2.0)
    S2 = np.stack([np.interp(wl2, WL, s) for s in S])
    out = {}
    for name, wl, s in (("1 nm", WL, S), ("5 nm", WL[::5], S[:, ::5]), ("2 nm", wl2, S2)):
        res = analyze_arrays(wl, s)
        out[f"analyze {name}"] = _md5(np.stack([v for k, v in res.items() if k != "error"]))
        Ra, Ri = cri.CRI_CIE13_3(wl, s)
        out[f"CRI_CIE13_3 {name}"] = _md5(np.hstack([Ra[:, None], Ri]))
    return out


def fingerprint(history: str) -> dict[str, str]:
    """md5 of the tables and results after ``history``:

    - ``main-2-threads``: the tables built first, in the main thread, BLAS on 2 threads
      (the default on a 2-core machine, forced so that it holds on any machine);
    - ``after-analyze``: an unrelated batch analysed first, so the tables are built in
      the analysis workers with BLAS on one thread;
    - ``scipy-blas-listed-first``: scipy's OpenBLAS loaded and listed before numpy's;
    - ``as-is``: whatever this process did before.
    """
    if history == "main-2-threads":
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=2, user_api="blas"):
            tables = _tables()
        return tables | _results()
    if history == "after-analyze":
        rng = np.random.default_rng(7)
        analyze_arrays(WL[::5], led_spectra(300, seed=3)[:, ::5] * rng.uniform(1, 2, (300, 1)))
        analyze_arrays(WL, led_spectra(70, seed=4))
        return _results() | _tables()
    if history == "scipy-blas-listed-first":
        # scipy's wheels bring their own OpenBLAS; threadpoolctl lists it before numpy's
        # in some runs (the order follows PYTHONHASHSEED): the core must limit numpy's
        # threads whatever the order. numpy's default (2 threads) forced as above.
        import scipy.stats  # noqa: F401  (loads scipy's OpenBLAS)
        from threadpoolctl import threadpool_limits

        listed = _cr_common._blas_libraries()
        _cr_common._blas_libraries = lambda: tuple(reversed(listed))
        threadpool_limits(limits=2, user_api="blas")
        return _results() | _tables()
    if history == "as-is":
        return _tables() | _results()
    raise ValueError(history)


def _in_fresh_process(history: str) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), history],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_tables_and_results_do_not_depend_on_the_process_history():
    # This process's other work first (whatever earlier tests did, plus this): other
    # grids, sizes and functions, some on the main thread with BLAS on its default threads.
    analyze_arrays(WL, led_spectra(5, seed=99))
    tm30.TM30_CIE224(WL, led_spectra(3, seed=98))
    cct.CCT_to_uv_Planck(np.array([2700.0, 6500.0]))
    here = fingerprint("as-is")
    for history in ("main-2-threads", "after-analyze", "scipy-blas-listed-first"):
        other = _in_fresh_process(history)
        differ = sorted(k for k in here if other[k] != here[k])
        assert not differ, f"{history}: {differ} differ from this process's"


def _left_to_right(a: np.ndarray, b: np.ndarray, i: int, j: int) -> float:
    s = float(a[i, 0]) * float(b[0, j])
    for t in range(1, a.shape[1]):
        s += float(a[i, t]) * float(b[t, j])  # Python floats: one rounding per operation
    return s


@pytest.mark.parametrize("m", [3, 8, 9, 49])
def test_ordered_matmul_sums_left_to_right_whatever_the_memory(m):
    rng = np.random.default_rng(m)
    a = rng.normal(size=(37, 401)) * rng.lognormal(0, 5, (37, 401))
    b = rng.normal(size=(401, m))
    out = ordered_matmul(a, b)
    assert out.shape == (37, m)
    for i, j in ((0, 0), (5, m - 1), (36, m // 2)):
        assert out[i, j] == _left_to_right(a, b, i, j)
    # The same floats from unaligned and strided copies, row by row, and as a vector.
    buf = np.empty(a.size + 1)
    shifted = buf[1:].reshape(a.shape)
    shifted[:] = a
    assert np.array_equal(ordered_matmul(shifted, b), out)
    wide = np.zeros((37, 802))
    wide[:, ::2] = a
    assert np.array_equal(ordered_matmul(wide[:, ::2], b), out)
    assert np.array_equal(ordered_matmul(a[5], b), out[5])
    assert np.allclose(out, a @ b, rtol=1e-12, atol=1e-12 * np.abs(a) @ np.abs(b))


def test_ordered_matmul_routes_agree(monkeypatch):
    # Narrow products run as running sums along the rows, wide ones term by term: the
    # same sums in the same order, so the same floats.
    from lightcomp.analysis import _ordered

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(50, 471)), rng.normal(size=(471, 3))
    narrow = ordered_matmul(a, b)
    monkeypatch.setattr(_ordered, "_NARROW", 0)
    assert np.array_equal(ordered_matmul(a, b), narrow)
    with pytest.raises(ValueError, match="cannot multiply"):
        ordered_matmul(a, b.T)


def test_single_threaded_blas_is_what_the_5nm_cri_uses():
    # CRI_CIE13_3 on 5 nm input runs its BLAS products on one thread, as analyze's
    # workers do: the same floats whatever the process's BLAS threads.
    from threadpoolctl import threadpool_limits

    S = led_spectra(30, seed=5)[:, ::5]
    with threadpool_limits(limits=1, user_api="blas"):
        one = cri.CRI_CIE13_3(WL[::5], S)
    with threadpool_limits(limits=2, user_api="blas"):
        two = cri.CRI_CIE13_3(WL[::5], S)
    assert all(np.array_equal(x, y) for x, y in zip(one, two, strict=True))


if __name__ == "__main__":
    print(json.dumps(fingerprint(sys.argv[1])))
