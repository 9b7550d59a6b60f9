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
    return np.where(rng.random((m, 1)) < PC_FRACTION, pc, rgb)


#: The issue's mixed batch: four-fifths phosphor-converted whites, one-fifth RGB(A) mixes.
PC_FRACTION = 0.8


def led_spectra(n: int, seed: int = 0) -> np.ndarray:
    """``n`` white-LED spectra (n, 401), 2200-6500 K, |Duv| < 0.02, in W/nm-like units.

    Candidates are 4/5 pc-LED, 1/5 RGB(A) mixes; the CCT/Duv window keeps fewer RGB
    mixes than pc-LEDs, so the kept batch is re-balanced to exactly 4/5 : 1/5.
    """
    from lightcomp.analysis.cct import CCT_Duv_Ohno2013
    from lightcomp.analysis.data import load_cmfs

    global PC_FRACTION
    rng = np.random.default_rng(seed)
    cmf = load_cmfs("1931_2")
    n_pc = int(round(n * 0.8))
    parts = []
    for fraction, want in ((1.0, n_pc), (0.0, n - n_pc)):
        PC_FRACTION = fraction
        out, have = [], 0
        while have < want:  # batches bound memory; acceptance is roughly 30 %
            s = _candidates(min(4 * (want - have) + 100, 10_000), rng)
            xyz = s @ cmf
            den = xyz @ np.array([1.0, 15.0, 3.0])
            cct, duv = CCT_Duv_Ohno2013(np.stack([4 * xyz[:, 0] / den, 6 * xyz[:, 1] / den], 1))
            keep = s[(cct >= 2200) & (cct <= 6500) & (np.abs(duv) < 0.02)]
            out.append(keep)
            have += keep.shape[0]
        parts.append(np.concatenate(out)[:want])
    PC_FRACTION = 0.8
    spectra = np.concatenate(parts)[rng.permutation(n)]
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


def stage_profile(spectra, repeats: int = 3) -> dict:
    """CPU seconds per stage of the analysis of ``spectra`` (1 nm), one thread, best of ``repeats``.

    Stages called one by one, in the order the core runs them, on one chunk of
    ``CHUNK_SIZE`` spectra (the block size of the core: the temporaries stay in cache)
    and scaled to the batch; the rest of ``analyze_arrays`` on the whole batch (also on
    one thread: chunking, error bookkeeping, output table) is the difference.
    """
    from lightcomp.analysis import CHUNK_SIZE, _cr_common, analyze_arrays, batch, cri, tm30
    from lightcomp.analysis.cct import CCT_Duv_Ohno2013
    from lightcomp.analysis.colorimetry import (
        XYZ_to_uv_prime,
        XYZ_to_xy,
        dominant_wavelength_purity,
    )
    from lightcomp.analysis.spectra import (
        check_spectra,
        fwhm_grid,
        peak_wavelength_grid,
        to_analysis_grid,
    )

    full = spectra
    spectra = full[:CHUNK_SIZE]
    scale = len(full) / len(spectra)
    wl5 = WL[::5]
    s5 = spectra[:, ::5]

    def best(fn, factor=None):
        times = []
        for _ in range(repeats):
            t0 = time.thread_time()
            out = fn()
            times.append(time.thread_time() - t0)
        return min(times) * (scale if factor is None else factor), out

    stages = {}
    threads = _cr_common.THREADS
    _cr_common.THREADS = 1
    try:
        with _cr_common.single_threaded_blas():
            stages["validation"], _ = best(lambda: check_spectra(WL, spectra))
            stages["resampling (5 nm input)"], _ = best(lambda: to_analysis_grid(wl5, s5))
            stages["products S @ P (XYZ, TCS, CES)"], (V, V32) = best(
                lambda: batch.products(spectra)
            )
            xyz = V[:, :3]

            def colorimetry():
                xy = XYZ_to_xy(xyz)
                uvp = XYZ_to_uv_prime(xyz)
                return xy, uvp

            stages["colorimetry (xy, u'v', LER, S/P)"], (xy, uvp) = best(colorimetry)
            uv = np.stack([uvp[:, 0], uvp[:, 1] * (2.0 / 3.0)], axis=1)
            stages["CCT/Duv (Ohno 2013)"], (cct, _) = best(lambda: CCT_Duv_Ohno2013(uv))
            stages["reference tables (CRI + TM-30)"], (ref_cri, ref_tm) = best(
                lambda: (cri._reference_table()(cct), tm30._reference_table()(cct))
            )
            stages["CRI (test side, Ri)"], _ = best(
                lambda: cri.Ri_from_products(V[:, batch.COL_CRI], cct, ref_cri)
            )
            Vt = V32
            stages["CAM02-UCS (test side)"], _ = best(lambda: tm30._jab_block(Vt))
            t_all, _ = best(lambda: tm30.Rf_Rg_from_products(Vt, cct, ref_tm))
            stages["TM-30 dE, Rf, hue bins, Rg"] = max(t_all - stages["CAM02-UCS (test side)"], 0.0)
            stages["dominant wavelength, peak, FWHM"], _ = best(
                lambda: (
                    dominant_wavelength_purity(xy),
                    peak_wavelength_grid(spectra),
                    fwhm_grid(spectra),
                )
            )
            total, _ = best(lambda: analyze_arrays(WL, full), factor=1.0)
    finally:
        _cr_common.THREADS = threads
    parts = sum(v for key, v in stages.items() if not key.startswith("resampling"))
    stages["bookkeeping (chunks, errors, table)"] = max(total - parts, 0.0)
    return {"n": len(full), "total_cpu_s": total, "stages": stages}


