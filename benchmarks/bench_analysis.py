"""Throughput benchmark of the vectorised analysis core (not a test).

Generates realistic white-LED spectra (phosphor-converted: InGaN blue + 1-3 broad
phosphors; RGB and RGBA mixes; 2200-6500 K, |Duv| < 0.02; 1 nm, 380-780 nm) and
times the full parameter set of :func:`lightcomp.analysis.analyze` (XYZ, xy, u'v',
CCT/Duv, Ra + R1..R15, TM-30 Rf/Rg and hue bins, dominant wavelength, purity, peak,
FWHM, LER, S/P) for N = 1 000, 10 000, 100 000 spectra, next to peers on the *same*
spectra in the same run:

- colour-science: XYZ, CCT/Duv (Ohno 2013), CRI (Ra, Ri), TM-30 (Rf, Rg), one
  spectrum at a time (its API is per spectrum);
- luxpy (if importable): XYZ, CCT/Duv, CIE Ra, IES Rf/Rg, batched.

Peers run in a subprocess: by default this interpreter, or ``--peer-python`` (e.g.
a venv with numpy < 2.4 for luxpy). A peer that cannot be imported is skipped with
a message. Peers use a smaller N (``--colour-n``, ``--luxpy-n``) because they are
slow; luxpy is batched, so give it at least ~1000 spectra for a fair rate.

Printed table, one row per N: lightcomp spectra/s (best of ``--repeats``), wall
time, CPU time / wall time (about 2 when both cores work), the ratio to each peer's
spectra/s and whether the target ratio is met (x100 luxpy, x1000 colour-science),
the peak memory of the ``analyze`` call (tracemalloc peak of Python/numpy
allocations, on top of the input array whose size is shown too) and the max RSS of
the process that timed it (each N runs in a fresh process: interpreter, libraries,
input array and analyze together). The load average before/after is printed at
the end: the machine may be shared, so compare runs only at a similar load (CPU/wall
well below 2 means the second core was busy with other work).

Peer venv (luxpy needs numpy < 2.4, the project venv has a newer numpy)::

    python3.11 -m venv /tmp/peervenv
    /tmp/peervenv/bin/pip install "numpy<2.4" luxpy colour-science

(the peer subprocess runs only this file's peer functions: it needs numpy and the
peer library, not lightcomp).

Usage::

    python benchmarks/bench_analysis.py --quick
    python benchmarks/bench_analysis.py --sizes 1000 10000 100000 \\
        --peer-python /tmp/peervenv/bin/python --json bench.json
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
    c0, t0 = time.process_time(), time.perf_counter()
    for s in spectra:
        sd = colour.SpectralDistribution(s, WL)
        XYZ = colour.sd_to_XYZ(sd, cmfs)
        colour.temperature.uv_to_CCT_Ohno2013(colour.UCS_to_uv(colour.XYZ_to_UCS(XYZ)))
        colour.colour_rendering_index(sd, additional_data=True)
        spec = colour.quality.colour_fidelity_index_ANSIIESTM3018(sd, additional_data=True)
        _ = spec.R_f, spec.R_g
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "version": colour.__version__,
    }


def _peer_luxpy(spectra: np.ndarray) -> dict:
    import luxpy as lx

    spd = np.vstack([WL, spectra])
    c0, t0 = time.process_time(), time.perf_counter()
    xyz = lx.spd_to_xyz(spd, cieobs="1931_2", relative=True)
    lx.xyz_to_cct(xyz, cieobs="1931_2", out="cct,duv")
    lx.cri.spd_to_cri(spd, cri_type="ciera", out="Rf,Rfi")
    lx.cri.spd_to_cri(spd, cri_type="ies-tm30", out="Rf,Rg")
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "version": lx.__version__,
    }


def _max_rss_mib() -> float:
    """Peak resident memory of this process (MiB).

    VmHWM from /proc (Linux): unlike ``ru_maxrss`` it is not inherited from the
    parent across fork + exec, so a fresh worker shows its own peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peer_worker(name: str, path: str, repeats: int) -> None:
    spectra = np.load(path)
    if name == "lightcomp":  # errors here are real failures: let them show
        res = time_lightcomp(spectra, repeats)
        res["max_rss_mib"] = _max_rss_mib()
        print(json.dumps(res))
        return
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


