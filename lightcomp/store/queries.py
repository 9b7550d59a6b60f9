"""Read queries shared by the reports, the records export and the HTTP API.

Pure reads: nothing here writes the store. Every query that feeds a report reads
whole columns in one round trip (one ``SELECT`` with joins, not one per
component), so a 100 000-component lot is read in well under a second.

Selection rules (documented choices)
    * A component's *record* is its current measurement (the pointer in
      ``current_measurements``, :class:`~lightcomp.store.models.CurrentMeasurement`);
      components that were never measured are not part of a record set and not
      counted as tested.
    * ``lot``, ``family`` and ``manufacturer`` filters accept the name; ``family``
      also its product-code type part (``families.type_code``) and ``manufacturer``
      its alliance registry id.
    * ``since`` / ``until`` select on the time of the measurement (UTC). Each may
      be a :class:`~datetime.datetime`, a :class:`~datetime.date` or an ISO 8601
      string; ``since`` is inclusive; a bare date for ``until`` includes that whole
      day, a date-time is exclusive.

Unknown lots, families or manufacturers and empty lots raise
:class:`~lightcomp.errors.ReportError` with a message naming what was asked for.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import String, Text, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from lightcomp import quantities as catalogue
from lightcomp.errors import ReportError
from lightcomp.jsonvalues import finite
from lightcomp.store.codec import decode_array
from lightcomp.store.models import (
    ArraySource,
    Calibration,
    CarrySource,
    Certificate,
    Component,
    Family,
    Lot,
    Manufacturer,
    Measurement,
    TestRun,
    array_source_on,
    carry_source_on,
    current_join,
    current_measurement_clause,
    current_measurement_id,
    uncertainty_columns,
)

__all__ = [
    "KEY_COLUMNS",
    "calibrations",
    "component_record",
    "component_spectrum",
    "lot_limits",
    "lot_records",
    "lot_runs",
    "lot_id",
    "lot_verdict_counts",
    "normalise_code",
    "records_spectra",
    "yield_by_lot",
]

#: Key quantities stored as measurement columns (SI units; unit in the name), in the
#: catalogue's order (:mod:`lightcomp.quantities`).
KEY_COLUMNS: tuple[str, ...] = tuple(q.column for q in catalogue.column_quantities(kind=None))

_SEPARATORS = re.compile(r"[\s\-_./]+")


def normalise_code(code: str) -> str:
    """The stored form of a product code as typed: separators removed, upper case.

    Only spelling: callers that accept codes from people check and canonicalise them
    with :func:`lightcomp.coding.canonical` first (the store does not import coding).
    """
    if not isinstance(code, str) or not code.strip():
        raise ReportError("empty product code")
    return _SEPARATORS.sub("", code).upper()


# ---------------------------------------------------------------------------------------------
# Time filters
# ---------------------------------------------------------------------------------------------
def _as_utc(value: datetime | date | str | None, *, end: bool, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                value = date.fromisoformat(text)
            else:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ReportError(
                f"--{name} {text!r} is not a date: use YYYY-MM-DD or an ISO 8601 date-time"
            ) from exc
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        d = value + timedelta(days=1) if end else value
        return datetime.combine(d, time(0, 0), tzinfo=UTC)
    raise ReportError(f"{name} must be a date, a date-time or an ISO 8601 string, got {value!r}")


# ---------------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------------
def _lot_row(session: Session, lot: str) -> Lot:
    row = session.scalars(select(Lot).where(Lot.name == lot)).first()
    if row is None:
        raise ReportError(f"unknown lot {lot!r}: no lot of that name in the store")
    return row


def _family_ids(session: Session, family: str) -> list[int]:
    ids = list(
        session.scalars(
            select(Family.id).where(or_(Family.name == family, Family.type_code == family))
        )
    )
    if not ids:
        raise ReportError(f"unknown family {family!r}: no family of that name or type code")
    return ids


def _manufacturer_id(session: Session, manufacturer: str) -> int:
    mid = session.scalars(
        select(Manufacturer.id).where(
            or_(Manufacturer.name == manufacturer, Manufacturer.registry_id == manufacturer)
        )
    ).first()
    if mid is None:
        raise ReportError(
            f"unknown manufacturer {manufacturer!r}: no manufacturer of that name or registry id"
        )
    return mid


def _selection_filters(
    session: Session,
    *,
    lot: str | None,
    family: str | None,
    manufacturer: str | None,
    since: Any,
    until: Any,
) -> list:
    where = [current_measurement_clause()]
    if lot is not None:
        where.append(Component.lot_id == _lot_row(session, lot).id)
    if family is not None:
        _family_ids(session, family)  # raises for an unknown family
        where.append(
            Component.family_id.in_(
                select(Family.id)
                .where(or_(Family.name == family, Family.type_code == family))
                .scalar_subquery()
            )
        )
    if manufacturer is not None:
        where.append(Family.manufacturer_id == _manufacturer_id(session, manufacturer))
    t0 = _as_utc(since, end=False, name="since")
    t1 = _as_utc(until, end=True, name="until")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise ReportError(f"empty date range: until ({until}) is not after since ({since})")
    if t0 is not None:
        where.append(Measurement.measured_at >= t0)
    if t1 is not None:
        where.append(Measurement.measured_at < t1)
    return where


def _describe(**filters: Any) -> str:
    parts = [f"{k} {v}" for k, v in filters.items() if v is not None]
    return ", ".join(parts) if parts else "the whole store"


def lot_records(
    session: Session,
    *,
    lot: str | None = None,
    family: str | None = None,
    manufacturer: str | None = None,
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    include_quantities: bool = False,
    include_verdicts: bool = False,
    include_uncertainty: bool = False,
    require: bool = True,
) -> pd.DataFrame:
    """Current measurement of every selected component, one row per component, one query.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    lot, family, manufacturer, since, until
        Selection (see the module docstring); all ``None`` selects every lot.
    include_quantities, include_verdicts, include_uncertainty : bool
        Also read the ``quantities`` / ``verdicts`` / ``uncertainty`` JSON columns
        (slower: every row's JSON is decoded).
    require : bool
        Raise :class:`ReportError` when nothing is selected (default). With
        ``False`` an empty frame with the same columns is returned instead.

    Returns
    -------
    pandas.DataFrame
        Columns ``component_id, product_code, item_serial, external_serial,
        lot, family, type_code, manufacturer, measurement_id, measured_at,
        verdict, error_message, analysis_version, failed_limits`` (list), the :data:`KEY_COLUMNS`,
        ``test_run_id, station, plan_name, plan_version, operator, calib_id``
        (and ``quantities`` / ``verdicts`` dicts when asked), ordered by
        measurement time then component id.
    """
    where = _selection_filters(
        session, lot=lot, family=family, manufacturer=manufacturer, since=since, until=until
    )
    cols = [
        Component.id.label("component_id"),
        Component.product_code,
        Component.item_serial,
        Component.external_serial,
        Lot.name.label("lot"),
        Family.name.label("family"),
        Family.type_code,
        Manufacturer.name.label("manufacturer"),
        Measurement.id.label("measurement_id"),
        # Raw driver values (no per-row DateTime/JSON processing); converted per column below.
        type_coerce(Measurement.measured_at, String).label("measured_at"),
        Measurement.verdict,
        Measurement.error_message,
        Measurement.analysis_version,
        # JSON as text: PostgreSQL's driver would otherwise decode every row's JSONB.
        cast(Measurement.failed_limits, Text).label("failed_limits"),
        *[getattr(Measurement, c) for c in KEY_COLUMNS],
        Measurement.test_run_id,
        TestRun.station,
        TestRun.plan_name,
        TestRun.plan_version,
        TestRun.operator,
        Calibration.calib_id,
    ]
    if include_quantities:
        cols.append(Measurement.quantities)
    if include_verdicts:
        cols.append(Measurement.verdicts)
    if include_uncertainty:
        cols += uncertainty_columns()  # a re-analysis' U: those it carries (below)
    stmt = (
        select(*cols)
        .select_from(Measurement)
        .join(Component, Component.id == Measurement.component_id)
        .join(Family, Family.id == Component.family_id)
        .join(Manufacturer, Manufacturer.id == Family.manufacturer_id)
        .outerjoin(Lot, Lot.id == Component.lot_id)
        .outerjoin(TestRun, TestRun.id == Measurement.test_run_id)
        .outerjoin(Calibration, Calibration.id == Measurement.calibration_id)
        .where(*where)
        .order_by(Measurement.measured_at, Component.id)
    )
    if include_uncertainty:
        stmt = stmt.outerjoin(CarrySource, carry_source_on())
    names, rows = _fetch_raw(session, stmt)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    data = {}
    for n, c in zip(names, columns, strict=True):
        if n in _FLOAT_COLUMNS:
            data[n] = np.array(c, dtype=np.float64)  # None -> NaN
        else:
            data[n] = pd.Series(c, dtype=object)
    df = pd.DataFrame(data)
    if df.empty:
        if require:
            what = _describe(
                lot=lot, family=family, manufacturer=manufacturer, since=since, until=until
            )
            if lot is not None:
                raise ReportError(f"lot {lot!r} has no measured components")
            raise ReportError(f"no measured components in {what}")
        return df
    df["failed_limits"] = _json_lists(df["failed_limits"])
    for c in ("quantities", "verdicts", "uncertainty"):
        if c in df:
            df[c] = df[c].map(_json_dict)
    if include_uncertainty:
        from lightcomp.uncertainty.station import stored_uncertainty

        aux = ["u_quantities", "source_uncertainty", "source_quantities"]
        df["uncertainty"] = [
            stored_uncertainty(u, *(_json_dict(v) for v in rest)) if rest[0] is not None else u
            for u, *rest in zip(df["uncertainty"], *(df[c] for c in aux), strict=True)
        ]
        df = df.drop(columns=aux)
    df[list(_FLOAT_COLUMNS)] = df[list(_FLOAT_COLUMNS)].astype("float64")
    df["ansi_inside"] = df["ansi_inside"].map(lambda v: None if v is None else bool(v))
    df["measured_at"] = _utc_times(df["measured_at"])
    return df


_FLOAT_COLUMNS = tuple(q.column for q in catalogue.column_quantities())


def _fetch_raw(session: Session, stmt) -> tuple[list[str], list[tuple]]:
    """Run ``stmt`` and return the column names and the driver's raw rows.

    Bypasses SQLAlchemy's per-row result processing (the slow part for 100 000
    rows); callers convert whole columns (times, JSON, booleans) themselves.
    The statement must not use expanding ``IN`` parameters.
    """
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[k] for k in compiled.positiontup)
    result = conn.exec_driver_sql(str(compiled), params)
    try:
        names = [d[0] for d in result.cursor.description]
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return names, rows


def _json_dict(v: Any) -> dict:
    """A JSON object column value as a dict (SQLite gives text, psycopg the dict)."""
    if v is None:
        return {}
    if isinstance(v, str | bytes):
        v = json.loads(v)
    return dict(v) if v else {}


def _json_lists(s: pd.Series) -> pd.Series:
    """A JSON list column as lists (SQLite gives text, psycopg the list); empty ones fast."""
    raw = s.to_numpy(dtype=object)
    empty = (pd.isna(raw) | (raw == "[]")).tolist()
    out = [
        [] if e else list(json.loads(v) if isinstance(v, str) else v)
        for v, e in zip(raw.tolist(), empty, strict=True)
    ]
    return pd.Series(out, index=s.index, dtype=object)


def _utc_times(s: pd.Series) -> pd.Series:
    """Time stamps as UTC pandas datetimes; naive values (SQLite) are UTC."""
    if s.map(type).eq(str).all():
        return pd.to_datetime(s, utc=True, format="ISO8601")
    return pd.to_datetime(s, utc=True)


def lot_runs(session: Session, lot: str) -> list[dict]:
    """Test runs that measured the lot's current records (station, plan, operator, calibration)."""
    lot_id = _lot_row(session, lot).id
    run_ids = (
        select(Measurement.test_run_id)
        .join(Component, Component.id == Measurement.component_id)
        .where(Component.lot_id == lot_id, current_measurement_clause())
        .distinct()
    )
    rows = session.execute(
        select(TestRun, Calibration)
        .outerjoin(Calibration, Calibration.id == TestRun.calibration_id)
        .where(TestRun.id.in_(run_ids))
        .order_by(TestRun.started_at)
    ).all()
    out = []
    for run, cal in rows:
        out.append(
            {
                "run_uid": run.run_uid,
                "station": run.station,
                "plan_name": run.plan_name,
                "plan_version": run.plan_version,
                "operator": run.operator,
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                "status": run.status,
                "software_version": run.software_version,
                "params": dict(run.params or {}),
                "calib_id": cal.calib_id if cal else None,
                "calibration_certificate": cal.certificate_id if cal else None,
                "calibration_valid_until": cal.valid_until if cal else None,
            }
        )
    return out


