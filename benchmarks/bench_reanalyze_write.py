"""Benchmark: CPU cost of each step of a re-analysis write on PostgreSQL, per stored row.

The re-analysis benchmark (``bench_reanalyze.py``) times whole runs, whose rates on a
shared machine move with everyone else's load.  This one replays the steps of a run one
at a time, in one thread, on one database session, and reads CPU time instead of wall
time: this process's (``time.process_time``) and the PostgreSQL session's (``/proc``:
the server must run on this machine), each split by SQL statement.  The peer is the
analysis core's CPU time per spectrum on the same spectra in the same run.

Steps: the walk over the ids of the selection (``_id_chunks``), the read of each chunk
(``_read``), and the write of each chunk's results (``_write``: temporary table loaded
by ``COPY``, new rows inserted, current pointers moved, components' status, audit).

    python benchmarks/bench_reanalyze_write.py --n 20000 \
        --db postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_reanalyze as bench  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _measure(url: str, step, items) -> tuple[float, float, Counter]:
    """Run ``step(store, item)`` for each item on a fresh store with one database
    session; return that session's CPU seconds, this process's, and the session's CPU
    seconds by statement."""
    from lightcomp.reanalysis import run as rerun
    from lightcomp.store import Store

    store = Store.open(url)
    with store.engine.connect() as c:
        pid = c.scalar(text("SELECT pg_backend_pid()"))
    per: Counter = Counter()

    @event.listens_for(store.engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, many):
        conn.info["cpu0"] = _cpu(pid)

    @event.listens_for(store.engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, many):
        per[" ".join(statement.split()[:3])[:40]] += _cpu(pid) - conn.info["cpu0"]

    real_load = rerun._load

    def timed_load(*a, **kw):
        t0 = _cpu(pid)
        real_load(*a, **kw)
        per["COPY (temporary table)"] += _cpu(pid) - t0

    rerun._load = timed_load
    try:
        s0, p0 = _cpu(pid), time.process_time()
        for it in items:
            step(store, it)
        s1, p1 = _cpu(pid), time.process_time()
    finally:
        rerun._load = real_load
        store.dispose()
    return s1 - s0, p1 - p0, per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="components in the lot")
    ap.add_argument("--db", default=os.environ.get("LIGHTCOMP_TEST_PG"))
    ap.add_argument("--chunk", type=int, default=2000)
    args = ap.parse_args()
    if not (args.db or "").startswith("postgresql"):
        ap.error("--db must name a PostgreSQL server on this machine")
    from lightcomp.analysis import analyze_arrays
    from lightcomp.reanalysis import run as rerun
    from lightcomp.store import Store

    load0 = os.getloadavg()
    url, schema = bench._pg_schema(args.db)
    try:
        bench.fill(url, args.n, lots=("BENCH-A",))
        x = bench.spectra(args.n)
        c0 = time.process_time()
        for a in range(0, args.n, args.chunk):
            analyze_arrays(bench.WL, x[a : a + args.chunk], absolute=True, power_w=30.0)
        core = (time.process_time() - c0) / args.n
        del x
        print(f"peer  analyze_arrays: {1e6 * core:.1f} us CPU per spectrum (this process)")

        # The run's chunks and results, computed once (nothing written).
        reads: list = []
        writes: list = []
        real_read, real_write = rerun._read, rerun._write

        def keep_read(store, job, ids):
            reads.append((job, ids))
            return real_read(store, job, ids)

        def keep_write(store, rows, results, *rest):
            writes.append((rows, results, *rest))
            return len(results)

        store = Store.open(url)
        rerun._read, rerun._write = keep_read, keep_write
        try:
            rerun.reanalyze(store, rerun.Selection(lot="BENCH-A"), chunk=args.chunk)
        finally:
            rerun._read, rerun._write = real_read, real_write
            store.dispose()
        job = reads[0][0]
        steps = [
            ("walk ids", lambda s, _: [len(i) for i in rerun._id_chunks(s, job, args.chunk)], [0]),
            ("read", lambda s, it: real_read(s, *it), reads),
            ("write", lambda s, it: real_write(s, *it), writes),
        ]
        for label, step, items in steps:
            total, this, per = _measure(url, step, items)
            n = args.n
            print(
                f"{label:9s} database CPU {1e6 * total / n:6.1f} us/row "
                f"(x{total / n / core:.1f} of the core), this process {1e6 * this / n:6.1f} us/row"
            )
            if label == "write":
                for k, v in per.most_common(6):
                    print(f"{'':12s}{1e6 * v / n:6.1f} us/row  {k}")
        load1 = os.getloadavg()
        print(f"load average {load0[0]:.1f} before, {load1[0]:.1f} after (2 cores)")
    finally:
        bench._drop(args.db, schema)


if __name__ == "__main__":
    main()
