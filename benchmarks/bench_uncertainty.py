"""Benchmark of the GUM S1 Monte Carlo of one component (not a test).

Three figures in the same run, on the same component (a synthetic 4000 K-ish
pc-LED of 1200 lm, 36 V / 0.35 A, plate at 25 °C):

- **MC**: :func:`lightcomp.uncertainty.monte_carlo` with M trials (default
  10 000), one batch, the full quantity set (every column of the analysis core
  plus V, I, P, temperature), no budget — drawing, analysis and statistics;
- **analyze**: :func:`lightcomp.analysis.analyze` on M independent spectra (the
  same size batch through the public table API). Target: MC / analyze <= 1.2
  (no overhead beyond the core);
- **luxpy trial by trial** (the EMPIR 19NRM02 toolbox's way): each trial drawn
  alone (the same model, :func:`lightcomp.uncertainty.montecarlo.draw` with M = 1)
  and evaluated with luxpy (XYZ, Yxy, u'v', CCT/Duv, CIE Ra + Ri, IES TM-30 Rf/Rg,
  dominant wavelength, radiant/luminous flux, LER), in a subprocess of
  ``--peer-python`` (luxpy needs numpy < 2.4), for ``--luxpy-trials`` trials; its
  rate is extrapolated to M. Target: >= 200x.

The load average before and after is printed: the machine may be shared.

``--station N``: the time the Monte Carlo adds per component on the simulated lab.
Two batches of N units of the shipped demo plan (no ``[uncertainty]`` section: the
default model, M = 10 000 per batch, adaptive to 2 significant digits, budget
9 x 2000) on the same lab and calibration: first with the plan's own trial counts,
then with the quick ones of the simulated clock (QUICK_MC). Per unit: wall time, the
worker's computing time, the time the station waited for it (what the Monte Carlo
adds), the trials, against the units' simulated instrument time (LM-79 stabilisation
on the virtual clock).

Usage::

    python benchmarks/bench_uncertainty.py [--trials 10000] [--repeats 5] \\
        [--peer-python /work/peervenv/bin/python] [--luxpy-trials 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def component():
    """The benchmark component's inputs (deterministic)."""
    from lightcomp.analysis import WL
    from lightcomp.analysis.data import load_cmfs
    from lightcomp.uncertainty import ComponentInputs
    from lightcomp.uncertainty.montecarlo import planck_shape

    def g(mu, fwhm):
        return np.exp(-4.0 * np.log(2.0) * ((WL - mu) / fwhm) ** 2)

    s = 0.55 * g(452.0, 20.0) + g(550.0, 110.0) + 0.45 * g(625.0, 85.0)
    s *= 1200.0 / (683.0 * s @ load_cmfs("1931_2")[:, 1])
    return ComponentInputs(
        WL,
        s,
        lamp_spectrum=0.01 * planck_shape(WL),
        lamp_u_rel_k2=0.02,
        lamp_total_u_rel_k2=0.01,
        readings={"voltage_v": 36.0, "current_a": 0.35, "power_w": 12.6, "tc_c": 25.0},
    )


def luxpy_worker(trials: int) -> None:
    """Peer: the same Monte Carlo, one trial at a time, quantities by luxpy."""
    import luxpy as lx

    from lightcomp.uncertainty import UncertaintyModel
    from lightcomp.uncertainty.montecarlo import draw

    inp = component()
    model = UncertaintyModel()
    rng = np.random.default_rng(19)

    def one() -> list[float]:
        s, readings = draw(inp, model, 1, rng)
        spd = np.vstack([inp.wavelengths, s])
        xyz = lx.spd_to_xyz(spd, cieobs="1931_2", relative=False)
        lx.xyz_to_Yxy(xyz)
        lx.xyz_to_Yuv(xyz)
        cct, duv = lx.xyz_to_cct(xyz, cieobs="1931_2", out="cct,duv")
        ra, _ri = lx.cri.spd_to_cri(spd, cri_type="ciera", out="Rf,Rfi")
        rf, rg = lx.cri.spd_to_cri(spd, cri_type="ies-tm30", out="Rf,Rg")
        lx.xyz_to_Ydlep(xyz)
        flux = lx.spd_to_power(spd, "pu")
        lx.spd_to_power(spd, "ru")
        lx.spd_to_ler(spd)
        return [float(flux[0, 0]), float(cct[0, 0]), float(ra[0, 0]), float(rf[0, 0])]

    one()  # warm-up (imports, caches)
    t0 = time.perf_counter()
    vals = [one() for _ in range(trials)]
    dt = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "seconds": dt,
                "trials": trials,
                "version": lx.__version__,
                "flux_mean": float(np.mean([v[0] for v in vals])),
            }
        )
    )