def calibrations(session: Session, calib_ids: list[str]) -> list[dict[str, Any]]:
    """Calibration records named by ``calib_ids`` (id, station, validity, traceability)."""
    ids = [c for c in dict.fromkeys(calib_ids) if c]
    if not ids:
        return []
    rows = session.scalars(
        select(Calibration).where(Calibration.calib_id.in_(ids)).order_by(Calibration.valid_from)
    ).all()
    return [
        {
            "calib_id": c.calib_id,
            "station": c.station,
            "kind": c.kind,
            "status": c.status,
            "valid_from": c.valid_from,
            "valid_until": c.valid_until,
            "standard_lamp_id": c.standard_lamp_id,
            "certificate_id": c.certificate_id,
        }
        for c in rows
    ]


def lot_limits(session: Session, lot: str, sample: int = 50) -> dict[str, dict[str, Any]]:
    """Limits applied to the lot: ``{limit name: {"min", "max", "quantity", "unit"}}``.

    Read from the per-limit verdicts of up to ``sample`` current measurements
    (what the station actually applied; the most frequent min/max per limit),
    completed by the family's ``limits``. Entries without a numeric min/max
    (e.g. ``ansi_quadrangle``) keep ``None`` bounds.
    """
    row = _lot_row(session, lot)
    verdicts = session.scalars(
        select(Measurement.verdicts)
        .join(Component, Component.id == Measurement.component_id)
        .where(Component.lot_id == row.id, current_measurement_clause())
        .limit(sample)
    ).all()
    seen: dict[str, dict[tuple, int]] = {}
    meta: dict[str, dict[str, Any]] = {}
    for v in verdicts:
        for name, entry in (v or {}).items():
            if isinstance(entry, dict):
                key = (finite(entry.get("min")), finite(entry.get("max")))
                seen.setdefault(name, {})
                seen[name][key] = seen[name].get(key, 0) + 1
                meta.setdefault(
                    name, {"quantity": entry.get("quantity"), "unit": entry.get("unit")}
                )
    out: dict[str, dict[str, Any]] = {}
    fid = (
        row.family_id
        or session.scalars(select(Component.family_id).where(Component.lot_id == row.id)).first()
    )
    fam_limits = (session.get(Family, fid).limits or {}) if fid is not None else {}
    for name, entry in fam_limits.items():
        if isinstance(entry, dict):
            out[name] = {
                "min": finite(entry.get("min")),
                "max": finite(entry.get("max")),
                "quantity": entry.get("quantity"),
                "unit": entry.get("unit"),
            }
        elif name.endswith(("_min", "_max")) and finite(entry) is not None:
            # flat plan form: flux_min = 1080, flux_max = ...
            base, side = name[:-4], name[-3:]
            out.setdefault(base, {"min": None, "max": None, "quantity": None, "unit": None})
            out[base][side] = finite(entry)
    for name, counts in seen.items():
        (lo, hi), _ = max(counts.items(), key=lambda kv: kv[1])
        out[name] = {"min": lo, "max": hi, **meta[name]}
    return out


