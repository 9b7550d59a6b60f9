"""The store writes of a batch run: open the run, issue components, store a result, finish.

Each function is one transaction.  The runner (:mod:`lightcomp.station.runner`)
calls them in that order; the test fixtures insert measurement rows through
:func:`measurement_columns`, so they cannot drift from what a run stores.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, update

from lightcomp import quantities as catalogue
from lightcomp.analysis.version import CURRENT as ANALYSIS_VERSION
from lightcomp.calibration import GRID_NM, CalibrationSet, current_calibration
from lightcomp.errors import PlanError, StoreError
from lightcomp.jsonvalues import finite, json_safe
from lightcomp.station.config import StationConfig
from lightcomp.station.evaluate import ComponentResult, family_maintenance
from lightcomp.station.plan import TestPlan
from lightcomp.store.codec import encode_array
from lightcomp.store.lots import LotStateError, require_open
from lightcomp.store.models import (
    Component,
    CurrentMeasurement,
    Family,
    Instrument,
    Lot,
    Measurement,
    TestRun,
    current_measurement_id,
)

__all__ = [
    "DONE_STATUSES",
    "OpenedRun",
    "component_for_serial",
    "components_for_count",
    "finish_run",
    "lot_counts",
    "measurement_columns",
    "open_run",
    "record_instruments",
    "store_result",
]

DONE_STATUSES = ("pass", "fail")


@dataclass
class OpenedRun:
    """What :func:`open_run` created and found."""

    run_id: int
    run_uid: str
    lot_id: int
    family_id: int
    family_name: str
    calibration: CalibrationSet
    maintenance: tuple[float, float]
    lock_note: str | None = None  # a killed run's lot lock taken over
    interrupted: list[str] = field(default_factory=list)  # earlier runs found unfinished


def open_run(
    store,
    station: StationConfig,
    plan: TestPlan,
    lot_name: str,
    *,
    operator: str | None,
    params: dict,
    now: datetime,
) -> OpenedRun:
    """Check calibration, family and lot (creating it), mark the station's earlier
    running runs on the lot interrupted and create the test run."""
    from lightcomp import __version__
    from lightcomp.coding.allocation import get_or_create_lot
    from lightcomp.coding.registry import find_family
    from lightcomp.station import lotlock

    run_uid = uuid.uuid4().hex

    with store.transaction() as s:
        calibration = current_calibration(s, station.name, now)
        fam = find_family(s, plan.family, plan.manufacturer)
        maintenance = family_maintenance(fam.lm80, fam.name)
        lot, created = get_or_create_lot(s, lot_name, fam.id, received_at=now)
        if not created:
            try:
                require_open(lot)
            except LotStateError as exc:
                raise PlanError(str(exc)) from None
        if lot.family_id not in (None, fam.id):
            other = s.get(Family, lot.family_id)
            raise PlanError(
                f"lot {lot_name!r} belongs to family {other.name if other else lot.family_id!r}, "
                f"plan {plan.name!r} tests {fam.name!r}"
            )
        # one batch per lot at a time (before any earlier run is marked interrupted)
        note = lotlock.acquire(s, lot.id, lot_name, station.name, run_uid)
        interrupted = unfinished_runs(s, station.name, lot.id, lot_name)
        s.execute(
            update(TestRun)
            .where(
                TestRun.station == station.name,
                TestRun.lot_id == lot.id,
                TestRun.status == "running",
            )
            .values(status="interrupted", ended_at=now)
        )
        run = TestRun(
            run_uid=run_uid,
            lot_id=lot.id,
            station=station.name,
            plan_name=plan.name,
            plan_version=plan.version,
            plan_hash=plan.sha256,
            plan=json_safe(plan.snapshot()),
            operator=operator,
            status="running",
            calibration_id=calibration.id,
            software_version=__version__,
            host=socket.gethostname()[:128],
            params=json_safe(params),
            started_at=now,
        )
        s.add(run)
        s.flush()
        return OpenedRun(
            run.id,
            run.run_uid,
            lot.id,
            fam.id,
            fam.name,
            calibration,
            maintenance,
            note,
            interrupted,
        )


def unfinished_runs(session, station: str, lot_id: int, lot_name: str) -> list[str]:
    """One line per earlier run of ``station`` on the lot still marked ``running``: it was
    killed or crashed (a live one would hold the lot's lock), and the run now starting
    marks it ``interrupted``. Says what it left: the components it stored are kept."""
    runs = session.execute(
        select(TestRun.id, TestRun.run_uid, TestRun.started_at, TestRun.operator, TestRun.host)
        .where(
            TestRun.station == station,
            TestRun.lot_id == lot_id,
            TestRun.status == "running",
        )
        .order_by(TestRun.id)
    ).all()
    notes = []
    for run_id, uid, started, operator, host in runs:
        stored = (
            session.scalar(
                select(func.count())
                .select_from(Measurement)
                .where(Measurement.test_run_id == run_id)
            )
            or 0
        )
        who = f", operator {operator}" if operator else ""
        notes.append(
            f"lot {lot_name!r}: the earlier run {str(uid)[:12]} (station {station}, host "
            f"{host}{who}, started {started:%Y-%m-%d %H:%M:%S} UTC) was interrupted — it "
            f"stopped without finishing (killed or crashed); the {stored} component(s) it "
            "stored are kept and this run continues the lot"
        )
    return notes


def record_instruments(
    store, station: StationConfig, identities: dict[str, str], now: datetime
) -> None:
    """Record (or refresh) the identity of every instrument the station opened."""
    with store.transaction() as s:
        for role, ident in identities.items():
            ident = (ident or "?")[:256]
            row = s.scalar(
                select(Instrument).where(
                    Instrument.station == station.name,
                    Instrument.role == role,
                    Instrument.identity == ident,
                )
            )
            cfg = station.instruments[role]
            if row is None:
                s.add(
                    Instrument(
                        station=station.name,
                        role=role,
                        driver=cfg.driver,
                        identity=ident,
                        resource=cfg.resource,
                        first_seen=now,
                        last_seen=now,
                    )
                )
            else:
                row.last_seen = now
                row.resource = cfg.resource


def components_for_count(store, lot_id: int, family_id: int, count: int) -> list[int]:
    """Ids of the first ``count`` components of the lot, issuing missing codes first."""
    from lightcomp.coding import issue_codes

    with store.transaction() as s:
        have = (
            s.scalar(select(func.count()).select_from(Component).where(Component.lot_id == lot_id))
            or 0
        )
        if have < count:
            fam = s.get(Family, family_id)
            lot = s.get(Lot, lot_id)
            issue_codes(s, fam, count - have, lot=lot)
        ids = s.scalars(
            select(Component.id)
            .where(Component.lot_id == lot_id)
            .order_by(Component.id)
            .limit(count)
        ).all()
    return list(ids)


def component_for_serial(store, lot_id: int, family_id: int, serial: str) -> int:
    """Id of the lot's component with the maker's serial ``serial`` (issued if new)."""
    from lightcomp.coding import issue_codes

    with store.transaction() as s:
        cid = s.scalar(
            select(Component.id)
            .where(Component.lot_id == lot_id, Component.external_serial == serial)
            .order_by(Component.id)
            .limit(1)
        )
        if cid is None:
            fam = s.get(Family, family_id)
            lot = s.get(Lot, lot_id)
            cid = issue_codes(s, fam, 1, lot=lot, external_serials=[serial])[0].id
    return cid


def store_result(
    store,
    component_id: int,
    run_id: int,
    calibration_id: int,
    r: ComponentResult,
    identities: dict[str, str],
    now: datetime,
    evaluation: dict | None = None,
    operator: str | None = None,
) -> None:
    """Commit one component: measurement + status + current pointer (and, with an
    uncertainty ``evaluation``, how its U were obtained), in one transaction.

    Records are append-only (:mod:`lightcomp.store.append_only`): a retest is a new row
    naming the analysis version of its values and linking the row it supersedes; the
    component's current pointer (``current_measurements``) then moves to it."""
    q = r.quantities
    raw_blob = None
    if r.raw is not None:
        raw_blob = encode_array(
            np.stack([np.asarray(r.raw.wavelengths_nm, float), np.asarray(r.raw.values, float)])
        )

    with store.transaction() as s:
        # Row lock: two stations storing the same unit at once queue here instead of
        # both moving its pointer from the same row (the pointer's primary key and the
        # append-only trigger back this up).
        comp = s.get(Component, component_id, with_for_update=True)
        # An instrument error on a retest must not replace a valid pass/fail result:
        # it is kept as history, not as the unit's current record.
        keep_previous = r.verdict == "error" and comp.status in DONE_STATUSES
        previous = s.scalar(select(current_measurement_id(component_id)))
        m = Measurement(
            component_id=component_id,
            family_id=comp.family_id,
            test_run_id=run_id,
            calibration_id=calibration_id,
            measured_at=now,
            analysis_version=ANALYSIS_VERSION.id,
            kind="measurement" if previous is None else "retest",
            supersedes_id=None if keep_previous else previous,
            recorded_by=operator,
            reason=None if previous is None else "retest",
            verdict=r.verdict,
            error_message=r.error_message,
            failed_limits=list(r.failed_limits),
            verdicts=r.verdicts,
            quantities=json_safe({**q, "attempts": r.attempts}),
            **measurement_columns(q),
            wavelengths=encode_array(GRID_NM) if r.spectrum is not None else None,
            raw_spectrum=raw_blob,
            dark_spectrum=encode_array(np.asarray(r.dark.values, float)) if r.dark else None,
            spectrum=encode_array(r.spectrum) if r.spectrum is not None else None,
            electrical=r.electrical,
            temperatures=r.temperatures,
            stabilisation=r.stabilisation,
            instruments=dict(identities),
            uncertainty=r.uncertainty,
            modulation=r.modulation,
        )
        s.add(m)
        s.flush()
        if evaluation is not None:  # how its U were obtained (issue 19)
            from lightcomp.uncertainty.station import evaluation_row

            s.add(evaluation_row(m.id, evaluation))
        if not keep_previous:
            _point_current(s, component_id, m.id, previous)
            comp.status = r.verdict
            comp.photometric_code = q.get("photometric_code") if r.verdict != "error" else None


def _point_current(session, component_id: int, measurement_id: int, previous: int | None) -> None:
    """Make ``measurement_id`` the component's current measurement: insert its pointer, or
    move it from ``previous`` (the row the new one supersedes)."""
    if previous is None:
        session.execute(
            insert(CurrentMeasurement).values(
                component_id=component_id, measurement_id=measurement_id
            )
        )
        return
    moved = session.execute(
        update(CurrentMeasurement)
        .where(
            CurrentMeasurement.component_id == component_id,
            CurrentMeasurement.measurement_id == previous,
        )
        .values(measurement_id=measurement_id)
    ).rowcount
    if moved != 1:  # the component's lock makes this unreachable; say so if it is not
        raise StoreError(
            f"component {component_id}: its current measurement moved from {previous} "
            "while this result was stored"
        )


def finish_run(
    store,
    run_id: int,
    status: str,
    message: str | None,
    measured: int,
    now: datetime,
    *,
    lot_id: int | None = None,
    run_uid: str | None = None,
) -> None:
    """Record the run's end (status, time, components measured, message); never raises
    (a store error must not hide the run's real outcome)."""
    from lightcomp.station import lotlock

    try:
        with store.transaction() as s:
            if lot_id is not None:
                lotlock.release(s, lot_id, run_uid)
            run = s.get(TestRun, run_id)
            run.status = status
            run.ended_at = now
            run.params = {
                **(run.params or {}),
                "measured": measured,
                "message": message,
            }
    except Exception:  # noqa: BLE001 - never hide the real outcome behind a store error
        return


def lot_counts(store, lot_id: int) -> dict[str, int] | None:
    """The lot's verdict counts after a run (:func:`lightcomp.store.queries.lot_verdict_counts`),
    or None when the store cannot be read."""
    from lightcomp.store.queries import lot_verdict_counts

    try:
        with store.session() as s:
            return lot_verdict_counts(s, lot_id)
    except Exception:  # noqa: BLE001 - never hide the real outcome behind a store error
        return None


def measurement_columns(q: dict[str, Any]) -> dict[str, Any]:
    """The ``measurements`` key-quantity columns of a result's quantities (by the catalogue).

    Numbers go in as floats (None when missing or not finite), flags as bool, text as str.
    The test fixtures insert rows through this too, so they cannot drift from the runner.
    """
    out: dict[str, Any] = {}
    for quantity in catalogue.column_quantities(kind=None):
        v = q.get(quantity.key)
        if quantity.kind == "number":
            out[quantity.column] = finite(v)
        elif quantity.kind == "flag":
            out[quantity.column] = None if v is None else bool(v)
        else:
            out[quantity.column] = None if v is None else str(v)
    return out