def machine_ceiling() -> dict:
    """The machine's own limits, measured now: BLAS matmul GFLOP/s and np.exp throughput.

    Both on all cores (BLAS threads as configured; np.exp on two threads of 2 M
    elements each, the way the core runs), best of 5.
    """
    from concurrent.futures import ThreadPoolExecutor

    a = np.random.default_rng(0).random((1500, 1500))
    b = np.random.default_rng(1).random((1500, 1500))
    best = np.inf
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    gflops = 2 * 1500**3 / best / 1e9
    x = np.random.default_rng(2).random(2_000_000)
    out = [np.empty_like(x), np.empty_like(x)]
    best = np.inf
    with ThreadPoolExecutor(2) as pool:
        for _ in range(5):
            t0 = time.perf_counter()
            list(pool.map(lambda o: np.exp(x, out=o), out))
            best = min(best, time.perf_counter() - t0)
    return {"blas_gflops": gflops, "exp_per_s": 2 * x.size / best}


#: Work per spectrum that no implementation of the full set can avoid: the products
#: S @ P (401 x 350 multiply-adds) and the transcendental functions of CAM02-UCS on the
#: test side (99 samples: 3 x |x|^0.42 = log + exp, then ln(A/A_w), exp for J and M,
#: log1p for M', sqrt, arctan2 for the hue bins: about 12 per sample).
FLOPS_PER_SPECTRUM = 2 * 401 * 350
TRANSCENDENTALS_PER_SPECTRUM = 12 * 99


def ceiling_fraction(spectra_per_s: float, ceiling: dict) -> float:
    """Achieved rate over the rate if only the unavoidable work ran at the machine's limits."""
    t_min = (
        FLOPS_PER_SPECTRUM / (ceiling["blas_gflops"] * 1e9)
        + TRANSCENDENTALS_PER_SPECTRUM / ceiling["exp_per_s"]
    )
    return spectra_per_s * t_min


def small_batch_times(repeats: int = 300) -> dict:
    """Per-call wall time (ms) of analyze_arrays and analyze for 1 and 10 spectra.

    The minimum over ``repeats`` calls (the machine is shared: the minimum is the call's
    own cost, the median shows the load), after a warm-up.
    """
    from lightcomp.analysis import analyze, analyze_arrays

    s = led_spectra(10, seed=7)
    out = {}
    for name, fn in (("analyze_arrays", analyze_arrays), ("analyze", analyze)):
        for n in (1, 10):
            fn(WL, s[:n])
            t = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn(WL, s[:n])
                t.append(time.perf_counter() - t0)
            t = np.sort(t) * 1e3
            out[f"{name} N={n}"] = {"min_ms": float(t[0]), "median_ms": float(t[len(t) // 2])}
    return out


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
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--no-stages", action="store_true", help="skip the per-stage profile")
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

    ceiling = machine_ceiling()
    print(
        f"machine ceiling now: BLAS matmul {ceiling['blas_gflops']:.1f} GFLOP/s, "
        f"np.exp {ceiling['exp_per_s'] / 1e6:.0f} M/s (2 threads)"
    )
    small = small_batch_times()
    print(
        "small batches, per call (min / median ms): "
        + "; ".join(f"{k} {v['min_ms']:.2f} / {v['median_ms']:.2f}" for k, v in small.items())
    )
    stage = None
    if not args.no_stages:
        stage = stage_profile(spectra_all[: min(20_000, max(sizes))])
        tot = stage["total_cpu_s"]
        print(
            f"profile by stage, N = {stage['n']}, one thread, CPU s "
            f"(analyze_arrays {tot:.3f} s = {stage['n'] / tot:.0f} spectra/s per core):"
        )
        for key, v in stage["stages"].items():
            share = "" if key.startswith("resampling") else f" {100 * v / tot:5.1f} %"
            print(f"  {key:<38} {v:8.4f} s{share}")

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
    for res in rows:
        frac = ceiling_fraction(res["spectra_per_s"], ceiling)
        res["ceiling_fraction"] = frac
        print(
            f"N={res['n']}: {100 * frac:.0f} % of the machine's ceiling (the unavoidable "
            f"{FLOPS_PER_SPECTRUM / 1e3:.0f} kflop and {TRANSCENDENTALS_PER_SPECTRUM} exp/log "
            "per spectrum at the measured BLAS and np.exp rates)"
        )
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
                    "ceiling": ceiling,
                    "small_batches": small,
                    "stages": stage,
                    "load_before": load_before,
                    "load_after": load_after,
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
