"""Benchmark of the shared read queries and the lot report on a 100 000-component lot.

Fills a fresh SQLite store (and a fresh PostgreSQL schema when ``--pg URL`` or
``$LIGHTCOMP_TEST_PG`` is given) with a synthetic lot by bulk insert
(``tests/_report_fixtures.fill_lot``: key columns, quantities/verdicts JSON,
no spectra), then times:

- ``lot_yield`` (one aggregate query; issue 4 asks for well under a second),
- ``lot_records`` (every current record of the lot into a DataFrame, one query),
- the full lot report, built and rendered to HTML and to PDF,

each next to a peer measured in the same run on the same store: the plain ORM
way (load the lot's Component and current Measurement objects, count and tabulate
in Python), and the ratio peer time / lightcomp time is printed.

Usage::

    python benchmarks/bench_reports.py [--n 100000] [--pg postgresql+psycopg://user@host/db]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _report_fixtures import fill_lot  # noqa: E402

from lightcomp.analysis.yield_stats import yield_summary  # noqa: E402
from lightcomp.reports.lot_report import build_lot_report, render  # noqa: E402
from lightcomp.reports.yields import lot_yield  # noqa: E402
from lightcomp.store import Component, Lot, Measurement, Store  # noqa: E402
from lightcomp.store.queries import lot_records  # noqa: E402


def _timed(fn, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def _orm_rows(session, lot: str) -> list:
    """Peer: the lot's components with their current measurement as ORM objects."""
    from sqlalchemy import select

    from lightcomp.store.models import current_join

    stmt = current_join(
        select(Component, Measurement).join(Lot, Component.lot_id == Lot.id), outer=True
    ).where(Lot.name == lot)
    session.expunge_all()  # no identity-map shortcut between repeats
    return session.execute(stmt).all()


def orm_yield(session, lot: str) -> dict:
    """Peer of lot_yield: count verdicts over ORM objects in Python."""
    counts = {"pass": 0, "fail": 0, "error": 0}
    for _comp, meas in _orm_rows(session, lot):
        if meas is not None and meas.verdict in counts:
            counts[meas.verdict] += 1
    return yield_summary(counts["pass"], counts["fail"], counts["error"])


def orm_records(session, lot: str):
    """Peer of lot_records: ORM objects to a DataFrame row by row."""
    import pandas as pd

    rows = []
    for comp, meas in _orm_rows(session, lot):
        row = {"product_code": comp.product_code, "status": comp.status}
        if meas is not None:
            row.update(
                verdict=meas.verdict,
                luminous_flux_lm=meas.luminous_flux_lm,
                cct_k=meas.cct_k,
                duv=meas.duv,
                ra=meas.ra,
                r9=meas.r9,
                failed_limits=meas.failed_limits,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def bench(url: str, n: int, label: str, out_dir: Path) -> None:
    store = Store.open(url)
    try:
        t_fill, _ = _timed(
            lambda: fill_lot(store, lot="BENCH", n=n, seed=3, with_spectra=False, analysis=False)
        )
        print(f"[{label}] filled {n} components (bulk insert) in {t_fill:.1f} s")
        with store.session() as s:
            t_y, y = _timed(lambda: lot_yield(s, "BENCH"), repeat=5)
            t_r, df = _timed(lambda: lot_records(s, lot="BENCH"), repeat=3)
            t_b, doc = _timed(lambda: build_lot_report(s, lot="BENCH"))
            t_py, py = _timed(lambda: orm_yield(s, "BENCH"), repeat=2)
            t_pr, _ = _timed(lambda: orm_records(s, "BENCH"), repeat=1)
        assert int(py["n_pass"][0]) == y["n_pass"], "peer and lightcomp disagree"
        t_h, html = _timed(lambda: render(doc, "html"))
        t_p, pdf = _timed(lambda: render(doc, "pdf"))
        (out_dir / f"bench_{label}.html").write_bytes(html)
        (out_dir / f"bench_{label}.pdf").write_bytes(pdf)
        print(
            f"[{label}] lot_yield: {1e3 * t_y:.0f} ms (yield {y['yield']:.4f}, "
            f"{y['n_pass']} pass / {y['n_fail']} fail / {y['n_error']} error)"
        )
        print(
            f"[{label}]   peer (ORM objects, Python counting): {1e3 * t_py:.0f} ms -> "
            f"lightcomp x{t_py / t_y:.1f} faster"
        )
        print(f"[{label}] lot_records: {1e3 * t_r:.0f} ms ({len(df)} rows x {df.shape[1]} columns)")
        print(
            f"[{label}]   peer (ORM objects -> DataFrame, 8 key columns only): "
            f"{1e3 * t_pr:.0f} ms -> lightcomp x{t_pr / t_r:.1f} faster"
        )
        print(f"[{label}] report build (query + statistics + plots): {t_b:.2f} s")
        print(f"[{label}] render HTML: {t_h:.2f} s ({len(html) / 1e6:.2f} MB)")
        print(f"[{label}] render PDF: {t_p:.2f} s ({len(pdf) / 1e6:.2f} MB)")
        print(f"[{label}] full HTML report: {t_b + t_h:.2f} s; full PDF report: {t_b + t_p:.2f} s")
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"[{label}] load average (1, 5, 15 min) after the run: {load} on {os.cpu_count()} cores"
        )
    finally:
        store.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="components in the lot")
    ap.add_argument("--pg", default=os.environ.get("LIGHTCOMP_TEST_PG"), help="PostgreSQL URL")
    ap.add_argument("--out", type=Path, default=None, help="folder for the rendered reports")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.out or Path(tmp)
        bench(f"sqlite:///{Path(tmp) / 'bench.db'}", args.n, "sqlite", out_dir)
        if args.pg:
            import sqlalchemy as sa

            schema = "bench_" + uuid.uuid4().hex[:10]
            eng = sa.create_engine(args.pg)
            with eng.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            sep = "&" if "?" in args.pg else "?"
            url = f"{args.pg}{sep}options={quote(f'-csearch_path={schema}')}"
            try:
                bench(url, args.n, "postgresql", out_dir)
            finally:
                with eng.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                eng.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