# ---------------------------------------------------------------------------------------------
# Yield
# ---------------------------------------------------------------------------------------------
def _verdict_counts(session: Session, where: list) -> dict[str, int]:
    rows = session.execute(
        select(Measurement.verdict, func.count())
        .select_from(Measurement)
        .join(Component, Component.id == Measurement.component_id)
        .where(*where)
        .group_by(Measurement.verdict)
    ).all()
    counts = {"pass": 0, "fail": 0, "error": 0}
    for verdict, n in rows:
        counts[verdict] = counts.get(verdict, 0) + int(n)
    return counts


def lot_verdict_counts(session: Session, lot_id: int) -> dict[str, int]:
    """The lot's components by the verdict of their current measurement, one query:
    ``{"pass", "fail", "error", "untested"}`` (untested: no current measurement).

    The one place a yield is counted: the lot report, the API, the station's run
    summary and the ``station run`` command all read these counts.
    """
    rows = session.execute(
        current_join(select(Measurement.verdict, func.count()).select_from(Component), outer=True)
        .where(Component.lot_id == lot_id)
        .group_by(Measurement.verdict)
    ).all()
    counts = {"pass": 0, "fail": 0, "error": 0, "untested": 0}
    for verdict, n in rows:
        counts[verdict if verdict in counts else "untested"] += int(n)
    return counts


