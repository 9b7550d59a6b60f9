"""Re-analysis of stored measurements: stream, compute (local or Dask), write new versions.

``lightcomp reanalyze`` recomputes stored calibrated spectra with the current analysis
core and stores each result as a NEW measurement row (``kind = 'reanalysis'``) that
links the row it supersedes, names its analysis version, who recorded it and why; the
original rows are never changed (only their current pointer moves, which the
append-only triggers allow).  The archive is read in chunks by measurement id (bounded
memory whatever its size); each chunk is computed by the engine and written in one
transaction together with its audit entry, so a run killed at any moment leaves whole
chunks only, and a second run skips what the first one finished (a component whose
current row already has the target version is not selected again).

Published lots keep showing the version they were published on: their components are
re-analysed only when the lab asks for it explicitly (``--publish``), which records a
publication of the new version in the audit trail.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, or_, select, update

from lightcomp.errors import LightcompError
from lightcomp.reanalysis.compute import Chunk, NewResult, reanalyse_chunk

CHUNK = 2000


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
    """What a re-analysis changes, per quantity and per verdict/bin/code (the report)."""

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
    flips_by_maker: dict = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
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
            "verdict_flips_by_manufacturer": {k: v for k, v in self.flips_by_maker.items()},
            "seconds": round(self.seconds, 3),
        }


# -- reading ---------------------------------------------------------------------------


def _selection_filters(session, sel: Selection) -> list:
    from lightcomp.store.models import Component, Family, Lot, Measurement

    where: list = []
    if sel.lot is not None:
        lot_id = session.scalar(select(Lot.id).where(Lot.name == sel.lot))
        if lot_id is None:
            raise ReanalysisError(f"no lot named {sel.lot!r}")
        where.append(Component.lot_id == lot_id)
    if sel.family is not None:
        ids = session.scalars(
            select(Family.id).where(or_(Family.name == sel.family, Family.type_code == sel.family))
        ).all()
        if not ids:
            raise ReanalysisError(f"no family named {sel.family!r}")
        where.append(Component.family_id.in_(ids))
    if sel.since is not None:
        where.append(Measurement.measured_at >= sel.since)
    return where


def _published_lot_ids(session) -> set[int]:
    from lightcomp.store.models import Lot

    return set(
        session.scalars(
            select(Lot.id).where(Lot.published_at.is_not(None), Lot.withdrawn_at.is_(None))
        )
    )


def _chunks(store, sel: Selection, version: str, size: int) -> Iterator[tuple[list, dict]]:
    """Current measurements of the selection not yet at ``version``, ``size`` at a time
    (keyset by id: constant memory, and a re-run starts where the data says)."""
    from lightcomp.store.models import Component, Family, Manufacturer, Measurement, TestRun

    with store.session() as s:
        where = _selection_filters(s, sel)
    last = 0
    while True:
        with store.session() as s:
            rows = s.execute(
                select(
                    Measurement.id,
                    Measurement.component_id,
                    Measurement.test_run_id,
                    Measurement.wavelengths,
                    Measurement.spectrum,
                    Measurement.power_w,
                    Measurement.quantities,
                    Measurement.verdict,
                    Measurement.photometric_code,
                    Component.lot_id,
                    Component.family_id,
                    Component.product_code,
                    Manufacturer.name.label("maker"),
                )
                .join(Component, Component.id == Measurement.component_id)
                .join(Family, Family.id == Component.family_id)
                .join(Manufacturer, Manufacturer.id == Family.manufacturer_id)
                .where(
                    Measurement.is_current.is_(True),
                    Measurement.id > last,
                    Measurement.spectrum.is_not(None),
                    or_(
                        Measurement.analysis_version.is_(None),
                        Measurement.analysis_version != version,
                    ),
                    *where,
                )
                .order_by(Measurement.id)
                .limit(size)
            ).all()
            if not rows:
                return
            last = rows[-1].id
            run_ids = {r.test_run_id for r in rows if r.test_run_id is not None}
            plans = dict(
                s.execute(select(TestRun.id, TestRun.plan).where(TestRun.id.in_(run_ids))).all()
            )
        yield rows, plans


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
    from lightcomp.store.codec import decode_array

    wl = decode_array(rows[0].wavelengths)
    spectra = np.empty((len(rows), wl.size))
    for i, r in enumerate(rows):
        spectra[i] = decode_array(r.spectrum)
    return Chunk(
        ids=np.array([r.id for r in rows]),
        wavelengths=wl,
        spectra=spectra,
        power_w=np.array([np.nan if r.power_w is None else r.power_w for r in rows]),
        stored=[dict(r.quantities or {}) for r in rows],
        plan_keys=[r.test_run_id for r in rows],
        plans={k: plans[k] for k in {r.test_run_id for r in rows}},
        maintenance=[maint.get(r.family_id, (np.nan, np.nan)) for r in rows],
    )


def _split_by_grid(rows) -> list[list]:
    """Rows grouped by their wavelength grid (one batch per grid; stations store one)."""
    groups: dict[bytes, list] = {}
    for r in rows:
        groups.setdefault(bytes(r.wavelengths), []).append(r)
    return list(groups.values())


# -- engines ---------------------------------------------------------------------------


class LocalEngine:
    """Chunks computed in this process (the core's own threads)."""

    name = "local"

    def map(self, chunks: Iterator[Chunk]) -> Iterator[list[NewResult]]:
        for c in chunks:
            yield reanalyse_chunk(c)

    def close(self) -> None:
        pass


class DaskEngine:
    """Chunks computed on Dask workers: a LocalCluster, or a scheduler's cluster.

    A bounded number of chunks is in flight (two per worker thread); results come back
    in submission order, so the writes are the same as the local engine's.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int = 2):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a dependency of record
            raise ReanalysisError("the dask engine needs dask[distributed]") from exc
        self._cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="5s")
            else:
                self._cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,
                )
                self.client = Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            raise ReanalysisError(
                f"cannot reach the Dask scheduler {scheduler}: {str(exc).splitlines()[0]}"
            ) from exc
        n = sum(self.client.nthreads().values()) or 1
        self.window = 2 * n

    def map(self, chunks: Iterator[Chunk]) -> Iterator[list[NewResult]]:
        pending = []
        for c in chunks:
            pending.append(self.client.submit(reanalyse_chunk, c, pure=False))
            if len(pending) >= self.window:
                yield pending.pop(0).result()
        while pending:
            yield pending.pop(0).result()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_engine(name: str, scheduler: str | None = None):
    if name == "local":
        if scheduler:
            raise ReanalysisError("--scheduler needs --engine dask")
        return LocalEngine()
    if name == "dask":
        return DaskEngine(scheduler)
    raise ReanalysisError(f"unknown engine {name!r} (local or dask)")


# -- writing ---------------------------------------------------------------------------


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


def _write(store, rows, results: list[NewResult], version: str, who: str, why: str) -> int:
    """One transaction: new rows, old pointers cleared, component status, audit entry.

    Core statements with executemany (no ORM objects per row): the write is most of a
    re-analysis's cost on a shared store.
    """
    from sqlalchemy import bindparam

    from lightcomp.station.run_records import measurement_columns
    from lightcomp.store.audit import record
    from lightcomp.store.models import Component, Measurement

    m_t, c_t = Measurement.__table__, Component.__table__
    by_id = {r.id: r for r in rows}
    ids = [res.source_id for res in results]
    now = datetime.now(UTC)
    copied = (
        "component_id",
        "family_id",
        "test_run_id",
        "calibration_id",
        "measured_at",
        "wavelengths",
        "raw_spectrum",
        "dark_spectrum",
        "spectrum",
        "electrical",
        "temperatures",
        "stabilisation",
        "instruments",
        "uncertainty",
    )
    with store.transaction() as s:
        comp_ids = [by_id[i].component_id for i in ids]
        # Serialise with a station storing a retest of the same unit (row locks).
        s.execute(select(c_t.c.id).where(c_t.c.id.in_(comp_ids)).with_for_update())
        src = {
            r.id: r
            for r in s.execute(
                select(m_t.c.id, m_t.c.source_measurement_id, *(m_t.c[k] for k in copied)).where(
                    m_t.c.id.in_(ids), m_t.c.is_current.is_(True)
                )
            )
        }
        keep = [res for res in results if res.source_id in src]
        if not keep:
            return 0
        s.execute(
            update(m_t)
            .where(m_t.c.id.in_(list(src)), m_t.c.is_current.is_(True))
            .values(is_current=False)
        )
        new_rows = []
        for res in keep:
            m = src[res.source_id]
            new_rows.append(
                {
                    **{k: getattr(m, k) for k in copied},
                    "is_current": True,
                    "verdict": res.verdict,
                    "error_message": res.error_message,
                    "failed_limits": list(res.failed_limits),
                    "verdicts": res.verdicts,
                    "quantities": res.quantities,
                    **measurement_columns(res.quantities),
                    "analysis_version": version,
                    "kind": "reanalysis",
                    "supersedes_id": m.id,
                    "source_measurement_id": m.source_measurement_id or m.id,
                    "recorded_by": who,
                    "recorded_at": now,
                    "reason": why,
                }
            )
        s.execute(insert(m_t), new_rows)
        s.execute(
            update(c_t)
            .where(c_t.c.id == bindparam("cid"))
            .values(status=bindparam("st"), photometric_code=bindparam("pc")),
            [
                {
                    "cid": src[res.source_id].component_id,
                    "st": res.verdict,
                    "pc": res.quantities.get("photometric_code")
                    if res.verdict != "error"
                    else None,
                }
                for res in keep
            ],
        )
        record(
            s,
            "reanalysis",
            actor=who,
            subject=version,
            reason=why,
            measurements=len(keep),
            first_source=min(src),
            last_source=max(src),
        )
    return len(keep)


# -- the run ---------------------------------------------------------------------------


def reanalyze(
    store,
    sel: Selection,
    *,
    version: str | None = None,
    engine: str = "local",
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
    reason = why or f"re-analysis on {v.id}"
    diff = Diff(version=v.id, selection=sel.describe(), dry_run=dry_run)
    with store.session() as s:
        _selection_filters(s, sel)  # unknown lot/family: refuse before any work
        published = _published_lot_ids(s)
    eng = make_engine(engine, scheduler)
    t0 = time.perf_counter()
    maint: dict = {}
    compared = _compared()
    try:
        pending: list = []

        def inputs() -> Iterator[Chunk]:
            for rows, plans in _chunks(store, sel, v.id, chunk):
                todo = []
                for r in rows:
                    if r.lot_id in published and not publish:
                        diff.skipped_published += 1 if not dry_run else 0
                        if not dry_run:
                            continue
                    if r.test_run_id not in plans:
                        diff.skipped_no_plan += 1
                        continue
                    todo.append(r)
                _maintenance(store, {r.family_id for r in todo}, maint)
                for group in _split_by_grid(todo):
                    pending.append(group)
                    yield _build_chunk(group, plans, maint)

        for results in eng.map(inputs()):
            rows = pending.pop(0)
            olds = {r.id: r for r in rows}
            for res in results:
                diff.components += 1
                row = olds[res.source_id]
                _changes(diff, row.quantities or {}, res, row, compared)
            if not dry_run:
                n = _write(store, rows, results, v.id, who, reason)
                diff.written += n
                diff.skipped_moved += len(results) - n
            if progress is not None:
                progress(diff)
    finally:
        eng.close()
    diff.seconds = time.perf_counter() - t0
    if publish and not dry_run and diff.written:
        from lightcomp.store.audit import record

        with store.transaction() as s:
            record(s, "publish-version", actor=who, subject=sel.describe(), version=v.id)
    return diff