def run_luxpy(python: str, trials: int) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [python, os.path.abspath(__file__), "--luxpy-worker", str(trials)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": tail}
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--peer-python", default="/work/peervenv/bin/python")
    ap.add_argument("--luxpy-trials", type=int, default=60)
    ap.add_argument("--luxpy-worker", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--station", type=int, default=None, metavar="N")
    args = ap.parse_args()
    if args.luxpy_worker is not None:
        luxpy_worker(args.luxpy_worker)
        return
    if args.station is not None:
        station_timing(args.station)
        return

    from lightcomp.analysis import analyze
    from lightcomp.uncertainty import UncertaintyModel, monte_carlo
    from lightcomp.uncertainty.montecarlo import draw

    load0 = os.getloadavg()
    m = args.trials
    inp = component()
    model = UncertaintyModel(trials=m, adaptive=False)
    # M independent spectra for analyze: the model's own draws (realistic, all valid).
    spectra, readings = draw(inp, model, m, np.random.default_rng(1))
    analyze(inp.wavelengths, spectra[:64], absolute=True, power_w=readings["power_w"][:64])
    monte_carlo(inp, model.with_(trials=200), budget=False)  # warm-up

    t_mc, t_an, c_mc, c_an = [], [], [], []
    for _ in range(args.repeats):  # interleaved so that both see the same load
        t0, c0 = time.perf_counter(), time.process_time()
        res = monte_carlo(inp, model, budget=False)
        t_mc.append(time.perf_counter() - t0)
        c_mc.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        analyze(inp.wavelengths, spectra, absolute=True, power_w=readings["power_w"])
        t_an.append(time.perf_counter() - t0)
        c_an.append(time.process_time() - c0)
    mc, an = min(t_mc), min(t_an)
    pairs = sorted(a / b for a, b in zip(t_mc, t_an, strict=True))
    draw_s = drawing_time(inp, model, args.repeats)
    lux = run_luxpy(args.peer_python, args.luxpy_trials)
    load1 = os.getloadavg()

    print(
        f"component MC, M = {m} trials, {len(res.stats)} quantities each (best of {args.repeats})"
    )
    print(f"  lightcomp MC            {mc:8.3f} s   {m / mc:10.0f} trials/s")
    print(f"  analyze, {m} spectra  {an:8.3f} s   {m / an:10.0f} spectra/s")
    r1 = mc / an
    print(
        f"  MC / analyze            {r1:8.2f} x   (target <= 1.2: {'met' if r1 <= 1.2 else 'NOT met'})"
    )
    print(
        f"  per repeat (paired)     {pairs[len(pairs) // 2]:8.2f} x median, "
        f"{pairs[0]:.2f}-{pairs[-1]:.2f} x range"
    )
    print(
        f"  of which drawing        {draw_s:8.3f} s   ({draw_s / an:.0%} of analyze: the "
        "model's trials, on the same threads and chunks)"
    )
    # CPU time of all threads: the same comparison, less disturbed by other processes
    print(
        f"  CPU time MC / analyze   {min(c_mc) / min(c_an):8.2f} x   "
        f"({min(c_mc):.3f} s / {min(c_an):.3f} s)"
    )
    if "skipped" in lux:
        print(f"  luxpy trial by trial    skipped: {lux['skipped']}")
        r2 = None
    else:
        rate = lux["trials"] / lux["seconds"]
        extrap = m / rate
        r2 = extrap / mc
        print(
            f"  luxpy {lux['version']} trial by trial  {lux['trials']} trials in "
            f"{lux['seconds']:.2f} s = {rate:.1f} trials/s -> {extrap:.0f} s for M = {m}"
        )
        print(
            f"  luxpy / lightcomp MC    {r2:8.0f} x   (target >= 200: "
            f"{'met' if r2 >= 200 else 'NOT met'})"
        )
    print(f"  U(flux) = {res.stats['luminous_flux'].U:.1f} lm, U(CCT) = {res.stats['CCT'].U:.1f} K")
    print(
        f"load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
        f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} (2 cores)"
    )


def drawing_time(inp, model, repeats: int) -> float:
    """Best wall time of drawing the M trials alone (no analysis): the Monte Carlo's
    own work beyond the core, on the core's worker threads and the MC's chunks."""
    from lightcomp.analysis import _cr_common
    from lightcomp.uncertainty import montecarlo as mcm

    trials = mcm.Trials(inp, model)
    m, w = model.trials, np.asarray(inp.wavelengths).size
    n_chunks = -(-m // mcm.MC_CHUNK)
    n_chunks += n_chunks % 2
    size = -(-m // n_chunks)

    def work(sl: slice) -> None:
        with _cr_common.single_threaded_blas():
            n = sl.stop - sl.start
            out = mcm.scratch("spectra", (n, w), np.float64)
            trials.sample(n, np.random.default_rng(sl.start), out=out)

    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        _cr_common.run_parallel([slice(i, min(i + size, m)) for i in range(0, m, size)], work)
        best = min(best, time.perf_counter() - t0)
    return best


def station_timing(n: int) -> None:
    """Time per unit on the simulated lab: the shipped demo plan (no [uncertainty]
    section: the default model, adaptive M to two digits), then the same plan with the
    quick trial counts of the simulated clock (QUICK_MC)."""
    import tempfile
    from pathlib import Path

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from _station_helpers import PLAN_DC, Lab

    from lightcomp.uncertainty.station import QUICK_MC

    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(Path(tmp), f"sqlite:///{tmp}/bench.db")
        try:
            for label, lot, over in (
                ("plan default (adaptive)", "BENCH-DEFAULT", None),
                ("quick (simulated clock)", "BENCH-QUICK", QUICK_MC),
            ):
                t0 = time.perf_counter()
                runner = lab.runner(PLAN_DC, lot=lot, uncertainty=over)
                runner.run(count=n)
                wall = (time.perf_counter() - t0) / n
                w = runner._unc.worker
                trials = _trials_per_unit(lab.store, lot)
                rows.append((label, wall, w.busy_s / n, w.waited_s / n, trials))
            virtual = _virtual_seconds_per_unit(lab.store, "BENCH-DEFAULT")
        finally:
            lab.close()
    load1 = os.getloadavg()
    print(f"simulated lab, {n} units per batch (LS0-COB-4000, default model)")
    print("  Monte Carlo              wall/unit  MC on worker/unit  station waited/unit  trials")
    for label, wall, busy, waited, trials in rows:
        print(f"  {label:24s} {wall:7.2f} s  {busy:10.2f} s  {waited:14.2f} s  {trials:12.0f}")
    print(
        f"  simulated instrument time {virtual:6.0f} s per unit (LM-79 stabilisation, "
        "virtual clock)"
    )
    print(
        f"load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
        f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} (2 cores)"
    )


def _trials_per_unit(store, lot: str) -> float:
    from lightcomp.store.models import Component, Lot, Measurement, UncertaintyEvaluation

    with store.session() as s:
        rows = (
            s.query(UncertaintyEvaluation.trials)
            .join(Measurement, Measurement.id == UncertaintyEvaluation.measurement_id)
            .join(Component, Component.id == Measurement.component_id)
            .join(Lot, Lot.id == Component.lot_id)
            .filter(Lot.name == lot)
            .all()
        )
    return float(np.mean([r[0] for r in rows])) if rows else float("nan")


def _virtual_seconds_per_unit(store, lot: str) -> float:
    from lightcomp.store.models import Component, Lot, Measurement

    with store.session() as s:
        rows = (
            s.query(Measurement.stabilisation)
            .join(Component, Component.id == Measurement.component_id)
            .join(Lot, Lot.id == Component.lot_id)
            .filter(Lot.name == lot)
            .all()
        )
    spans = [r[0][-1]["t_s"] - r[0][0]["t_s"] for r in rows if r[0]]
    return float(np.mean(spans)) if spans else float("nan")


if __name__ == "__main__":
    main()