def lot_id(session: Session, lot: str) -> int:
    """Id of the lot named ``lot`` (:class:`ReportError` for an unknown lot)."""
    return _lot_row(session, lot).id


def yield_by_lot(
    session: Session,
    *,
    lot: str | None = None,
    family: str | None = None,
    manufacturer: str | None = None,
    since: Any = None,
    until: Any = None,
) -> pd.DataFrame:
    """Per-lot counts for a yield trend: one aggregate query grouped by lot and verdict.

    Returns a frame with ``lot, first_measured, last_measured, n_pass, n_fail,
    n_error, n_tested, yield`` ordered by ``first_measured`` (tested = pass + fail).
    """
    where = _selection_filters(
        session, lot=lot, family=family, manufacturer=manufacturer, since=since, until=until
    )
    stmt = (
        select(
            Lot.name.label("lot"),
            Measurement.verdict,
            func.count().label("n"),
            func.min(Measurement.measured_at).label("first"),
            func.max(Measurement.measured_at).label("last"),
        )
        .select_from(Measurement)
        .join(Component, Component.id == Measurement.component_id)
        .join(Family, Family.id == Component.family_id)
        .outerjoin(Lot, Lot.id == Component.lot_id)
        .where(*where)
        .group_by(Lot.name, Measurement.verdict)
    )
    rows = session.execute(stmt).all()
    cols = ["lot", "first_measured", "last_measured", "n_pass", "n_fail", "n_error"]
    if not rows:
        return pd.DataFrame(columns=[*cols, "n_tested", "yield"])
    raw = pd.DataFrame(rows, columns=["lot", "verdict", "n", "first", "last"])
    raw["lot"] = raw["lot"].fillna("(no lot)")
    raw["first"] = pd.to_datetime(raw["first"], utc=True)
    raw["last"] = pd.to_datetime(raw["last"], utc=True)
    wide = raw.pivot_table(index="lot", columns="verdict", values="n", aggfunc="sum", fill_value=0)
    times = raw.groupby("lot").agg(first_measured=("first", "min"), last_measured=("last", "max"))
    out = times.join(wide).reset_index()
    for v in ("pass", "fail", "error"):
        out[f"n_{v}"] = out[v].astype(int) if v in out else 0
    out["n_tested"] = out["n_pass"] + out["n_fail"]
    out["yield"] = out["n_pass"] / out["n_tested"].where(out["n_tested"] > 0)
    return out[[*cols, "n_tested", "yield"]].sort_values("first_measured").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# One component