def run_peer(name: str, python: str, spectra: np.ndarray, repeats: int = 1) -> dict:
    """Run ``name`` (a peer, or lightcomp itself) on ``spectra`` in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "spectra.npy")
        np.save(path, spectra)
        proc = subprocess.run(
            [python, os.path.abspath(__file__), "--peer-worker", name, "--spectra", path]
            + ["--repeats", str(repeats)],
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
    """Best-of-``repeats`` wall time of ``analyze`` on ``spectra``, its CPU time and peak memory."""
    from lightcomp.analysis import analyze

    analyze(WL, spectra[:50])  # warm-up: data tables, reference tables, worker threads
    best, cpu = np.inf, np.nan
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        frame = analyze(WL, spectra)
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    # Peak memory in a separate run: tracemalloc slows allocation down.
    tracemalloc.start()
    analyze(WL, spectra)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    bad = int(frame["error"].notna().sum())
    return {
        "n": len(spectra),
        "seconds": best,
        "cpu_seconds": cpu,
        "spectra_per_s": len(spectra) / best,
        "peak_mib": peak / 2**20,
        "input_mib": spectra.nbytes / 2**20,
        "errors": bad,
    }


#: Target ratios from the issue (lightcomp spectra/s over the peer's, on 2 cores).
TARGETS = {"luxpy": 100.0, "colour-science": 1000.0}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _threads() -> str:
    from lightcomp.analysis import _cr_common

    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{i['internal_api']} {i['num_threads']} threads"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        )
    except ImportError:
        blas = "threadpoolctl not installed: BLAS threads not limited in the workers"
    return (
        f"analysis worker threads: {_cr_common.THREADS}; BLAS: {blas} "
        "(limited to 1 while analyze's worker threads run)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small N (1 000 and 5 000)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--peer-n", type=int, default=None, help="spectra for both peers")
    ap.add_argument("--colour-n", type=int, default=None, help="spectra for colour-science")
    ap.add_argument("--luxpy-n", type=int, default=None, help="spectra for luxpy")
    ap.add_argument("--peer-python", default=None, help="interpreter for the peers")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--repeats", type=int, default=3, help="lightcomp runs per N (best)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write results to this file")
    ap.add_argument("--peer-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--spectra", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peer_worker:
        peer_worker(args.peer_worker, args.spectra, args.repeats)
        return 0

    sizes = [1_000, 5_000] if args.quick else args.sizes
    peer_n = {
        "colour-science": args.colour_n or args.peer_n or (30 if args.quick else 100),
        "luxpy": args.luxpy_n or args.peer_n or (200 if args.quick else 1000),
    }
    load_before = _load()
    spectra_all = led_spectra(max(max(sizes), *peer_n.values()), seed=args.seed)
    print(
        f"{len(spectra_all)} white-LED spectra generated (380-780 nm, 1 nm); "
        f"cores: {os.cpu_count()}; load average (1, 5, 15 min): {load_before}"
    )
    print(_threads())

    rows = []
    for n in sizes:
        # Each N in a fresh process, so that its max RSS is that of analyze on N spectra.
        res = run_peer("lightcomp", sys.executable, spectra_all[:n], repeats=args.repeats)
        if "skipped" in res:
            raise SystemExit(f"lightcomp N={n} failed: {res['skipped']}")
        rows.append(res)
        print(
            f"lightcomp N={n:>7}: {res['spectra_per_s']:>8.0f} spectra/s "
            f"({res['seconds']:.3f} s, CPU/wall {res['cpu_seconds'] / res['seconds']:.2f}, "
            f"peak {res['peak_mib']:.0f} MiB, max RSS {res['max_rss_mib']:.0f} MiB, "
            f"{res['errors']} rejected)"
        )

    peers = {}
    if not args.no_peers:
        python = args.peer_python or sys.executable
        for name in ("colour-science", "luxpy"):
            res = run_peer(name, python, spectra_all[: peer_n[name]])
            peers[name] = res
            if "skipped" in res:
                print(f"{name}: skipped ({res['skipped']})")
            else:
                res["spectra_per_s"] = res["n"] / res["seconds"]
                print(
                    f"{name} {res['version']} N={res['n']}: "
                    f"{res['spectra_per_s']:.1f} spectra/s ({res['seconds']:.2f} s, "
                    f"CPU/wall {res['cpu_seconds'] / res['seconds']:.2f})"
                )

    print()
    print(
        "spectra/s = N / best wall time; per CPU-s = N / CPU time (all threads): less\n"
        "sensitive to other load; 'x peer' = lightcomp spectra/s over the peer's (target in\n"
        "brackets), 'x peer CPU' the same on CPU time."
    )
    ratio_heads = "".join(
        f" {'x ' + p + ' (' + format(TARGETS[p], 'g') + ')':>22} {'x ' + p + ' CPU':>18}"
        for p in peers
    )
    head = (
        f"{'N':>8} {'spectra/s':>10} {'wall s':>7} {'CPU/wall':>8} {'per CPU-s':>10}"
        + ratio_heads
        + f" {'peak MiB':>9} {'input MiB':>10} {'max RSS MiB':>12}"
    )
    print(head)
    print("-" * len(head))
    for res in rows:
        per_cpu = res["n"] / res["cpu_seconds"]
        line = (
            f"{res['n']:>8} {res['spectra_per_s']:>10.0f} {res['seconds']:>7.3f} "
            f"{res['cpu_seconds'] / res['seconds']:>8.2f} {per_cpu:>10.0f}"
        )
        for name, p in peers.items():
            if "spectra_per_s" in p:
                ratio = res["spectra_per_s"] / p["spectra_per_s"]
                verdict = "met" if ratio >= TARGETS[name] else "NOT met"
                ratio_cpu = per_cpu / (p["n"] / p["cpu_seconds"])
                line += f" {f'{ratio:.0f} {verdict}':>22} {ratio_cpu:>18.0f}"
            else:
                line += f" {'skipped':>22} {'':>18}"
        line += f" {res['peak_mib']:>9.0f} {res['input_mib']:>10.0f} {res['max_rss_mib']:>12.0f}"
        print(line)
    max_rss = _max_rss_mib()
    load_after = _load()
    print(
        f"this process' max RSS: {max_rss:.0f} MiB (generating the spectra); "
        f"load average before: {load_before}, after: {load_after}"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "lightcomp": rows,
                    "peers": peers,
                    "targets": TARGETS,
                    "max_rss_mib": max_rss,
                    "load_before": load_before,
                    "load_after": load_after,
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
