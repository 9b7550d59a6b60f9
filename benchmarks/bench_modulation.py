"""Throughput of the VLC modulation analysis (not a test).

Times :func:`lightcomp.analysis.modulation.transfer_function` (batched least-squares
lock-in of stimulus and response records) and :func:`edge_times` on synthetic
records, next to peers measured in the same run on the same records:

- scipy ``curve_fit`` of ``c + a cos + b sin`` per record (what a per-record fit
  looks like), on a subset, and
- a per-record ``numpy.linalg.lstsq`` loop (the same algebra without batching).

Prints records/s, the ratio to each peer, and the load average before/after (the
machine may be shared: compare runs at a similar load).

Usage::

    python benchmarks/bench_modulation.py [--n 20000] [--points 2000] [--peer-n 500]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.optimize import curve_fit

from lightcomp.analysis import modulation as mod


def records(n: int, points: int, rng: np.random.Generator):
    f = np.logspace(5, 8, n)
    t = (np.arange(points) / points)[None, :] * (4.3 / f[:, None])
    w = 2 * np.pi * f[:, None] * t
    h = 1 / (1 + 1j * f / 20e6)
    stim = 0.1 * np.cos(w) + 1e-3 * rng.standard_normal((n, points))
    resp = 0.3 * np.abs(h)[:, None] * np.cos(w + np.angle(h)[:, None]) + 0.5
    return f, t, stim, resp + 1e-3 * rng.standard_normal((n, points))


def best(fn, repeats: int = 3) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def peer_curve_fit(f, t, stim, resp):
    def amp(tk, yk, fk):
        def model(x, c, a, b):
            return c + a * np.cos(2 * np.pi * fk * x) + b * np.sin(2 * np.pi * fk * x)

        p, _ = curve_fit(model, tk, yk, p0=(0.0, 0.1, 0.0))
        return p[1] - 1j * p[2]

    return np.array([amp(t[k], resp[k], f[k]) / amp(t[k], stim[k], f[k]) for k in range(f.size)])


def peer_lstsq(f, t, stim, resp):
    out = np.empty(f.size, complex)
    for k in range(f.size):
        ph = 2 * np.pi * f[k] * t[k]
        a = np.stack([np.ones_like(ph), np.cos(ph), np.sin(ph)], axis=1)
        cs = np.linalg.lstsq(a, stim[k], rcond=None)[0]
        cr = np.linalg.lstsq(a, resp[k], rcond=None)[0]
        out[k] = (cr[1] - 1j * cr[2]) / (cs[1] - 1j * cs[2])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="records for lightcomp")
    ap.add_argument("--points", type=int, default=2000, help="samples per record")
    ap.add_argument("--peer-n", type=int, default=500, help="records for the peers")
    args = ap.parse_args()
    load0 = os.getloadavg()
    rng = np.random.default_rng(0)
    f, t, s, r = records(args.n, args.points, rng)

    # chunks of 1000 keep the (N, points, 3) basis in cache-sized pieces
    def ours():
        return np.concatenate(
            [
                mod.transfer_function(
                    t[i : i + 1000], s[i : i + 1000], r[i : i + 1000], f[i : i + 1000]
                )
                for i in range(0, args.n, 1000)
            ]
        )

    h = ours()
    t_ours = best(ours)
    m = args.peer_n
    sub = (f[:m], t[:m], s[:m], r[:m])
    h_lsq = peer_lstsq(*sub)
    h_cf = peer_curve_fit(*sub)
    assert np.allclose(h[:m], h_lsq, rtol=1e-9) and np.allclose(h[:m], h_cf, rtol=1e-6)
    t_lsq = best(lambda: peer_lstsq(*sub), 1)
    t_cf = best(lambda: peer_curve_fit(*sub), 1)
    rate = args.n / t_ours
    print(f"records: {args.n} x {args.points} samples (peers: {m})")
    print(f"lightcomp transfer_function : {rate:12.0f} records/s")
    print(
        f"numpy lstsq per record      : {m / t_lsq:12.0f} records/s  ratio x{rate / (m / t_lsq):.1f}"
    )
    print(
        f"scipy curve_fit per record  : {m / t_cf:12.0f} records/s  ratio x{rate / (m / t_cf):.1f}"
    )
    # edges: square responses of a first-order system
    period = 2e-6
    tt = np.arange(args.points) * (2 * period / args.points)
    tau = np.linspace(10e-9, 80e-9, args.n)[:, None]
    ph = np.mod(tt, period)
    y = np.where(ph < period / 2, 1 - np.exp(-ph / tau), np.exp(-(ph - period / 2) / tau))
    t_e = best(lambda: mod.edge_times(tt, y))
    print(f"lightcomp edge_times        : {args.n / t_e:12.0f} records/s")
    print(f"load average before {load0[0]:.2f}, after {os.getloadavg()[0]:.2f} (2 cores)")


if __name__ == "__main__":
    main()