# ---------------------------------------------------------------------------------------------
def _component_row(session: Session, code: str) -> Component | None:
    canon = normalise_code(code)
    comp = session.scalars(
        select(Component).where(Component.product_code.in_({canon, code.strip()}))
    ).first()
    return comp


def _measurement_dict(m: Measurement) -> dict[str, Any]:
    from sqlalchemy.orm import object_session

    from lightcomp.uncertainty.station import is_carry_reference, stored_uncertainty

    unc = dict(m.uncertainty or {})
    if is_carry_reference(unc) and (session := object_session(m)) is not None:
        source = session.execute(
            select(Measurement.uncertainty, Measurement.quantities).where(
                Measurement.id == unc["carried_from"]
            )
        ).first()
        if source is not None:
            unc = stored_uncertainty(unc, m.quantities, source.uncertainty, source.quantities)
    d: dict[str, Any] = {
        "measurement_id": m.id,
        "measured_at": m.measured_at,
        "analysis_version": m.analysis_version,
        "verdict": m.verdict,
        "error_message": m.error_message,
        "failed_limits": list(m.failed_limits or []),
        "verdicts": dict(m.verdicts or {}),
        "quantities": dict(m.quantities or {}),
        "electrical": dict(m.electrical or {}),
        "temperatures": dict(m.temperatures or {}),
        "stabilisation": list(m.stabilisation or []),
        "instruments": dict(m.instruments or {}),
        "uncertainty": unc,
        "has_spectrum": m.has_spectrum,
        "modulation": m.modulation,
    }
    for c in KEY_COLUMNS:
        d[c] = getattr(m, c)
    return d


