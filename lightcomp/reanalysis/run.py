"""Re-analysis of stored measurements: stream, compute (local or Dask), write new versions.

``lightcomp reanalyze`` recomputes stored calibrated spectra with the current analysis
core and stores each result as a NEW measurement row (``kind = 'reanalysis'``) that
links the row it supersedes, names its analysis version, who recorded it and why; the
original rows are never changed (only their current pointer moves, which the
append-only triggers allow).  A new row holds no copy of the arrays: its
``source_measurement_id`` names the stored measurement that holds them, and every
reader follows that link (:data:`lightcomp.store.models.ArraySource`).

The driver cuts the archive into chunks of measurement ids (keyset by id: bounded
memory whatever its size) and hands the IDS to the engine; one task
(:func:`run_chunk`) reads its rows from the store, decodes the spectra in one copy,
runs the vectorised core and the judge, compares with the stored values and writes the
new rows in one transaction together with its audit entry.  The ``local`` engine runs
the tasks in this process, the ``dask`` engine on workers that open the store
themselves, so only ids and small reports cross the network.  A run killed at any
moment leaves whole chunks only, and a second run skips what the first one finished (a
component whose current row already has the target version is not selected again).

Published lots keep showing the version they were published on: their components are
re-analysed only when the lab asks for it explicitly (``--publish``), which records a
publication of the new version in the audit trail.
"""

from __future__ import annotations

import gc
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    any_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.schema import CreateTable

from lightcomp.errors import LightcompError
from lightcomp.reanalysis.compute import Chunk, NewResult, reanalyse_chunk

CHUNK = 2000
#: Verdict flips the driver of a run holds in memory; more go to temporary files.
FLIPS_IN_MEMORY = 20_000


class ReanalysisError(LightcompError):
    """A re-analysis that cannot start (unknown lot/family/version, no scheduler)."""


@dataclass
class Selection:
    """Which stored measurements to re-analyse (exactly one of lot/family/all)."""

    lot: str | None = None
    family: str | None = None
    since: datetime | None = None
    all: bool = False

    def describe(self) -> str:
        parts = []
        if self.lot:
            parts.append(f"lot {self.lot}")
        if self.family:
            parts.append(f"family {self.family}")
        if self.all:
            parts.append("all records")
        if self.since:
            parts.append(f"measured since {self.since.date().isoformat()}")
        return ", ".join(parts)


