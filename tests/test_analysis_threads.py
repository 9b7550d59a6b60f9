"""The threaded chunking of lightcomp.analysis.analyze: same results, no deadlock, no leaks.

The reference here is the serial computation (one thread, one chunk): threads and
chunks must not change any quantity (beyond floating-point summation order in BLAS,
hence the tight tolerances) nor any error message.
"""

from __future__ import annotations

import os
import select
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import lightcomp.analysis as la
from lightcomp.analysis import WL, _cr_common, analyze


def _spectra(n: int, seed: int = 3) -> np.ndarray:
    """Phosphor-converted-LED-like spectra (blue peak + broad phosphor), a few bad rows."""
    rng = np.random.default_rng(seed)

    def g(mu, w):
        return np.exp(-4.0 * np.log(2.0) * ((WL - mu) / w) ** 2)

    s = rng.uniform(0.2, 1.0, (n, 1)) * g(rng.uniform(445, 460, (n, 1)), 20.0)
    s += rng.uniform(0.5, 1.2, (n, 1)) * g(rng.uniform(550, 600, (n, 1)), 110.0)
    s[5, 40] = np.nan  # rejected by the validation
    s[17] = 0.0  # all zero
    s[31] = -s[31]  # mostly negative
    return s


def _serial(monkeypatch, s: np.ndarray, **kw) -> pd.DataFrame:
    with monkeypatch.context() as m:
        m.setattr(_cr_common, "THREADS", 1)
        m.setattr(la, "CHUNK_SIZE", 10**9)
        m.setattr(_cr_common, "CHUNK", 10**9)
        return analyze(WL, s, **kw)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    # BLAS may sum in another order with another thread count: ~1e-13 relative. Rf and
    # Rg come from a float32 CAM02-UCS (docs/performance.md): such a 1e-13 difference can
    # round to the neighbouring float32, ~1e-7 relative, so they get 1e-4.
    f32 = ["Rf", "Rg"]
    pd.testing.assert_frame_equal(
        a.drop(columns=f32), b.drop(columns=f32), check_exact=False, rtol=1e-9, atol=1e-8
    )
    pd.testing.assert_frame_equal(a[f32], b[f32], check_exact=False, rtol=0, atol=1e-4)
    assert list(a["error"]) == list(b["error"])


def test_threads_and_chunks_do_not_change_results(monkeypatch):
    s = _spectra(300)
    serial = _serial(monkeypatch, s, absolute=True, power_w=1.5)
    # 3 rejected spectra, and 2 with |Duv| > 0.05: no CCT and no Ra/Rf, with the reason
    assert serial["error"].notna().sum() == 5
    assert serial["error"].str.contains(r"\|Duv\| = 0\.05\d* > 0\.05", na=False).sum() == 2
    monkeypatch.setattr(_cr_common, "THREADS", 2)
    monkeypatch.setattr(la, "CHUNK_SIZE", 64)  # 5 chunks on 2 threads
    monkeypatch.setattr(_cr_common, "CHUNK", 16)  # CRI/TM-30 blocks inside each chunk
    _assert_same(analyze(WL, s, absolute=True, power_w=1.5), serial)


def test_concurrent_callers_get_their_own_results(monkeypatch):
    """Several user threads calling analyze at once share the pool without deadlock."""
    monkeypatch.setattr(la, "CHUNK_SIZE", 64)
    batches = [_spectra(150, seed=k) for k in range(4)]
    expected = [_serial(monkeypatch, b) for b in batches]
    with ThreadPoolExecutor(max_workers=4) as ex:
        futures = [ex.submit(analyze, WL, b) for b in batches]
        got = [f.result(timeout=120) for f in futures]
    for g, e in zip(got, expected, strict=True):
        _assert_same(g, e)


def test_nested_parallel_call_runs_inline():
    if _cr_common.THREADS < 2:
        pytest.skip("one core: the analysis runs without worker threads")
    seen: list[tuple[bool, str]] = []
    lock = threading.Lock()

    def inner(blk: slice) -> None:
        with lock:
            seen.append((_cr_common.in_worker(), threading.current_thread().name))

    def outer(blk: slice) -> None:
        # From a worker: must not wait on the pool it runs in (would deadlock).
        _cr_common.run_parallel([slice(0, 1), slice(1, 2)], inner)

    _cr_common.run_parallel([slice(0, 1), slice(1, 2), slice(2, 3)], outer)
    assert len(seen) == 6
    assert all(flag and name.startswith("lightcomp-cr") for flag, name in seen)
    assert not _cr_common.in_worker()  # the caller's thread is not marked


def test_worker_error_propagates():
    def work(blk: slice) -> None:
        if blk.start == 2:
            raise ValueError("block 2 failed")

    with pytest.raises(ValueError, match="block 2 failed"):
        _cr_common.run_parallel([slice(i, i + 1) for i in range(4)], work)


def test_blas_thread_limit_is_restored():
    import threadpoolctl

    if _cr_common.THREADS < 2:
        pytest.skip("one core: the analysis runs without worker threads")

    def blas_threads() -> list[int]:
        return [
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        ]

    before = blas_threads()
    assert before, "numpy reports no BLAS library to limit"
    local = _cr_common.openblas_local_threads()
    if local is not None:
        # OpenBLAS 0.3.27+: the limit is each thread's own (it holds in any thread); the
        # setter returns the previous value, so setting 1 reads it without changing it.
        def read_local() -> int:
            previous = local(1)
            local(previous)
            return previous

        mine = read_local()
        inside_local: list[int] = []
        blocks = [slice(0, 1), slice(1, 2)]
        _cr_common.run_parallel(blocks, lambda blk: inside_local.append(read_local()))
        assert inside_local == [1, 1]  # on both worker threads
        assert read_local() == mine and blas_threads() == before  # nothing left behind
        return
    inside: list[list[int]] = []
    _cr_common.run_parallel([slice(0, 1), slice(1, 2)], lambda blk: inside.append(blas_threads()))
    assert blas_threads() == before
    assert all(v == [1] * len(before) for v in inside)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_pool_works_in_forked_child(monkeypatch):
    monkeypatch.setattr(la, "CHUNK_SIZE", 64)
    s = _spectra(200)
    parent = analyze(WL, s)  # creates the pool in this process
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's worker threads do not exist here
        code = 1
        try:
            child = analyze(WL, s)
            ok = np.allclose(child["Rf"], parent["Rf"], rtol=1e-12, equal_nan=True)
            code = 0 if ok else 3
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 120.0)
        if not ready:  # a hang (e.g. waiting on the parent's dead threads)
            os.kill(pid, signal.SIGKILL)
        status = os.read(read, 1) if ready else b"timeout"
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert status == bytes([0])