def component_record(session: Session, code: str) -> dict[str, Any] | None:
    """Everything known about one component, or ``None`` for an unknown code.

    Keys: ``product_code``, ``item_serial``, ``external_serial``, ``status``,
    ``photometric_code``, ``lot`` (dict or None), ``family`` (dict),
    ``manufacturer`` (dict), ``measurement`` (the current one, dict or None:
    key quantities, ``quantities``, ``verdicts``, ``failed_limits``,
    ``stabilisation`` ...), ``test_run`` (dict or None), ``calibration`` (dict or
    None), ``history`` (every measurement: id, time, verdict, current) and
    ``certificates`` (report ids issued for it). The spectrum itself comes from
    :func:`component_spectrum`.
    """
    comp = _component_row(session, code)
    if comp is None:
        return None
    fam = comp.family
    man = fam.manufacturer
    lot = comp.lot
    current_id = session.scalar(select(current_measurement_id(comp.id)))
    history = session.execute(
        select(Measurement.id, Measurement.measured_at, Measurement.verdict)
        .where(Measurement.component_id == comp.id)
        .order_by(Measurement.measured_at, Measurement.id)
    ).all()
    current = None if current_id is None else session.get(Measurement, current_id)
    run = current.test_run if current is not None else None
    cal = current.calibration if current is not None else None
    if cal is None and run is not None:
        cal = run.calibration
    certs = session.execute(
        select(Certificate.report_id, Certificate.issued_at, Certificate.replaces_id)
        .where(Certificate.component_id == comp.id)
        .order_by(Certificate.issued_at, Certificate.id)
    ).all()
    return {
        "component_id": comp.id,
        "product_code": comp.product_code,
        "item_serial": comp.item_serial,
        "external_serial": comp.external_serial,
        "status": comp.status,
        "photometric_code": comp.photometric_code,
        "created_at": comp.created_at,
        "lot": None
        if lot is None
        else {"name": lot.name, "received_at": lot.received_at, "notes": lot.notes},
        "family": {
            "name": fam.name,
            "type_code": fam.type_code,
            "level": fam.level,
            "category": fam.category,
            "input_class": fam.input_class,
            "nominal_cct_k": fam.nominal_cct_k,
            "cri_class": fam.cri_class,
            "nominal_flux_lm": fam.nominal_flux_lm,
            "rated": dict(fam.rated or {}),
            "limits": dict(fam.limits or {}),
            "spec_version": fam.spec_version,
        },
        "manufacturer": {
            "name": man.name,
            "registry_id": man.registry_id,
            "address": man.address,
            "country": man.country,
            "contact": man.contact,
        },
        "measurement": None if current is None else _measurement_dict(current),
        "test_run": None
        if run is None
        else {
            "run_uid": run.run_uid,
            "station": run.station,
            "plan_name": run.plan_name,
            "plan_version": run.plan_version,
            "plan": dict(run.plan or {}),
            "operator": run.operator,
            "started_at": run.started_at,
            "software_version": run.software_version,
            "params": dict(run.params or {}),
        },
        "calibration": None
        if cal is None
        else {
            "calib_id": cal.calib_id,
            "station": cal.station,
            "kind": cal.kind,
            "status": cal.status,
            "valid_from": cal.valid_from,
            "valid_until": cal.valid_until,
            "operator": cal.operator,
            "standard_lamp_id": cal.standard_lamp_id,
            "certificate_id": cal.certificate_id,
            "has_uncertainty": cal.uncertainty is not None,
        },
        "history": [
            {"measurement_id": i, "measured_at": t, "verdict": v, "is_current": i == current_id}
            for i, t, v in history
        ],
        "certificates": [{"report_id": r, "issued_at": t, "replaces_id": p} for r, t, p in certs],
    }