@dataclass
class Diff:
    """What a re-analysis changes, per quantity and per verdict/bin/code (the report).

    Each chunk task returns its own; the driver adds them up (:meth:`merge`).
    """

    version: str
    selection: str
    dry_run: bool
    components: int = 0
    written: int = 0
    skipped_published: int = 0
    skipped_no_plan: int = 0
    skipped_moved: int = 0
    changed: Counter = field(default_factory=Counter)  # quantity -> components changed
    max_abs: dict = field(default_factory=dict)  # quantity -> largest |change|
    verdict_flips: Counter = field(default_factory=Counter)  # "pass->fail" -> count
    bin_flips: int = 0
    code_flips: int = 0
    # manufacturer -> [{"code", "from", "to"}] held in memory (a chunk's all; the driver's
    # up to FLIPS_IN_MEMORY, the rest in a temporary file per manufacturer: flips())
    flips_by_maker: dict = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0
    # Busy seconds per stage, summed over chunks (read, decode, analyse, judge, compare,
    # write): where a run's time goes; stages overlap in time, so they may sum to more
    # than ``seconds``.
    stages: Counter = field(default_factory=Counter)
    # manufacturer -> (temporary file of JSON lines, flips in it): the driver's spool
    _spooled: dict = field(default_factory=dict, repr=False, compare=False)

    def merge(self, other: Diff) -> None:
        """Add the counts of another chunk's diff to this one."""
        self.stages.update(other.stages)
        for name in (
            "components",
            "written",
            "skipped_published",
            "skipped_no_plan",
            "skipped_moved",
            "bin_flips",
            "code_flips",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.changed.update(other.changed)
        self.verdict_flips.update(other.verdict_flips)
        for k, v in other.max_abs.items():
            mine = self.max_abs.get(k)
            self.max_abs[k] = v if mine is None else (mine if v is None else max(mine, v))
        for maker, items in other.flips_by_maker.items():
            self.flips_by_maker[maker].extend(items)
        if sum(map(len, self.flips_by_maker.values())) > FLIPS_IN_MEMORY:
            self._spool()

    def _spool(self) -> None:
        """Move the flips held in memory to the temporary files (a run's memory stays
        bounded however many verdicts flip: every unit of an archive may)."""
        import tempfile

        from lightcomp.jsonvalues import dumps

        for maker, items in self.flips_by_maker.items():
            if not items:
                continue
            f, n = self._spooled.get(maker) or (tempfile.TemporaryFile(), 0)
            f.seek(0, 2)
            f.write("".join(dumps(e) + "\n" for e in items).encode())
            self._spooled[maker] = (f, n + len(items))
        self.flips_by_maker.clear()

    def flip_counts(self) -> dict[str, int]:
        """Verdict flips per manufacturer (in the order they were first seen)."""
        out = {m: n for m, (_, n) in self._spooled.items()}
        for m, items in self.flips_by_maker.items():
            out[m] = out.get(m, 0) + len(items)
        return {m: n for m, n in out.items() if n}

    def flips(self, maker: str) -> Iterator[dict]:
        """The verdict flips of ``maker`` in run order (``{"code", "from", "to"}``)."""
        from lightcomp.jsonvalues import loads

        spooled = self._spooled.get(maker)
        if spooled is not None:
            f = spooled[0]
            f.seek(0)
            for line in f:
                yield loads(line)
        yield from self.flips_by_maker.get(maker, ())

    def write_report(self, path) -> None:
        """The report as JSON (:meth:`as_dict`'s), the flips streamed from their files."""
        import json

        head = json.dumps(self.as_dict(flips=False), indent=2, ensure_ascii=False)
        before, after = head.split('"verdict_flips_by_manufacturer": {}', 1)
        with open(path, "w", encoding="utf-8") as out:
            out.write(before + '"verdict_flips_by_manufacturer": {')
            for k, maker in enumerate(self.flip_counts()):
                out.write(("," if k else "") + f"\n    {json.dumps(maker, ensure_ascii=False)}: [")
                for j, e in enumerate(self.flips(maker)):
                    out.write(("," if j else "") + "\n      " + json.dumps(e, ensure_ascii=False))
                out.write("\n    ]")
            out.write("\n  }" + after)

    def as_dict(self, flips: bool = True) -> dict[str, Any]:
        """The report; ``flips=False`` leaves out the list of flips per manufacturer
        (:meth:`flips`, :meth:`write_report`: they may not fit in memory)."""
        return {
            "analysis_version": self.version,
            "selection": self.selection,
            "dry_run": self.dry_run,
            "components": self.components,
            "written": self.written,
            "skipped": {
                "published": self.skipped_published,
                "no_plan": self.skipped_no_plan,
                "changed_meanwhile": self.skipped_moved,
            },
            "quantities": {
                k: {"components_changed": self.changed[k], "max_abs_change": self.max_abs[k]}
                for k in sorted(self.changed)
            },
            "verdict_flips": dict(self.verdict_flips),
            "ansi_bin_flips": self.bin_flips,
            "photometric_code_flips": self.code_flips,
            "verdict_flips_by_manufacturer": (
                {m: list(self.flips(m)) for m in self.flip_counts()} if flips else {}
            ),
            "seconds": round(self.seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stages.items()},
        }


@dataclass(frozen=True)
class Job:
    """What every chunk task needs to know (plain data: Dask ships it to workers)."""

    version: str
    selection: str
    lot_id: int | None
    family_ids: tuple[int, ...] | None
    since: datetime | None
    published: frozenset[int]
    publish: bool
    dry_run: bool
    who: str
    why: str
    # Where a worker opens the store (Dask engine), WITHOUT its password: task arguments
    # travel over the scheduler's connections; a worker takes the password from its own
    # environment (:func:`_worker_url`).
    db_url: str | None = None


# -- selecting -------------------------------------------------------------------------


def _resolve(session, sel: Selection) -> tuple[int | None, tuple[int, ...] | None]:
    """Lot id and family ids of the selection; an unknown name is a one-line error."""
    from lightcomp.store.models import Family, Lot

    lot_id = family_ids = None
    if sel.lot is not None:
        lot_id = session.scalar(select(Lot.id).where(Lot.name == sel.lot))
        if lot_id is None:
            raise ReanalysisError(f"no lot named {sel.lot!r}")
    if sel.family is not None:
        family_ids = tuple(
            session.scalars(
                select(Family.id).where(
                    or_(Family.name == sel.family, Family.type_code == sel.family)
                )
            ).all()
        )
        if not family_ids:
            raise ReanalysisError(f"no family named {sel.family!r}")
    return lot_id, family_ids


def _still_to_do(job: Job) -> list:
    """Current measurements not yet at the job's version (what may change during a run:
    a chunk task checks it again when it reads its ids)."""
    from lightcomp.store.models import Measurement, current_measurement_clause

    return [
        current_measurement_clause(),
        or_(Measurement.analysis_version.is_(None), Measurement.analysis_version != job.version),
    ]


def _where(job: Job) -> list:
    """Current measurements of the selection not yet at the job's version."""
    from lightcomp.store.models import Component, Measurement

    where: list = _still_to_do(job)
    if job.lot_id is not None:
        where.append(Component.lot_id == job.lot_id)
    if job.family_ids is not None:
        where.append(Component.family_id.in_(job.family_ids))
    if job.since is not None:
        where.append(Measurement.measured_at >= job.since)
    return where


def _published_lot_ids(session) -> frozenset[int]:
    from lightcomp.store.models import Lot

    return frozenset(
        session.scalars(
            select(Lot.id).where(Lot.published_at.is_not(None), Lot.withdrawn_at.is_(None))
        )
    )


def _id_chunks(store, job: Job, size: int) -> Iterator[tuple[int, ...]]:
    """The ids of at most ``size`` measurements to do at a time, ascending (keyset by id:
    constant memory, and a re-run starts where the data says).  Only ids are read; a
    chunk task reads its rows by primary key, whatever the planner's statistics."""
    from lightcomp.store.models import Component, Measurement

    last = 0
    while True:
        with store.session() as s:
            ids = s.scalars(
                select(Measurement.id)
                .join(Component, Component.id == Measurement.component_id)
                .where(Measurement.id > last, *_where(job))
                .order_by(Measurement.id)
                .limit(size)
            ).all()
        if not ids:
            return
        last = ids[-1]
        yield tuple(ids)


# -- reading ---------------------------------------------------------------------------


def _fetch(session, stmt) -> list:
    """All rows of ``stmt`` (attribute access by column name).  On PostgreSQL through a
    binary psycopg cursor: BYTEA spectra and JSONB arrive as they are stored, without
    the text protocol's hex and JSON text round trip on both sides."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return session.execute(stmt).all()
    from psycopg.rows import namedtuple_row

    sql = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw = conn.connection.driver_connection
    with raw.cursor(binary=True, row_factory=namedtuple_row) as cur:
        from psycopg.types.json import set_json_loads

        from lightcomp.jsonvalues import loads

        set_json_loads(loads, cur)  # this cursor's JSONB: orjson, not json.loads
        cur.execute(str(sql), sql.params)
        return cur.fetchall()


class _Row(NamedTuple):
    """One stored measurement to re-analyse, with its component and manufacturer."""

    id: int
    component_id: int
    test_run_id: int | None
    wavelengths: bytes
    spectrum: bytes
    power_w: float | None
    quantities: dict | None
    verdict: str
    photometric_code: str | None
    source_id: int  # the row holding the arrays: the measurement whose Monte Carlo gave U
    uncertainty: dict | None  # that measurement's stored U
    source_quantities: dict | None  # and its values (None: the row is that measurement)
    error_message: str | None
    lot_id: int | None
    family_id: int
    product_code: str
    maker: str


def _id_in(session, column, ids):
    """``column IN ids``; on PostgreSQL one array parameter (``= ANY(:ids)``) instead of
    thousands of bound values to render and convert."""
    if session.connection().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)


def _read(store, job: Job, ids: tuple[int, ...]) -> tuple[list[_Row], dict]:
    """The rows of one chunk of ids still to do (with the arrays they link) and their
    test plans.

    Every query goes by primary key (the ids, then their components, families and
    plans), so reading a chunk costs the same whatever the size of the archive or the
    selected lot, and whatever the planner's statistics say.
    """
    from lightcomp.store.models import (
        ArraySource,
        Component,
        Family,
        Manufacturer,
        Measurement,
        TestRun,
        array_source_on,
    )

    with store.session() as s:
        found = _fetch(
            s,
            select(
                Measurement.id,
                Measurement.component_id,
                Measurement.test_run_id,
                ArraySource.wavelengths,
                ArraySource.spectrum,
                Measurement.power_w,
                Measurement.quantities,
                Measurement.verdict,
                Measurement.photometric_code,
                ArraySource.id,
                ArraySource.uncertainty,
                case(
                    (Measurement.source_measurement_id.is_not(None), ArraySource.quantities)
                ).label("source_quantities"),
                Measurement.error_message,
            )
            .join(ArraySource, array_source_on())
            .where(
                _id_in(s, Measurement.id, ids),
                ArraySource.spectrum.is_not(None),
                *_still_to_do(job),
            )
            .order_by(Measurement.id),
        )
        if not found:
            return [], {}
        comps = {
            c.id: c
            for c in s.execute(
                select(
                    Component.id, Component.lot_id, Component.family_id, Component.product_code
                ).where(_id_in(s, Component.id, {m.component_id for m in found}))
            )
        }
        makers = dict(
            s.execute(
                select(Family.id, Manufacturer.name)
                .join(Manufacturer, Manufacturer.id == Family.manufacturer_id)
                .where(Family.id.in_({c.family_id for c in comps.values()}))
            ).all()
        )
        run_ids = {m.test_run_id for m in found if m.test_run_id is not None}
        plans = (
            dict(s.execute(select(TestRun.id, TestRun.plan).where(TestRun.id.in_(run_ids))).all())
            if run_ids
            else {}
        )
    rows = []
    for m in found:
        c = comps[m.component_id]
        rows.append(_Row(*m, c.lot_id, c.family_id, c.product_code, makers[c.family_id]))
    return rows, plans


def _maintenance(store, family_ids: set[int], cache: dict) -> None:
    from lightcomp.station.evaluate import family_maintenance
    from lightcomp.store.models import Family

    need = family_ids - set(cache)
    if not need:
        return
    with store.session() as s:
        for fid, name, lm80 in s.execute(
            select(Family.id, Family.name, Family.lm80).where(Family.id.in_(need))
        ):
            try:
                cache[fid] = family_maintenance(lm80, name)
            except LightcompError:
                cache[fid] = (np.nan, np.nan)


def _build_chunk(rows, plans, maint: dict) -> Chunk:
    from lightcomp.store.codec import decode_array, decode_stack

    return Chunk(
        ids=np.array([r.id for r in rows]),
        wavelengths=decode_array(rows[0].wavelengths),
        spectra=decode_stack([r.spectrum for r in rows]),
        power_w=np.array([np.nan if r.power_w is None else r.power_w for r in rows]),
        stored=[r.quantities or {} for r in rows],
        plan_keys=[r.test_run_id for r in rows],
        plans={k: plans[k] for k in {r.test_run_id for r in rows}},
        maintenance=[maint.get(r.family_id, (np.nan, np.nan)) for r in rows],
        uncertainty=[r.uncertainty or {} for r in rows],
        source_ids=[r.source_id for r in rows],
        source_quantities=[r.source_quantities for r in rows],
        errors=[r.error_message if r.verdict == "error" else None for r in rows],
    )


def _split_by_grid(rows) -> list[list]:
    """Rows grouped by their wavelength grid (one batch per grid; stations store one)."""
    groups: dict[bytes, list] = {}
    for r in rows:
        groups.setdefault(bytes(r.wavelengths), []).append(r)
    return list(groups.values())


# -- one chunk (what an engine runs) ---------------------------------------------------


_STORES: dict[str, Any] = {}


def task_url(url) -> str:
    """The store's URL (a SQLAlchemy URL or a string) as a task carries it: everything
    but the password."""
    from sqlalchemy.engine import URL

    from lightcomp.store.engine import resolve_url

    u = url if isinstance(url, URL) else resolve_url(url)
    # (URL.set(password=None) keeps the password: None there means "unchanged".)
    return u._replace(password=None).render_as_string(hide_password=False)


def _worker_url(url: str) -> str:
    """The URL a worker opens for a task's ``url`` (which has no password): this
    process's ``$LIGHTCOMP_DB`` when it names the same database (with the password it
    holds; a LocalCluster's workers inherit the driver's), else ``url`` itself, for which
    the database driver finds the password as libpq does (``PGPASSWORD``, ``~/.pgpass``).
    """
    from lightcomp.store.engine import ENV_VAR

    own = os.environ.get(ENV_VAR)
    if own:
        try:
            same = task_url(own) == task_url(url)
        except LightcompError:
            same = False
        if same:
            return own
    return url


def _worker_store(url: str):
    """The store of a Dask worker process (opened once per process and URL)."""
    from lightcomp.store import Store

    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = Store.open(_worker_url(url), create=False)
    return store


@dataclass
class _Read:
    """A chunk of ids read and decoded: its diff so far and its batches (one per grid)."""

    diff: Diff
    chunks: list[tuple[list, Chunk]]


def _prepare(job: Job, ids: tuple[int, ...], store) -> _Read:
    """Read one chunk, leave out what is not to be done, decode its spectra."""
    diff = Diff(version=job.version, selection=job.selection, dry_run=job.dry_run)
    t0 = time.perf_counter()
    rows, plans = _read(store, job, ids)
    todo = []
    for r in rows:
        if r.lot_id in job.published and not job.publish:
            if not job.dry_run:
                diff.skipped_published += 1
                continue
        if r.test_run_id not in plans:
            diff.skipped_no_plan += 1
            continue
        todo.append(r)
    maint: dict = {}
    _maintenance(store, {r.family_id for r in todo}, maint)
    t1 = time.perf_counter()
    chunks = [(g, _build_chunk(g, plans, maint)) for g in _split_by_grid(todo)]
    diff.stages["read"] += t1 - t0
    diff.stages["decode"] += time.perf_counter() - t1
    return _Read(diff, chunks)


def _compute(read: _Read) -> list[tuple[list, list[NewResult]]]:
    """Re-analyse the batches of a chunk and count what changes (in ``read.diff``)."""
    compared = _compared()
    out = []
    for group, chunk in read.chunks:
        results = reanalyse_chunk(chunk, read.diff.stages)
        t = time.perf_counter()
        olds = {r.id: r for r in group}
        for res in results:
            read.diff.components += 1
            row = olds[res.source_id]
            _changes(read.diff, row.quantities or {}, res, row, compared)
        out.append((group, results))
        read.diff.stages["compare"] += time.perf_counter() - t
    return out


def _store_results(job: Job, store, batches: list, diff: Diff) -> None:
    """Write a chunk's results (one transaction per batch), unless a dry run."""
    if job.dry_run:
        return
    for group, results in batches:
        t = time.perf_counter()
        n = _write(store, group, results, job.version, job.who, job.why)
        diff.stages["write"] += time.perf_counter() - t
        diff.written += n
        diff.skipped_moved += len(results) - n


