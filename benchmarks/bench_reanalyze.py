"""Benchmark: re-analysis of stored spectra vs the same analysis in memory (same run).

Writes 2 x N synthetic measured components (pc-LED spectra 2200-6500 K on the station's
1 nm grid, a stored DC test plan) into a store, in two lots A and B of N each, then
measures in the same run:

* the peer: :func:`lightcomp.analysis.analyze_arrays` on the same N spectra held in
  memory (the core alone);
* ``reanalyze --dry-run`` of lot A with the local engine and with the Dask engine on a
  LocalCluster of 2 workers (store reads + decode + core + judging + diff);
* ``reanalyze`` of lot A with the local engine and of lot B with the Dask engine (the
  above + writing N new rows each).

The Dask cluster is started once before its runs; its start-up time is printed apart
(a fixed cost, whatever the archive size).  It prints spectra/s of each run and its
ratio to the in-memory core (issue 15's target: the write run at least 0.5x; Dask not
slower than local), the peak RSS of this process and of each Dask worker, and the load
average before and after (the machine is shared: ratios are only comparable within
one run).

    python benchmarks/bench_reanalyze.py --n 20000 \
        --db postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert, select, text

REPO = Path(__file__).resolve().parents[1]
PLAN = REPO / "station" / "plans" / "LS0-COB-4000.toml"
WL = np.arange(380.0, 781.0, 1.0)


def spectra(n: int, seed: int = 7) -> np.ndarray:
    """pc-LED-like spectra: a blue chip plus a broad phosphor band whose weight sets CCT."""
    rng = np.random.default_rng(seed)
    blue = rng.uniform(445, 460, n)[:, None]
    ph = rng.uniform(545, 610, n)[:, None]
    w = rng.uniform(0.8, 3.0, n)[:, None]
    s = np.exp(-0.5 * ((WL - blue) / 10.0) ** 2) + w * np.exp(-0.5 * ((WL - ph) / 55.0) ** 2)
    return s * rng.uniform(0.8, 1.2, n)[:, None] * 5e-3


READINGS = {"power_w": 30.0, "voltage_v": 36.0, "current_a": 0.83, "tc_c": 25.0}


def stored_results(x: np.ndarray, plan) -> list[dict]:
    """What a station stores with each spectrum, as an archive in service holds it: every
    quantity of the core and the readings (``quantities``), the verdict and per-limit
    verdicts of the plan, the key columns, and a U for every quantity in the stored form
    of the Monte Carlo (``uncertainty``: U, k, u, interval, trials) — so that reading,
    carrying and writing them costs what it costs in service (1 % U, made up)."""
    from lightcomp.reanalysis.compute import Chunk, reanalyse_chunk
    from lightcomp.station.run_records import measurement_columns

    n = len(x)
    chunk = Chunk(
        ids=np.arange(n),
        wavelengths=WL,
        spectra=x,
        power_w=np.full(n, READINGS["power_w"]),
        stored=[READINGS] * n,
        plan_keys=[0] * n,
        plans={0: plan.snapshot()},
    )
    out = []
    for r in reanalyse_chunk(chunk):
        q = r.quantities
        u = {}
        for k, v in q.items():
            if isinstance(v, float) and v == v:
                big = max(abs(v) * 0.01, 1e-6)
                u[k] = {
                    "U": big,
                    "k": 2,
                    "u": big / 2,
                    "low": v - big,
                    "high": v + big,
                    "source": "GUM S1 Monte Carlo",
                    "trials": 10000,
                    "converged": True,
                }
        out.append(
            {
                "verdict": r.verdict,
                "error_message": r.error_message,
                "failed_limits": r.failed_limits,
                "verdicts": r.verdicts,
                "quantities": q,
                "uncertainty": u,
                **measurement_columns(q),
            }
        )
    return out


def fill(url: str, n: int, lots: tuple[str, ...] = ("BENCH-A", "BENCH-B")) -> None:
    """``n`` components per lot, each with one stored measurement on an older version
    (:func:`stored_results`: quantities, verdicts and U as a station stores them)."""
    from lightcomp.station.plan import load_plan
    from lightcomp.store import Store
    from lightcomp.store.codec import encode_array
    from lightcomp.store.models import (
        Component,
        CurrentMeasurement,
        Family,
        Lot,
        Manufacturer,
        Measurement,
        TestRun,
    )

    store = Store.open(url)
    plan = load_plan(PLAN)
    with store.transaction() as s:
        m = Manufacturer(registry_id="M0901", name="Bench Maker")
        f = Family(manufacturer=m, name="BENCH-F", level=0, category="COB", input_class="CC-DC")
        made = [Lot(name=name, family=f) for name in lots]
        run = TestRun(
            run_uid=f"bench-{uuid.uuid4().hex[:8]}",
            lot=made[0],
            station="S1",
            plan_name=plan.name,
            plan=plan.snapshot(),
            status="completed",
        )
        s.add_all([m, f, *made, run])
        s.flush()
        fid, lot_ids, rid = f.id, [lot.id for lot in made], run.id
    wl_blob = encode_array(WL)
    x = spectra(n)
    now = datetime.now(UTC)
    step = 5000
    total = n * len(lots)
    with store.engine.begin() as c:
        a = 0
        while a < total:
            b = min(a + step, (a // n + 1) * n)  # a block stays in one lot
            # The stored results block by block: a million rows' dicts would not fit.
            stored = dict(
                zip(range(a, b), stored_results(x[a % n : (b - 1) % n + 1], plan), strict=True)
            )
            c.execute(
                insert(Component),
                [
                    {
                        "id": i + 1,
                        "product_code": f"BENCH{i:09d}",
                        "item_serial": i + 1,
                        "family_id": fid,
                        "lot_id": lot_ids[i // n],
                        "status": "pass",
                        "created_at": now,
                    }
                    for i in range(a, b)
                ],
            )
            c.execute(
                insert(Measurement),
                [
                    {
                        "component_id": i + 1,
                        "family_id": fid,
                        "test_run_id": rid,
                        "measured_at": now,
                        **stored[i],
                        "wavelengths": wl_blob,
                        "spectrum": encode_array(x[i % n]),
                        "electrical": {},
                        "temperatures": {},
                        "stabilisation": [],
                        "instruments": {},
                        "kind": "measurement",
                        "analysis_version": "LC-2026.11",
                    }
                    for i in range(a, b)
                ],
            )
            a = b
        # Each component's one measurement is its current one (the pointer table).
        c.execute(
            insert(CurrentMeasurement).from_select(
                ["component_id", "measurement_id"],
                select(Measurement.component_id, Measurement.id),
            )
        )
        if c.dialect.name == "postgresql":  # an archive in service has planner statistics
            c.execute(text("ANALYZE measurements"))
            c.execute(text("ANALYZE components"))
            c.execute(text("ANALYZE current_measurements"))
    store.dispose()


def _pg_schema(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    eng = create_engine(base)
    with eng.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng.dispose()
    sep = "&" if "?" in base else "?"
    # application_name: the benchmark finds its own database sessions (server CPU below).
    return f"{base}{sep}options=-csearch_path%3D{schema}&application_name={schema}", schema


def _server_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds used so far by each PostgreSQL session of this benchmark (its store,
    its Dask workers), read from ``/proc`` when the server runs on this machine; None
    otherwise.  Busy time of the database, whatever else the shared machine runs."""
    from sqlalchemy.engine import make_url

    name = make_url(url).query.get("application_name")
    if not name:
        return None
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            pids = c.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = :n"
                    " AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            ).all()
    finally:
        eng.dispose()
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None  # the server is elsewhere (or not readable): no figure
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _drop(base: str, schema: str) -> None:
    eng = create_engine(base)
    with eng.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    eng.dispose()


