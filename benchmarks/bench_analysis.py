"""Throughput benchmark of the vectorised analysis core (not a test).

Generates realistic white-LED spectra (phosphor-converted: InGaN blue + 1-3 broad
phosphors; RGB and RGBA mixes; 2200-6500 K, |Duv| < 0.02; 1 nm, 380-780 nm) and
times the full parameter set of :func:`lightcomp.analysis.analyze` (XYZ, xy, u'v',
CCT/Duv, Ra + R1..R15, TM-30 Rf/Rg, dominant wavelength, purity, peak, FWHM, LER,
S/P) for N = 1 000, 10 000, 100 000 spectra, next to peers on the *same* spectra in
the same run:

- colour-science: XYZ, CCT/Duv (Ohno 2013), CRI (Ra, Ri), TM-30 (Rf, Rg), one
  spectrum at a time (its API is per spectrum);
- luxpy (if importable): XYZ, CCT/Duv, CIE Ra, IES Rf/Rg, batched.

Peers run in a subprocess: by default this interpreter, or ``--peer-python`` (e.g.
a venv with numpy < 2.4 for luxpy). A peer that cannot be imported is skipped with
a message. Peers use a smaller N (``--peer-n``) because they are slow.

Prints spectra/second, the ratio to each peer and the peak memory (tracemalloc
peak of Python/numpy allocations, and process max RSS).

Usage::

    python benchmarks/bench_analysis.py --quick
    python benchmarks/bench_analysis.py --sizes 1000 10000 100000 --peer-n 300 \\
        --peer-python /path/to/venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

WL = np.arange(380.0, 781.0)


# -- spectra -------------------------------------------------------------------


def _gauss(mu: np.ndarray, fwhm: np.ndarray) -> np.ndarray:
    return np.exp(-4.0 * np.log(2.0) * ((WL - mu) / fwhm) ** 2)


def _candidates(m: int, rng: np.random.Generator) -> np.ndarray:
    def u(lo, hi):
        return rng.uniform(lo, hi, (m, 1))

    # InGaN blue with a slightly skewed (two-Gaussian) profile.
    mu_b = u(442, 462)
    blue = _gauss(mu_b, u(16, 24)) + 0.25 * _gauss(mu_b + 12, u(25, 35))
    pc = (
        u(0.12, 1.0) * blue
        + u(0.0, 1.0) * _gauss(u(520, 540), u(90, 110))  # LuAG / green
        + u(0.3, 1.2) * _gauss(u(550, 570), u(105, 125))  # YAG
        + u(0.0, 1.3) * _gauss(u(610, 655), u(75, 95))  # nitride red
    )
    rgb = (
        u(0.2, 1.0) * _gauss(u(445, 470), u(18, 26))
        + u(0.3, 1.0) * _gauss(u(515, 540), u(28, 38))
        + (rng.random((m, 1)) < 0.5) * u(0.1, 0.8) * _gauss(u(585, 595), u(14, 20))
        + u(0.3, 1.5) * _gauss(u(620, 635), u(16, 22))
    )
    return np.where(rng.random((m, 1)) < 0.7, pc, rgb)


def led_spectra(n: int, seed: int = 0) -> np.ndarray:
    """``n`` white-LED spectra (n, 401), 2200-6500 K, |Duv| < 0.02, in W/nm-like units."""
    from lightcomp.analysis.cct import CCT_Duv_Ohno2013
    from lightcomp.analysis.data import load_cmfs

    rng = np.random.default_rng(seed)
    cmf = load_cmfs("1931_2")
    out, have = [], 0
    while have < n:  # batches bound memory; acceptance is roughly 30 %
        s = _candidates(min(4 * (n - have) + 100, 10_000), rng)
        xyz = s @ cmf
        den = xyz @ np.array([1.0, 15.0, 3.0])
        cct, duv = CCT_Duv_Ohno2013(np.stack([4 * xyz[:, 0] / den, 6 * xyz[:, 1] / den], 1))
        keep = s[(cct >= 2200) & (cct <= 6500) & (np.abs(duv) < 0.02)]
        out.append(keep)
        have += keep.shape[0]
    spectra = np.concatenate(out)[:n]
    return spectra * rng.uniform(0.5, 2.0, (n, 1)) * 1e-3


# -- peers (run in a subprocess, may be another interpreter) -----------------------


def _peer_colour(spectra: np.ndarray) -> dict:
    import warnings

    import colour

    warnings.filterwarnings("ignore")
    shape = colour.SpectralShape(380, 780, 1)
    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"].copy().trim(shape)
    t0 = time.perf_counter()
    for s in spectra:
        sd = colour.SpectralDistribution(s, WL)
        XYZ = colour.sd_to_XYZ(sd, cmfs)
        colour.temperature.uv_to_CCT_Ohno2013(colour.UCS_to_uv(colour.XYZ_to_UCS(XYZ)))
        colour.colour_rendering_index(sd, additional_data=True)
        spec = colour.quality.colour_fidelity_index_ANSIIESTM3018(sd, additional_data=True)
        _ = spec.R_f, spec.R_g
    return {"seconds": time.perf_counter() - t0, "version": colour.__version__}


def _peer_luxpy(spectra: np.ndarray) -> dict:
    import luxpy as lx

    spd = np.vstack([WL, spectra])
    t0 = time.perf_counter()
    xyz = lx.spd_to_xyz(spd, cieobs="1931_2", relative=True)
    lx.xyz_to_cct(xyz, cieobs="1931_2", out="cct,duv")
    lx.cri.spd_to_cri(spd, cri_type="ciera", out="Rf,Rfi")
    lx.cri.spd_to_cri(spd, cri_type="ies-tm30", out="Rf,Rg")
    return {"seconds": time.perf_counter() - t0, "version": lx.__version__}


def peer_worker(name: str, path: str) -> None:
    spectra = np.load(path)
    fn = {"colour-science": _peer_colour, "luxpy": _peer_luxpy}[name]
    try:
        fn(spectra[: min(5, len(spectra))])  # warm-up (imports, caches)
        res = fn(spectra)
        res["n"] = len(spectra)
    except ImportError as exc:
        res = {"skipped": f"not importable: {exc}"}
    except Exception as exc:  # noqa: BLE001 - report any peer failure, keep the run
        res = {"skipped": f"failed: {type(exc).__name__}: {exc}"}
    print(json.dumps(res))


def run_peer(name: str, python: str, spectra: np.ndarray) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "spectra.npy")
        np.save(path, spectra)
        proc = subprocess.run(
            [python, os.path.abspath(__file__), "--peer-worker", name, "--spectra", path],
            capture_output=True,
            text=True,
            check=False,
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"peer process failed: {tail}"}
    return json.loads(lines[-1])


# -- lightcomp -----------------------------------------------------------------------


def time_lightcomp(spectra: np.ndarray, repeats: int) -> dict:
    from lightcomp.analysis import analyze

    analyze(WL, spectra[:50])  # warm-up: data tables, reference tables
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        frame = analyze(WL, spectra)
        best = min(best, time.perf_counter() - t0)
    # Peak memory in a separate run: tracemalloc slows allocation down.
    tracemalloc.start()
    analyze(WL, spectra)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    bad = int(frame["error"].notna().sum())
    return {"seconds": best, "peak_mib": peak / 2**20, "errors": bad, "n": len(spectra)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small N (1 000 and 5 000)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--peer-n", type=int, default=None, help="spectra per peer (default 300)")
    ap.add_argument("--peer-python", default=None, help="interpreter for the peers")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write results to this file")
    ap.add_argument("--peer-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--spectra", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peer_worker:
        peer_worker(args.peer_worker, args.spectra)
        return 0

    sizes = [1_000, 5_000] if args.quick else args.sizes
    peer_n = args.peer_n or (60 if args.quick else 300)
    spectra_all = led_spectra(max(sizes), seed=args.seed)
    print(f"{max(sizes)} white-LED spectra generated (380-780 nm, 1 nm); cores: {os.cpu_count()}")

    rows = []
    for n in sizes:
        res = time_lightcomp(spectra_all[:n], repeats=args.repeats if n <= 10_000 else 1)
        rows.append(res)
        print(
            f"lightcomp N={n:>7}: {n / res['seconds']:>10.0f} spectra/s "
            f"({res['seconds']:.3f} s, peak {res['peak_mib']:.0f} MiB, {res['errors']} rejected)"
        )

    peers = {}
    if not args.no_peers:
        python = args.peer_python or sys.executable
        for name in ("colour-science", "luxpy"):
            res = run_peer(name, python, spectra_all[:peer_n])
            peers[name] = res
            if "skipped" in res:
                print(f"{name}: skipped ({res['skipped']})")
            else:
                print(
                    f"{name} {res['version']} N={res['n']}: "
                    f"{res['n'] / res['seconds']:.1f} spectra/s ({res['seconds']:.2f} s)"
                )

    print()
    head = f"{'N':>8} {'spectra/s':>12}" + "".join(f" {'x ' + p:>18}" for p in peers)
    print(head)
    for res in rows:
        rate = res["n"] / res["seconds"]
        line = f"{res['n']:>8} {rate:>12.0f}"
        for p in peers.values():
            ratio = rate / (p["n"] / p["seconds"]) if "seconds" in p else float("nan")
            line += f" {ratio:>18.1f}"
        print(line)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS: {max_rss:.0f} MiB")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"lightcomp": rows, "peers": peers, "max_rss_mib": max_rss}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
