"""Benchmark of the alliance query service on PostgreSQL (not a test).

1. Loads ``--n`` component records (default 1 000 000) with a current
   measurement each into a dedicated PostgreSQL schema by bulk ``COPY``
   (manufacturers and families through :mod:`lightcomp.coding`, so every
   product code is valid), unless ``--reuse`` finds them already there.
2. Starts ``lightcomp serve`` in a subprocess on loopback.
3. Drives it with a bounded async httpx client (``--requests`` per scenario,
   ``--concurrency`` in flight, ``--time-budget-s`` cap per scenario) and
   reports p50/p95/p99 latency and throughput of code look-ups and typical
   searches, first one request at a time (latency), then concurrently
   (throughput).

Peers measured in the same run, for scale: the bare database round trip of the
same look-ups (psycopg, the record's component + current measurement by product
code, no HTTP, no authorisation) and the HTTP floor (``GET /health``, no
database). The look-up's p95 is printed as a ratio to each.

Targets (issue 9): look-up p95 < 20 ms, search p95 < 100 ms at 1 M records.

Usage::

    python benchmarks/bench_api.py --pg postgresql+psycopg://postgres@127.0.0.1/test \\
        --n 100000 [--reuse] [--requests 400] [--concurrency 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np

SCHEMA = "bench_api"
LOT_SIZE = 1000
N_MANUFACTURERS = 20
FAMILIES_PER_MANUFACTURER = 10
CCTS = (2700, 3000, 3500, 4000, 5000, 6500)


# -- loading -------------------------------------------------------------------


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def reset_schema(base: str, schema: str) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(base)
    with eng.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    eng.dispose()


def _register_families(store, rng) -> list[dict]:
    from lightcomp.coding import register_family, register_manufacturer

    fams = []
    with store.transaction() as s:
        for m in range(N_MANUFACTURERS):
            mfr = register_manufacturer(s, f"Maker {m:02d} Lighting")
            for f in range(FAMILIES_PER_MANUFACTURER):
                level = int(f % 2)
                cct = CCTS[(m + f) % len(CCTS)]
                cri = 90 if f % 3 == 0 else 80
                flux = float(rng.choice([400.0, 800.0, 1600.0, 3150.0]))
                fam = register_family(
                    s,
                    mfr,
                    f"M{m:02d}-F{f:02d}",
                    level=level,
                    category="CB" if level == 0 else "SM",
                    input_class="CC-DC",
                    nominal_cct_k=cct,
                    cri_class=cri,
                    nominal_flux_lm=flux,
                    rated={"luminous_flux_lm": flux, "power_w": flux / 110},
                    limits={"luminous_flux_lm": {"min": 0.9 * flux, "max": 1.1 * flux}},
                    spec_version="CSA-2024",
                )
                s.flush()
                fams.append(
                    {
                        "id": fam.id,
                        "type_code": fam.type_code,
                        "cct": cct,
                        "cri": cri,
                        "flux": flux,
                        "manufacturer": mfr.name,
                        "registry_id": mfr.registry_id,
                        "name": fam.name,
                    }
                )
    return fams


def _copy(raw_conn, table: str, columns: list[str], lines) -> None:
    cols = ", ".join(columns)
    with raw_conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
        buf = io.StringIO()
        for i, line in enumerate(lines, 1):
            buf.write(line)
            if i % 50_000 == 0:
                cp.write(buf.getvalue())
                buf = io.StringIO()
        cp.write(buf.getvalue())


def load(store, n: int, seed: int = 1) -> dict:
    """Write ``n`` components (+ lots, runs, measurements) by COPY; return a manifest."""
    from lightcomp.coding import check_character

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    fams = _register_families(store, rng)
    n_lots = (n + LOT_SIZE - 1) // LOT_SIZE
    lot_fam = np.array([fams[i % len(fams)]["id"] for i in range(n_lots)])
    fam_by_id = {f["id"]: f for f in fams}
    lot_pub = rng.random(n_lots) < 0.9
    lot_wd = lot_pub & (rng.random(n_lots) < 0.02)
    ts = "2026-01-15 08:00:00+00"
    raw = store.engine.raw_connection()
    try:
        conn = raw.driver_connection
        _copy(
            conn,
            "lots",
            [
                "id",
                "name",
                "family_id",
                "received_at",
                "published_at",
                "withdrawn_at",
                "withdraw_reason",
                "created_at",
            ],
            (
                f"{i + 1}\tLOT-{i + 1:06d}\t{lot_fam[i]}\t{ts}\t{ts if lot_pub[i] else chr(92) + 'N'}"
                f"\t{ts if lot_wd[i] else chr(92) + 'N'}"
                f"\t{'re-test failed' if lot_wd[i] else chr(92) + 'N'}\t{ts}\n"
                for i in range(n_lots)
            ),
        )
        _copy(
            conn,
            "test_runs",
            [
                "id",
                "run_uid",
                "lot_id",
                "station",
                "plan_name",
                "plan_version",
                "plan",
                "started_at",
                "status",
                "params",
            ],
            (
                f"{i + 1}\trun-{i + 1:06d}\t{i + 1}\tst-{i % 3 + 1}\tlevel-plan\t1.{i % 4}\t{{}}"
                f"\t{ts}\tcompleted\t{{}}\n"
                for i in range(n_lots)
            ),
        )
        lot_of = np.arange(n) // LOT_SIZE  # 0-based lot index
        fam_of = lot_fam[lot_of]
        cct_nom = np.array([fam_by_id[f]["cct"] for f in fam_of], dtype=float)
        cri_nom = np.array([fam_by_id[f]["cri"] for f in fam_of], dtype=float)
        flux_nom = np.array([fam_by_id[f]["flux"] for f in fam_of])
        cct = cct_nom + rng.normal(0, 60, n)
        ra = np.minimum(cri_nom + 2 + rng.normal(0, 1.5, n), 99.0)
        flux = flux_nom * (1 + rng.normal(0, 0.04, n))
        power = flux_nom / 110 * (1 + rng.normal(0, 0.02, n))
        u = rng.random(n)
        verdict = np.where(u < 0.95, "pass", np.where(u < 0.99, "fail", "error"))
        codes = []
        for i in range(n):
            data = f"{fam_by_id[fam_of[i]]['type_code']}{i + 1:09d}"
            codes.append(data + check_character(data))
        print(f"  codes made in {time.perf_counter() - t0:.1f} s", flush=True)
        _copy(
            conn,
            "components",
            [
                "id",
                "product_code",
                "item_serial",
                "family_id",
                "lot_id",
                "status",
                "photometric_code",
                "created_at",
            ],
            (
                f"{i + 1}\t{codes[i]}\t{i + 1}\t{fam_of[i]}\t{lot_of[i] + 1}\t{verdict[i]}"
                f"\t{int(cri_nom[i]) // 10}{int(cct_nom[i]) // 100:02d}/349\t{ts}\n"
                for i in range(n)
            ),
        )
        print(f"  components copied in {time.perf_counter() - t0:.1f} s", flush=True)
        cols = [
            "id",
            "component_id",
            "family_id",
            "test_run_id",
            "measured_at",
            "verdict",
            "failed_limits",
            "verdicts",
            "quantities",
            "luminous_flux_lm",
            "efficacy_lmw",
            "cct_k",
            "duv",
            "ra",
            "r9",
            "rf",
            "rg",
            "power_w",
            "power_factor",
            "thd_current",
            "photometric_code",
            "electrical",
            "temperatures",
            "stabilisation",
            "instruments",
            "uncertainty",
        ]
        duv = rng.normal(0.001, 0.002, n)
        r9 = rng.normal(15, 10, n)
        rf = ra + rng.normal(1, 1, n)
        rg = rng.normal(100, 2, n)
        pf = rng.uniform(0.9, 0.99, n)
        thd = rng.uniform(0.05, 0.2, n)
        _copy(
            conn,
            "measurements",
            cols,
            (
                f"{i + 1}\t{i + 1}\t{fam_of[i]}\t{lot_of[i] + 1}\t{ts}\t{verdict[i]}\t[]\t{{}}\t{{}}"
                f"\t{flux[i]:.3f}\t{flux[i] / power[i]:.3f}\t{cct[i]:.1f}\t{duv[i]:.5f}\t{ra[i]:.2f}"
                f"\t{r9[i]:.2f}\t{rf[i]:.2f}\t{rg[i]:.2f}\t{power[i]:.4f}\t{pf[i]:.4f}\t{thd[i]:.4f}"
                f"\t{int(cri_nom[i]) // 10}{int(cct_nom[i]) // 100:02d}/349\t{{}}\t{{}}\t[]\t{{}}\t{{}}\n"
                for i in range(n)
            ),
        )
        print(f"  measurements copied in {time.perf_counter() - t0:.1f} s", flush=True)
        # Each component's one measurement is its current one (the pointer table).
        _copy(
            conn,
            "current_measurements",
            ["component_id", "measurement_id"],
            (f"{i + 1}\t{i + 1}\n" for i in range(n)),
        )
        with conn.cursor() as cur:
            for table in ("lots", "test_runs", "components", "measurements"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
        conn.autocommit = False
    finally:
        raw.close()
    print(f"  loaded {n} records in {time.perf_counter() - t0:.1f} s", flush=True)
    return {"n": n, "families": fams, "seconds": time.perf_counter() - t0}


def make_keys(store) -> dict[str, str]:
    from lightcomp.api.keys import create_api_key

    keys = {}
    with store.transaction() as s:
        for role, mfr in (("lab", None), ("member", None), ("manufacturer", "Maker 00 Lighting")):
            _, keys[role] = create_api_key(s, role, manufacturer=mfr, name=f"bench {role}")
    return keys


# -- load generation -------------------------------------------------------------


@dataclass
class Result:
    name: str
    concurrency: int
    n: int
    errors: int
    statuses: dict
    # errors: answers other than 200 and 404 (a member asking for an unpublished code)
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    throughput_rps: float

    def line(self) -> str:
        return (
            f"{self.name:28s} c={self.concurrency:<2d} n={self.n:<5d} "
            f"p50 {self.p50_ms:7.2f} ms  p95 {self.p95_ms:7.2f} ms  "
            f"p99 {self.p99_ms:7.2f} ms  {self.throughput_rps:7.1f} req/s"
            + (f"  errors {self.errors} {self.statuses}" if self.errors else "")
        )


async def _drive(
    base: str,
    name: str,
    requests: list[tuple[str, dict, str]],
    concurrency: int,
    time_budget_s: float,
) -> Result:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue = list(reversed(requests))
    stop_at = time.perf_counter() + time_budget_s
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker():
            while queue and time.perf_counter() < stop_at:
                path, params, key = queue.pop()
                t = time.perf_counter()
                r = await client.get(
                    path, params=params, headers={"Authorization": f"Bearer {key}"}
                )
                await r.aread()
                latencies.append(time.perf_counter() - t)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    lat = np.array(latencies) * 1e3
    ok = statuses.get(200, 0) + statuses.get(404, 0)  # 404: member asked for unpublished
    return Result(
        name,
        concurrency,
        len(lat),
        len(lat) - ok,
        statuses,
        *(float(np.percentile(lat, p)) for p in (50, 95, 99)),
        float(lat.mean()),
        len(lat) / wall,
    )


def scenarios(
    n: int, fams: list[dict], keys: dict[str, str], count: int, rng: random.Random
) -> dict[str, list]:
    from lightcomp.coding import check_character, format_code

    fam_of_lot = [fams[i % len(fams)] for i in range((n + LOT_SIZE - 1) // LOT_SIZE)]

    def code(i: int) -> str:
        data = f"{fam_of_lot[(i - 1) // LOT_SIZE]['type_code']}{i:09d}"
        return data + check_character(data)

    lookups = []
    for _ in range(count):
        c = code(rng.randint(1, n))
        form = rng.choice([c, format_code(c), c.lower()])
        lookups.append((f"/components/{form}", {}, keys[rng.choice(["lab", "member"])]))
    searches = []
    for _ in range(count):
        f = rng.choice(fams)
        kind = rng.randrange(5)
        if kind == 0:  # a maker's parts of one nominal CCT class
            params = {"manufacturer": f["manufacturer"], "nominal_cct_k": f["cct"]}
        elif kind == 1:  # high-CRI parts measured near 3000 K, across makers
            params = {"cct_min": 2900, "cct_max": 3100, "ra_min": 90}
        elif kind == 2:  # one family, passes only
            params = {"family": f["name"], "verdict": "pass"}
        elif kind == 3:  # level, flux window
            params = {
                "level": rng.randrange(2),
                "flux_min": 700,
                "flux_max": 900,
                "efficacy_min": 100,
            }
        else:  # nominal CCT class, R9 > 20, 200 per page
            params = {"nominal_cct_k": rng.choice(CCTS), "r9_min": 20, "limit": 200}
        params.setdefault("limit", 50)
        searches.append(("/components", params, keys[rng.choice(["lab", "member"])]))
    selective = []
    for _ in range(count):  # a maker's parts by *measured* CCT window (most families miss)
        f = rng.choice(fams)
        selective.append(
            (
                "/components",
                {
                    "manufacturer": f["manufacturer"],
                    "cct_min": f["cct"] - 150,
                    "cct_max": f["cct"] + 150,
                    "limit": 50,
                },
                keys[rng.choice(["lab", "member"])],
            )
        )
    return {"code look-up": lookups, "search": searches, "search maker+measured CCT": selective}


def bare_sql_lookups(url: str, codes: list[str]) -> np.ndarray:
    """Peer: latency (ms) of the same look-ups straight to PostgreSQL, one at a time."""
    from sqlalchemy import create_engine, text

    from lightcomp.coding import canonical

    eng = create_engine(url)
    q = text(
        "SELECT c.*, m.* FROM components c"
        " LEFT JOIN current_measurements p ON p.component_id = c.id"
        " LEFT JOIN measurements m ON m.id = p.measurement_id WHERE c.product_code = :code"
    )
    lat = []
    with eng.connect() as conn:
        for code in codes[:20]:  # warm-up
            conn.execute(q, {"code": canonical(code)}).all()
        for code in codes:
            t = time.perf_counter()
            conn.execute(q, {"code": canonical(code)}).all()
            lat.append(time.perf_counter() - t)
    eng.dispose()
    return np.array(lat) * 1e3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lightcomp.cli",
            "serve",
            "--db",
            url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("server did not start in 60 s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--pg",
        default=os.environ.get("LIGHTCOMP_TEST_PG"),
        help="PostgreSQL server URL (default $LIGHTCOMP_TEST_PG)",
    )
    ap.add_argument("--schema", default=SCHEMA, help="schema to (re)create and use")
    ap.add_argument("--n", type=int, default=1_000_000, help="component records to load")
    ap.add_argument(
        "--reuse", action="store_true", help="keep the schema if it already holds --n components"
    )
    ap.add_argument("--requests", type=int, default=400, help="requests per scenario and run")
    ap.add_argument("--concurrency", type=int, default=8, help="requests in flight (2nd run)")
    ap.add_argument("--time-budget-s", type=float, default=60.0, help="cap per scenario run")
    ap.add_argument("--json", help="write the results here as JSON")
    args = ap.parse_args(argv)
    if not args.pg:
        ap.error("--pg (or LIGHTCOMP_TEST_PG) is required: a PostgreSQL server URL")
    if not 1 <= args.n <= 10_000_000 or not 1 <= args.requests <= 100_000:
        ap.error("--n must be 1..10 000 000 and --requests 1..100 000")
    if not 1 <= args.concurrency <= 64:
        ap.error("--concurrency must be 1..64")

    from sqlalchemy import func, select

    from lightcomp.store import Component, Family, Manufacturer, Store

    url = schema_url(args.pg, args.schema)
    store = None
    if args.reuse:
        try:
            store = Store.open(url)
            with store.transaction() as s:
                have = s.scalar(select(func.count()).select_from(Component))
            if have != args.n:
                store.dispose()
                store = None
        except Exception:  # noqa: BLE001 - any problem: rebuild
            store = None
    if store is None:
        print(f"loading {args.n} records into schema {args.schema} ...", flush=True)
        reset_schema(args.pg, args.schema)
        store = Store.open(url)
        load(store, args.n)
    with store.transaction() as s:
        fams = [
            {
                "id": f.id,
                "type_code": f.type_code,
                "cct": f.nominal_cct_k,
                "cri": f.cri_class,
                "flux": f.nominal_flux_lm,
                "name": f.name,
                "manufacturer": m.name,
            }
            for f, m in s.execute(
                select(Family, Manufacturer).join(Manufacturer).order_by(Family.id)
            )
        ]
    keys = make_keys(store)
    store.dispose()

    port = _free_port()
    proc = start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        rng = random.Random(7)
        plans = scenarios(args.n, fams, keys, args.requests, rng)
        # warm-up (connection pool, plan cache), not reported
        for name, reqs in plans.items():
            asyncio.run(_drive(base, name, reqs[:50], 2, 30))
        for conc in (1, args.concurrency):
            for name, reqs in plans.items():
                res = asyncio.run(_drive(base, name, reqs, conc, args.time_budget_s))
                results.append(res)
                print(res.line(), flush=True)
        health = [("/health", {}, keys["lab"])] * args.requests
        floor = asyncio.run(_drive(base, "peer: GET /health (HTTP floor)", health, 1, 60))
        print(floor.line(), flush=True)
        codes = [path.rsplit("/", 1)[1] for path, _p, _k in plans["code look-up"]]
        bare = bare_sql_lookups(url, codes)
        bare_p95 = float(np.percentile(bare, 95))
        print(
            f"{'peer: bare SQL look-up':28s} c=1  n={len(bare):<5d} "
            f"p50 {np.percentile(bare, 50):7.2f} ms  p95 {bare_p95:7.2f} ms"
        )
        lookup = next(r for r in results if r.name == "code look-up" and r.concurrency == 1)
        print(
            f"code look-up p95 = {lookup.p95_ms / bare_p95:.1f} x the bare SQL round trip, "
            f"{lookup.p95_ms / floor.p95_ms:.1f} x the HTTP floor (same run)"
        )
        results.append(floor)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = {
        "n_records": args.n,
        "cpu_count": os.cpu_count(),
        "results": [r.__dict__ for r in results],
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