def component_spectrum(session: Session, code: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(wavelengths_nm, spectral_flux_w_per_nm)`` of the current measurement, or ``None``.

    ``None`` when the code is unknown, never measured, or measured without a spectrum.
    """
    canon = normalise_code(code)
    row = session.execute(
        select(ArraySource.wavelengths, ArraySource.spectrum)
        .select_from(Measurement)
        .join(Component, Component.id == Measurement.component_id)
        .join(ArraySource, array_source_on())
        .where(
            Component.product_code.in_({canon, code.strip()}),
            current_measurement_clause(),
        )
        .order_by(Measurement.measured_at.desc(), Measurement.id.desc())
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return decode_array(row[0]), decode_array(row[1])


def records_spectra(
    session: Session,
    *,
    lot: str | None = None,
    family: str | None = None,
    manufacturer: str | None = None,
    since: Any = None,
    until: Any = None,
) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """Spectra of the selected current measurements: ``(codes, wavelengths, spectra)``.

    One query; components measured without a spectrum are left out. Raises
    :class:`ReportError` when no selected component has a spectrum.
    """
    where = _selection_filters(
        session, lot=lot, family=family, manufacturer=manufacturer, since=since, until=until
    )
    rows = session.execute(
        select(Component.product_code, ArraySource.wavelengths, ArraySource.spectrum)
        .select_from(Measurement)
        .join(Component, Component.id == Measurement.component_id)
        .join(Family, Family.id == Component.family_id)
        .join(ArraySource, array_source_on())
        .where(*where, ArraySource.spectrum.is_not(None))
        .order_by(Component.product_code)
    ).all()
    if not rows:
        what = _describe(
            lot=lot, family=family, manufacturer=manufacturer, since=since, until=until
        )
        raise ReportError(f"no stored spectra in {what}")
    codes = [r[0] for r in rows]
    wls = [decode_array(r[1]) for r in rows]
    specs = [decode_array(r[2]) for r in rows]
    return codes, wls, specs