#: The cyclic garbage collector's thresholds for the older generations while chunks are
#: in flight (Python's defaults: 10 and 10).
GC_OLDER_THRESHOLDS = (100, 100)


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """Run the block with the collector's two older generations collected ten times
    less often (young objects as usual), then put the thresholds back.

    A chunk in flight is a few hundred thousand live objects (rows, dicts of quantities
    and verdicts, U entries), none in a reference cycle, so they are freed by their
    reference counts; with the default thresholds the collector nevertheless walks them
    again and again in its generation-1 and full passes: about 20-30 µs of CPU per row
    measured (a third of a chunk's Python time).  Memory stays bounded: the passes
    still run, every 100 instead of every 10.  Process-wide, as the thresholds are."""
    old = gc.get_threshold()
    gc.set_threshold(
        old[0], max(old[1], GC_OLDER_THRESHOLDS[0]), max(old[2], GC_OLDER_THRESHOLDS[1])
    )
    try:
        yield
    finally:
        gc.set_threshold(*old)


def run_chunk(job: Job, ids: tuple[int, ...], store=None) -> Diff:
    """Read, re-analyse, compare and (unless a dry run) write one chunk of ids.

    What a Dask worker runs (it opens ``job.db_url`` itself); the local engine runs the
    same three steps, overlapped across chunks.  Returns the chunk's diff.
    """
    if store is None:
        store = _worker_store(job.db_url)
    with fewer_full_collections():
        read = _prepare(job, ids, store)
        _store_results(job, store, _compute(read), read.diff)
    return read.diff


