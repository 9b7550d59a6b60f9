"""Benchmark of the web portal's pages against the API on the same data (not a test).

Issue 18: a component page and a search page must each answer within 2x the API's
p95 for the same request, measured in the same run at 100 000 records.

1. Loads ``--n`` records into a PostgreSQL schema with :mod:`bench_api`'s loader
   (``--reuse`` keeps an existing load), makes API keys and portal sessions for a
   lab and a member user.
2. Starts ``lightcomp serve`` (API and portal in one app) on loopback.
3. Builds :func:`bench_api.scenarios` (code look-ups in all three spellings,
   the five typical searches) and sends each request twice: to the API with the
   role's key and to the portal page with the same role's session cookie
   (``/components/{code}`` -> ``/portal/components/{code}``, ``/components?...`` ->
   ``/portal/search?...``). API and portal runs alternate per scenario, one request
   at a time, so both see the same machine load.
4. Prints p50/p95/p99 of each, the portal/API p95 ratio against the 2x limit and
   the load average.

Usage::

    python benchmarks/bench_portal.py --pg postgresql+psycopg://postgres@127.0.0.1/test \\
        [--n 100000] [--reuse] [--requests 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_api  # noqa: E402

SCHEMA = "bench_portal"
LIMIT_RATIO = 2.0


async def drive(base: str, name: str, requests: list, headers_of, budget_s: float):
    """One request at a time; ``headers_of(role) -> headers``. Returns a bench_api.Result."""
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop_at = time.perf_counter() + budget_s
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        t0 = time.perf_counter()
        for path, params, role in requests:
            if time.perf_counter() > stop_at:
                break
            t = time.perf_counter()
            r = await client.get(path, params=params, headers=headers_of(role))
            await r.aread()
            latencies.append(time.perf_counter() - t)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        wall = time.perf_counter() - t0
    lat = np.array(latencies) * 1e3
    ok = statuses.get(200, 0) + statuses.get(404, 0)  # 404: a member asked for unpublished
    return bench_api.Result(
        name, 1, len(lat), len(lat) - ok, statuses,
        *(float(np.percentile(lat, p)) for p in (50, 95, 99)),
        float(lat.mean()), len(lat) / wall,
    )  # fmt: skip


def portal_sessions(store) -> dict[str, str]:
    """Session cookies (lab, member) made the way /login makes them."""
    from lightcomp.api.portal.accounts import add_user, start_session

    out = {}
    with store.transaction() as s:
        for role in ("lab", "member"):
            u = add_user(
                s, f"bench-{role}-{time.time_ns()}@bench.example", role, "bench password 1"
            )
            s.flush()
            out[role] = start_session(s, u.id)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", default=os.environ.get("LIGHTCOMP_TEST_PG"), help="PostgreSQL URL")
    ap.add_argument("--schema", default=SCHEMA)
    ap.add_argument("--n", type=int, default=100_000, help="component records")
    ap.add_argument("--reuse", action="store_true", help="keep a schema holding --n records")
    ap.add_argument("--requests", type=int, default=300, help="requests per scenario")
    ap.add_argument("--time-budget-s", type=float, default=120.0, help="cap per scenario run")
    ap.add_argument("--json", help="write the results here as JSON")
    args = ap.parse_args(argv)
    if not args.pg:
        ap.error("--pg (or LIGHTCOMP_TEST_PG) is required: a PostgreSQL server URL")
    if not 1 <= args.n <= 10_000_000 or not 1 <= args.requests <= 100_000:
        ap.error("--n must be 1..10 000 000 and --requests 1..100 000")

    from sqlalchemy import func, select

    from lightcomp.store import Component, Family, Manufacturer, Store

    url = bench_api.schema_url(args.pg, args.schema)
    store = None
    if args.reuse:
        try:
            store = Store.open(url)
            with store.transaction() as s:
                if s.scalar(select(func.count()).select_from(Component)) != args.n:
                    store.dispose()
                    store = None
        except Exception:  # noqa: BLE001 - any problem: rebuild
            store = None
    if store is None:
        print(f"loading {args.n} records into schema {args.schema} ...", flush=True)
        bench_api.reset_schema(args.pg, args.schema)
        store = Store.open(url)
        bench_api.load(store, args.n)
    with store.transaction() as s:
        fams = [
            {"id": f.id, "type_code": f.type_code, "cct": f.nominal_cct_k, "cri": f.cri_class,
             "flux": f.nominal_flux_lm, "name": f.name, "manufacturer": m.name}
            for f, m in s.execute(select(Family, Manufacturer).join(Manufacturer).order_by(Family.id))
        ]  # fmt: skip
    keys = bench_api.make_keys(store)
    cookies = portal_sessions(store)
    store.dispose()
    role_of_key = {v: k for k, v in keys.items()}

    port = bench_api._free_port()
    proc = bench_api.start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        plans = bench_api.scenarios(args.n, fams, keys, args.requests, random.Random(7))
        del plans["search maker+measured CCT"]  # the portal has the same search; keep it short

        def api_headers(role):
            return {"Authorization": f"Bearer {keys[role]}"}

        def page_headers(role):
            return {"Cookie": f"lc_session={cookies[role]}"}

        for name, reqs in plans.items():
            api_reqs = [(p, q, role_of_key[k]) for p, q, k in reqs]
            page_reqs = [
                (("/portal/search" if p == "/components" else "/portal" + p), q, role)
                for p, q, role in api_reqs
            ]
            # warm-up of both (pools, plan caches, templates), not reported
            asyncio.run(drive(base, "warm", api_reqs[:40], api_headers, 60))
            asyncio.run(drive(base, "warm", page_reqs[:40], page_headers, 60))
            api = asyncio.run(drive(base, f"API {name}", api_reqs, api_headers, args.time_budget_s))
            page = asyncio.run(
                drive(base, f"portal {name}", page_reqs, page_headers, args.time_budget_s)
            )
            ratio = page.p95_ms / api.p95_ms
            print(api.line(), flush=True)
            print(page.line(), flush=True)
            verdict = "within" if ratio <= LIMIT_RATIO else "OVER"
            print(f"  -> portal/API p95 = {ratio:.2f} ({verdict} the {LIMIT_RATIO:g}x limit)")
            rows.append({"scenario": name, "api": api.__dict__, "portal": page.__dict__,
                         "ratio_p95": ratio})  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load1, load5, _ = os.getloadavg()
    print(f"load average {load1:.2f} / {load5:.2f} (1 / 5 min) on {os.cpu_count()} cores; "
          f"{args.n} records on PostgreSQL")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"n_records": args.n, "loadavg": [load1, load5], "rows": rows}, fh,
                      indent=2, default=str)  # fmt: skip
    return 0 if all(r["ratio_p95"] <= LIMIT_RATIO for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
