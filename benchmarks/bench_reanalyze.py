"""Benchmark: re-analysis of stored spectra vs the same analysis in memory (same run).

Writes N synthetic measured components (pc-LED spectra 2200-6500 K on the station's
1 nm grid, a stored DC test plan) into a store, then measures in the same run:

* the peer: :func:`lightcomp.analysis.analyze_arrays` on the same N spectra held in
  memory (the core alone);
* ``reanalyze --dry-run`` with the local engine (store reads + decode + core + judging);
* ``reanalyze`` with the local engine (the above + writing N new rows);
* ``reanalyze --dry-run`` with the Dask engine on a LocalCluster of 2 workers.

It prints spectra/s of each, the ratio to the in-memory core (issue 15's target: the
write run at least 0.5x), the peak RSS of this process, and the load average.  Each
store engine starts from the same data (two schemas / files are filled).

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
from sqlalchemy import create_engine, insert, text

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


def fill(url: str, n: int) -> None:
    from lightcomp.station.plan import load_plan
    from lightcomp.store import Store
    from lightcomp.store.codec import encode_array
    from lightcomp.store.models import (
        Component,
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
        lot = Lot(name="BENCH-LOT", family=f)
        run = TestRun(
            run_uid=f"bench-{uuid.uuid4().hex[:8]}",
            lot=lot,
            station="S1",
            plan_name=plan.name,
            plan=plan.snapshot(),
            status="completed",
        )
        s.add_all([m, f, lot, run])
        s.flush()
        fid, lid, rid = f.id, lot.id, run.id
    wl_blob = encode_array(WL)
    x = spectra(n)
    now = datetime.now(UTC)
    step = 5000
    with store.engine.begin() as c:
        for a in range(0, n, step):
            b = min(n, a + step)
            c.execute(
                insert(Component),
                [
                    {
                        "id": i + 1,
                        "product_code": f"BENCH{i:09d}",
                        "item_serial": i + 1,
                        "family_id": fid,
                        "lot_id": lid,
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
                        "is_current": True,
                        "verdict": "pass",
                        "failed_limits": [],
                        "verdicts": {},
                        "quantities": {"power_w": 30.0, "voltage_v": 36.0, "current_a": 0.83},
                        "power_w": 30.0,
                        "wavelengths": wl_blob,
                        "spectrum": encode_array(x[i]),
                        "electrical": {},
                        "temperatures": {},
                        "stabilisation": [],
                        "instruments": {},
                        "uncertainty": {},
                        "kind": "measurement",
                        "analysis_version": "LC-2026.11",
                    }
                    for i in range(a, b)
                ],
            )
    store.dispose()


def _pg_schema(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    eng = create_engine(base)
    with eng.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop(base: str, schema: str) -> None:
    eng = create_engine(base)
    with eng.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--db", default=os.environ.get("LIGHTCOMP_TEST_PG"))
    ap.add_argument("--chunk", type=int, default=2000)
    args = ap.parse_args()
    from lightcomp.analysis import analyze_arrays
    from lightcomp.reanalysis.run import Selection, reanalyze
    from lightcomp.store import Store

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
        print(f"{backend}: {args.n} measurements stored in {time.perf_counter() - t:.1f} s")
        x = spectra(args.n)
        t = time.perf_counter()
        for a in range(0, args.n, args.chunk):
            analyze_arrays(WL, x[a : a + args.chunk], absolute=True, power_w=30.0)
        core = args.n / (time.perf_counter() - t)
        print(f"peer  analyze_arrays in memory      {core:9.0f} spectra/s")
        store = Store.open(url)
        sel = Selection(all=True)
        rows = []
        for label, kw in (
            ("reanalyze local --dry-run", {"engine": "local", "dry_run": True}),
            ("reanalyze dask(2) --dry-run", {"engine": "dask", "dry_run": True}),
            ("reanalyze local (writes)", {"engine": "local"}),
        ):
            t = time.perf_counter()
            d = reanalyze(store, sel, chunk=args.chunk, **kw)
            rate = d.components / (time.perf_counter() - t)
            rows.append((label, rate))
            print(f"{label:33s} {rate:9.0f} spectra/s   x{rate / core:.2f} of the core")
        store.dispose()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"max RSS of this process: {rss:.0f} MiB; load average {os.getloadavg()}")
        local = dict(rows)
        print(
            f"dask(2)/local dry-run: x{local['reanalyze dask(2) --dry-run'] / local['reanalyze local --dry-run']:.2f}; "
            f"write run vs core: x{local['reanalyze local (writes)'] / core:.2f} (target >= 0.5)"
        )
    finally:
        for base, schema in made:
            _drop(base, schema)


if __name__ == "__main__":
    main()