# -- engines ---------------------------------------------------------------------------


def _in_memory(url) -> bool:
    """An in-memory SQLite store: one connection per thread sees its own empty database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


class LocalEngine:
    """Chunks run in this process, in order (the core's own threads compute).

    While one chunk is computed, the next is read and the previous one written, each
    in a helper thread (the database works meanwhile).  Writes stay one at a time and
    in chunk order: a write starts only when the one before it has committed, so a run
    killed at any moment leaves the same whole chunks as a plain loop would.
    """

    name = "local"

    def run(self, job: Job, chunks: Iterator[tuple[int, ...]], store) -> Iterator[Diff]:
        it = iter(chunks)
        if _in_memory(store.engine.url):  # no helper threads: they would see no store
            for ids in it:
                yield run_chunk(job, ids, store)
            return
        first = next(it, None)
        if first is None:
            return
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="reanalysis") as pool:
            reading = pool.submit(_prepare, job, first, store)
            writing = None
            while reading is not None:
                read = reading.result()
                nxt = next(it, None)
                reading = None if nxt is None else pool.submit(_prepare, job, nxt, store)
                batches = _compute(read)
                if writing is not None:
                    writing[0].result()
                    yield writing[1]
                writing = (pool.submit(_store_results, job, store, batches, read.diff), read.diff)
            if writing is not None:
                writing[0].result()
                yield writing[1]

    def close(self) -> None:
        pass


def _warm_up(analysis_threads: int | None = None) -> None:
    """Import what a chunk needs and fill the core's tables (run on every Dask worker
    when the engine starts, so the first chunk costs what the others cost); with
    ``analysis_threads``, the core of this worker runs on that many threads (before its
    pool exists)."""
    import lightcomp.station.judge  # noqa: F401
    import lightcomp.store.audit  # noqa: F401
    from lightcomp.analysis import _cr_common, analyze_arrays

    if analysis_threads is not None:
        _cr_common.THREADS = max(1, int(analysis_threads))

    wl = np.arange(380.0, 781.0)
    analyze_arrays(wl, np.exp(-0.5 * ((wl - 560.0) / 80.0) ** 2)[None, :], absolute=True)


class DaskEngine:
    """Chunks run on Dask workers: a LocalCluster, or a scheduler's cluster.

    Workers get chunks of ids, not arrays: each reads its rows from the store, computes,
    writes its transaction and returns the chunk's diff.  A bounded number of chunks is
    in flight (two per worker thread).
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int = 2,
        store_url=None,
        analysis_threads: int | None = None,
    ):
        """``store_url``: the store the runs will use; when its URL holds a password, the
        LocalCluster's workers get it in their environment (``$LIGHTCOMP_DB``), never in
        a task.  Workers of a ``scheduler`` use their own environment.

        ``analysis_threads``: the core's threads in each worker.  A LocalCluster shares
        this machine's cores, so by default its workers split them (one each on two
        cores, instead of two workers each running the core's two threads beside the
        database); a scheduler's workers keep their own unless it is given."""
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a dependency of record
            raise ReanalysisError("the dask engine needs dask[distributed]") from exc
        self._cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="5s")
            else:
                env = {}
                if store_url is not None and getattr(store_url, "password", None):
                    from lightcomp.store.engine import ENV_VAR

                    env[ENV_VAR] = store_url.render_as_string(hide_password=False)
                self._cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,
                    env=env,
                )
                self.client = Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            raise ReanalysisError(
                f"cannot reach the Dask scheduler {scheduler}: {str(exc).splitlines()[0]}"
            ) from exc
        n = sum(self.client.nthreads().values()) or 1
        self.window = 2 * n
        if analysis_threads is None and self._cluster is not None:
            analysis_threads = max(1, (os.cpu_count() or 1) // workers)
        # Workers import the core now, not in the first chunk.
        self.client.run(_warm_up, analysis_threads)

    def run(self, job: Job, chunks: Iterator[tuple[int, ...]], store) -> Iterator[Diff]:
        from dask.distributed import wait

        if job.db_url is None:
            raise ReanalysisError("the dask engine needs a store that workers can open")
        pending: set = set()
        for ids in chunks:
            pending.add(self.client.submit(run_chunk, job, ids, pure=False))
            if len(pending) >= self.window:
                done, pending = wait(pending, return_when="FIRST_COMPLETED")
                for f in done:
                    yield f.result()
        for f in pending:
            yield f.result()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_engine(name, scheduler: str | None = None, store_url=None):
    """The engine called ``name`` (``local`` or ``dask``); an engine object is used as
    given (a benchmark starts its cluster once, outside the timed runs)."""
    if not isinstance(name, str):
        return name
    if name == "local":
        if scheduler:
            raise ReanalysisError("--scheduler needs --engine dask")
        return LocalEngine()
    if name == "dask":
        return DaskEngine(scheduler, store_url=store_url)
    raise ReanalysisError(f"unknown engine {name!r} (local or dask)")


# -- comparing -------------------------------------------------------------------------


def _compared() -> list[tuple[str, str, float, float]]:
    """(name, key, display scale, smallest shown change) of every numeric column quantity."""
    from lightcomp import quantities as catalogue

    # "Changes" are what a reader would see: beyond half a unit of the shown digits.
    return [
        (q.name, q.key, q.scale, 0.5 * 10.0 ** (-q.decimals))
        for q in catalogue.column_quantities()
        if q.kind == "number"
    ]


def _changes(diff: Diff, old: dict, new: NewResult, row, compared=None) -> None:
    nq = new.quantities
    for name, key, scale, shown in compared if compared is not None else _compared():
        a, b = old.get(key), nq.get(key)
        if a is None and b is None:
            continue
        if a is None or b is None or isinstance(a, str) or isinstance(b, str):
            diff.changed[name] += 1
            diff.max_abs.setdefault(name, None)
            continue
        d = abs(b - a) * scale
        if d > shown:
            diff.changed[name] += 1
            prev = diff.max_abs.get(name)
            diff.max_abs[name] = d if prev is None else max(prev, d)
    if row.verdict != new.verdict:
        diff.verdict_flips[f"{row.verdict}->{new.verdict}"] += 1
        diff.flips_by_maker[row.maker].append(
            {"code": row.product_code, "from": row.verdict, "to": new.verdict}
        )
    if old.get("ansi_category") != new.quantities.get("ansi_category"):
        diff.bin_flips += 1
    if row.photometric_code != new.quantities.get("photometric_code"):
        diff.code_flips += 1


# -- writing ---------------------------------------------------------------------------

#: Columns of a new row computed by the re-analysis (the U: the stored one carried to
#: the new values); every other column of the superseded row is kept as stored (copied
#: by the database), except the arrays, which the new row links through
#: ``source_measurement_id``, and the row's own history.
_COMPUTED = ("verdict", "error_message", "failed_limits", "verdicts", "quantities", "uncertainty")
_JSON = ("failed_limits", "verdicts", "quantities", "uncertainty")
_ARRAYS = ("wavelengths", "raw_spectrum", "dark_spectrum", "spectrum")
_HISTORY = (
    "id",
    "analysis_version",
    "kind",
    "supersedes_id",
    "source_measurement_id",
    "recorded_by",
    "recorded_at",
    "reason",
)
_NEW_TABLE = "lc_reanalysis_new"
_new_tables: dict[str, tuple[Table, list[str]]] = {}


def _key_columns() -> list[str]:
    from lightcomp.station.run_records import measurement_columns

    return list(measurement_columns({}))


def _new_table() -> tuple[Table, list[str]]:
    """The temporary table a chunk's new values are loaded into (one per process)."""
    if "t" not in _new_tables:
        from lightcomp.store.models import Measurement

        m_t = Measurement.__table__
        keys = _key_columns()
        cols = [
            Column("source_id", Integer, primary_key=True),
            Column("component_id", Integer),
            Column("verdict", String(8)),
            Column("error_message", Text),
            *(Column(k, Text) for k in _JSON),  # JSON text, cast on insert
            *(Column(k, m_t.c[k].type) for k in keys),
        ]
        t = Table(
            _NEW_TABLE,
            MetaData(),
            *cols,
            prefixes=["TEMPORARY"],
            postgresql_on_commit="DELETE ROWS",
        )
        _new_tables["t"] = (t, keys)
    return _new_tables["t"]


def _new_values(rows, results: list[NewResult]) -> list[tuple]:
    """One tuple per new row, in the temporary table's column order (the one rule for
    both loaders: JSON serialised here, key columns by ``measurement_columns``)."""
    from lightcomp.station.run_records import measurement_columns

    comp = {r.id: r.component_id for r in rows}
    from lightcomp.jsonvalues import dumps

    out = []
    for res in results:
        out.append(
            (
                res.source_id,
                comp[res.source_id],
                res.verdict,
                res.error_message,
                dumps(list(res.failed_limits)),
                dumps(res.verdicts),
                dumps(res.quantities),
                dumps(res.uncertainty),  # a reference to the Monte Carlo (compute.py)
                *measurement_columns(res.quantities).values(),
            )
        )
    return out


#: Load the new values with PostgreSQL ``COPY`` (else, and on SQLite: ``executemany``).
USE_COPY = True


def _copy_type(column: Column) -> str:
    """PostgreSQL type of a temporary-table column for binary ``COPY``: numbers go as
    8-byte floats and integers, not as text to print here and parse there."""
    t = column.type
    if isinstance(t, Integer):
        return "int4"
    if isinstance(t, Float):
        return "float8"
    if isinstance(t, Boolean):
        return "bool"
    return "text"


def _load(session, table: Table, values: list[tuple]) -> None:
    names = [c.name for c in table.columns]
    conn = session.connection()
    if USE_COPY and conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy(
                f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
            ) as cp:
                cp.set_types([_copy_type(c) for c in table.columns])
                for v in values:
                    cp.write_row(v)
    else:
        session.execute(insert(table), [dict(zip(names, v, strict=True)) for v in values])


def _write(store, rows, results: list[NewResult], version: str, who: str, why: str) -> int:
    """One transaction: new rows, current pointers moved, component status, audit entry.

    The new values go into a temporary table in bulk (``COPY`` on PostgreSQL,
    ``executemany`` on SQLite); the database then inserts the new rows of the sources
    still current with ``INSERT ... SELECT`` (copying the stored readings from the
    superseded rows without a round trip) and moves their pointers in one
    ``UPDATE ... FROM ... RETURNING``: a unit measured again meanwhile is skipped.
    """
    from sqlalchemy.dialects.postgresql import JSONB

    from lightcomp.store.audit import record
    from lightcomp.store.models import (
        Component,
        CurrentMeasurement,
        Measurement,
        current_measurement_clause,
    )

    m_t, c_t = Measurement.__table__, Component.__table__
    p_t = CurrentMeasurement.__table__
    n_t, keys = _new_table()
    computed = set(_COMPUTED) | set(keys) | set(_ARRAYS) | set(_HISTORY)
    kept_cols = [c.name for c in m_t.columns if c.name not in computed]
    values = _new_values(rows, results)
    now = datetime.now(UTC)
    with store.transaction() as s:
        pg = s.connection().dialect.name == "postgresql"
        s.execute(CreateTable(n_t, if_not_exists=True))
        if pg:
            # A row's JSON (the carried U alone is ~8 kB) goes out of line uncompressed:
            # the default would pglz-compress it into the temporary table only for the
            # insert to decompress it again (database CPU of the COPY 112 -> 22 us a
            # row, benchmarks/bench_reanalyze_write.py).
            s.execute(
                text(
                    f"ALTER TABLE {n_t.name} "
                    + ", ".join(f"ALTER COLUMN {c} SET STORAGE EXTERNAL" for c in _JSON)
                )
            )
        s.execute(delete(n_t))
        _load(s, n_t, values)
        if pg:  # serialise with a station storing a retest of the same unit (row locks)
            s.execute(
                select(c_t.c.id).where(c_t.c.id.in_(select(n_t.c.component_id))).with_for_update()
            )

        def js(c):
            return cast(c, JSONB) if pg else c

        # New rows for the sources still current (a retest may have moved a pointer; the
        # component locks keep it where it is until commit).  On SQLite this is the
        # transaction's first statement on the store: it waits for the write lock
        # instead of failing on a stale read snapshot.
        m = m_t.alias("superseded")
        s.execute(
            insert(m_t).from_select(
                [*kept_cols, *_COMPUTED, *keys, *_HISTORY[1:]],
                select(
                    *(m.c[k] for k in kept_cols),
                    n_t.c.verdict,
                    n_t.c.error_message,
                    *(js(n_t.c[k]) for k in _JSON),
                    *(n_t.c[k] for k in keys),
                    literal(version, m_t.c.analysis_version.type),
                    literal("reanalysis", m_t.c.kind.type),
                    m.c.id,
                    func.coalesce(m.c.source_measurement_id, m.c.id),
                    literal(who, m_t.c.recorded_by.type),
                    literal(now, m_t.c.recorded_at.type),
                    literal(why, m_t.c.reason.type),
                )
                .join_from(n_t, m, m.c.id == n_t.c.source_id)
                .where(current_measurement_clause(m))
                .order_by(n_t.c.source_id),
            )
        )
        # Move each pointer from the row re-analysed to the new row superseding it.
        new = m_t.alias("successor")
        kept = s.scalars(
            update(p_t)
            .where(
                p_t.c.measurement_id == n_t.c.source_id,
                new.c.supersedes_id == n_t.c.source_id,
                new.c.kind == "reanalysis",
            )
            .values(measurement_id=new.c.id)
            .returning(p_t.c.component_id)
        ).all()
        if not kept:
            return 0
        sources = [v[0] for v in values]
        if len(kept) < len(values):
            s.execute(delete(n_t).where(n_t.c.component_id.not_in(kept)))
            moved = set(kept)
            sources = [v[0] for v in values if v[1] in moved]
        # Components whose status or code changes (most keep theirs: an update that
        # changes nothing would still write a row version and its index entries).
        code = case((n_t.c.verdict != "error", n_t.c.photometric_code), else_=None)
        s.execute(
            update(c_t)
            .where(
                c_t.c.id == n_t.c.component_id,
                or_(c_t.c.status != n_t.c.verdict, c_t.c.photometric_code.is_distinct_from(code)),
            )
            .values(status=n_t.c.verdict, photometric_code=code)
        )
        record(
            s,
            "reanalysis",
            actor=who,
            subject=version,
            reason=why,
            measurements=len(kept),
            first_source=min(sources),
            last_source=max(sources),
        )
    return len(kept)


# -- the run ---------------------------------------------------------------------------


def reanalyze(
    store,
    sel: Selection,
    *,
    version: str | None = None,
    engine: str | LocalEngine | DaskEngine = "local",
    scheduler: str | None = None,
    dry_run: bool = False,
    publish: bool = False,
    who: str = "lab",
    why: str | None = None,
    chunk: int = CHUNK,
    progress: Callable[[Diff], None] | None = None,
) -> Diff:
    """Re-analyse the selection; return what changed (and, unless ``dry_run``, store it)."""
    from lightcomp.analysis.version import computable_version

    v = computable_version(version)
    if chunk < 1:
        raise ReanalysisError("--chunk must be at least 1")
    diff = Diff(version=v.id, selection=sel.describe(), dry_run=dry_run)
    url = store.engine.url
    with store.session() as s:
        lot_id, family_ids = _resolve(s, sel)  # unknown lot/family: refuse before any work
        published = _published_lot_ids(s)
    job = Job(
        version=v.id,
        selection=diff.selection,
        lot_id=lot_id,
        family_ids=family_ids,
        since=sel.since,
        published=published,
        publish=publish,
        dry_run=dry_run,
        who=who,
        why=why or f"re-analysis on {v.id}",
        db_url=task_url(url),
    )
    if (engine == "dask" or isinstance(engine, DaskEngine)) and _in_memory(url):
        raise ReanalysisError(
            "the dask engine needs a store its workers can open, not an in-memory SQLite"
        )
    eng = make_engine(engine, scheduler, store_url=url)
    t0 = time.perf_counter()
    try:
        with fewer_full_collections():  # the local engine's chunks (and their threads)
            for part in eng.run(job, _id_chunks(store, job, chunk), store):
                diff.merge(part)
                if progress is not None:
                    progress(diff)
    finally:
        if eng is not engine:  # an engine passed in is the caller's to close
            eng.close()
    diff.seconds = time.perf_counter() - t0
    if publish and not dry_run and diff.written:
        from lightcomp.store.audit import record

        with store.transaction() as s:
            record(s, "publish-version", actor=who, subject=sel.describe(), version=v.id)
    return diff