def _peak_rss() -> float:
    """Peak resident memory (MiB) of this process since start or :func:`_reset_peak`
    (Linux ``VmHWM``; ``ru_maxrss`` would carry a parent's peak over fork and exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Start the peak RSS over (Linux: ``5`` to ``/proc/self/clear_refs``), so it shows
    the re-analysis runs and not the filling of the store or the in-memory peer."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        pass


def _worker_rss(engine) -> list[float]:
    """Peak RSS (MiB) of each Dask worker process."""
    return sorted(engine.client.run(_peak_rss).values())


def _core_threads() -> int:
    """The analysis core's threads in this process (run on each Dask worker)."""
    from lightcomp.analysis import _cr_common

    return _cr_common.THREADS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="components per lot (two lots)")
    ap.add_argument("--db", default=os.environ.get("LIGHTCOMP_TEST_PG"))
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--no-dask", action="store_true", help="local engine only")
    ap.add_argument(
        "--dask-threads",
        type=int,
        default=None,
        help="the core's threads per Dask worker (default: the engine's, cores / workers)",
    )
    args = ap.parse_args()
    from lightcomp.analysis import analyze_arrays
    from lightcomp.reanalysis.run import DaskEngine, Selection, reanalyze
    from lightcomp.store import Store

    load0 = os.getloadavg()
    made: list[tuple[str, str]] = []
    if args.db and args.db.startswith("postgresql"):
        url, schema = _pg_schema(args.db)
        made.append((args.db, schema))
        backend = "PostgreSQL"
    else:
        import tempfile

        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        backend = "SQLite"
    try:
        t = time.perf_counter()
        fill(url, args.n)
        print(
            f"{backend}: 2 x {args.n} measurements stored in {time.perf_counter() - t:.1f} s; "
            f"load average {load0[0]:.1f}"
        )
        x = spectra(args.n)
        t = time.perf_counter()
        for a in range(0, args.n, args.chunk):
            analyze_arrays(WL, x[a : a + args.chunk], absolute=True, power_w=30.0)
        core = args.n / (time.perf_counter() - t)
        del x
        print(f"{'peer  analyze_arrays in memory':36s} {core:9.0f} spectra/s")
        store = Store.open(url)
        rates: dict[str, float] = {}
        _reset_peak()

        def timed(label: str, lot: str, **kw) -> None:
            cpu0 = _server_cpu(url)
            t = time.perf_counter()
            d = reanalyze(store, Selection(lot=lot), chunk=args.chunk, **kw)
            rate = d.components / (time.perf_counter() - t)
            cpu1 = _server_cpu(url)
            assert d.components == args.n, (label, d.components)
            rates[label] = rate
            print(f"{label:36s} {rate:9.0f} spectra/s   x{rate / core:.2f} of the core")
            busy = ", ".join(f"{k} {1e6 * v / d.components:.0f}" for k, v in d.stages.items())
            if cpu0 is not None and cpu1 is not None:
                # Sessions opened during the run count from zero (a pool keeps them open).
                used = sum(v - cpu0.get(pid, 0.0) for pid, v in cpu1.items())
                busy += f"; database CPU {1e6 * used / d.components:.0f}"
            print(f"{'':38s}busy us/spectrum: {busy}")

        timed("reanalyze local --dry-run", "BENCH-A", engine="local", dry_run=True)
        worker_rss: list[float] = []
        if not args.no_dask:
            t = time.perf_counter()
            dask = DaskEngine(analysis_threads=args.dask_threads)
            threads = dask.client.run(_core_threads)
            print(
                f"(Dask LocalCluster of 2 workers started in {time.perf_counter() - t:.1f} s;"
                f" the core's threads per worker: {sorted(threads.values())})"
            )
            try:
                timed("reanalyze dask(2) --dry-run", "BENCH-A", engine=dask, dry_run=True)
                timed("reanalyze local (writes)", "BENCH-A", engine="local")
                timed("reanalyze dask(2) (writes)", "BENCH-B", engine=dask)
                worker_rss = _worker_rss(dask)
            finally:
                dask.close()
        else:
            timed("reanalyze local (writes)", "BENCH-A", engine="local")
        store.dispose()
        rss = _peak_rss()
        load1 = os.getloadavg()
        print(
            f"peak RSS during the runs: this process {rss:.0f} MiB"
            + (
                f", Dask workers {', '.join(f'{r:.0f}' for r in worker_rss)} MiB"
                if worker_rss
                else ""
            )
            + f"; load average {load0[0]:.1f} before, {load1[0]:.1f} after (2 cores)"
        )
        w = rates["reanalyze local (writes)"]
        print(f"write run vs core: local x{w / core:.2f} (target >= 0.5)", end="")
        if not args.no_dask:
            dw = rates["reanalyze dask(2) (writes)"]
            dd = rates["reanalyze dask(2) --dry-run"] / rates["reanalyze local --dry-run"]
            print(f", dask x{dw / core:.2f}; dask/local: dry-run x{dd:.2f}, writes x{dw / w:.2f}")
        else:
            print()
    finally:
        for base, schema in made:
            _drop(base, schema)


if __name__ == "__main__":
    main()
