"""Calibrations in the store: the current one of a station, and storing a new one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np

from lightcomp.calibration.certificates import LampCertificate
from lightcomp.calibration.processing import GRID_NM, CalibrationSet
from lightcomp.errors import CalibrationError

__all__ = ["calibration_set_from_row", "current_calibration", "store_calibration"]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def calibration_set_from_row(row) -> CalibrationSet:
    """Build a :class:`CalibrationSet` from a ``calibrations`` row."""
    from lightcomp.store.codec import decode_array

    inst_wl = row.inputs.get("instrument_wavelengths_nm") if row.inputs else None
    return CalibrationSet(
        id=row.id,
        calib_id=row.calib_id,
        station=row.station,
        valid_from=_aware(row.valid_from),
        valid_until=_aware(row.valid_until),
        responsivity=decode_array(row.responsivity),
        aux_reference=decode_array(row.aux_reference),
        uncertainty=decode_array(row.uncertainty),
        instrument_wavelengths=np.asarray(inst_wl, dtype=float) if inst_wl else None,
        dark=decode_array(row.dark),
        unit=(row.inputs or {}).get("unit"),
        grid=decode_array(row.wavelengths) if row.wavelengths is not None else GRID_NM.copy(),
    )


def current_calibration(session, station: str, now: datetime | None = None) -> CalibrationSet:
    """The newest valid calibration of ``station`` at ``now``.

    Raises :class:`CalibrationError` naming the station (no calibration) or the
    expired calibration and its end of validity.
    """
    from sqlalchemy import select

    from lightcomp.store.models import Calibration

    now = _aware(now or _now())
    row = session.scalars(
        select(Calibration)
        .where(Calibration.station == station, Calibration.status == "valid")
        .order_by(Calibration.valid_from.desc(), Calibration.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise CalibrationError(
            f"station {station!r} has no calibration: run `lightcomp calibrate run --station ...`"
        )
    if _aware(row.valid_until) < now:
        raise CalibrationError(
            f"calibration {row.calib_id} of station {station!r} expired on "
            f"{_aware(row.valid_until):%Y-%m-%d %H:%M} UTC: recalibrate the station"
        )
    if _aware(row.valid_from) > now:
        raise CalibrationError(
            f"calibration {row.calib_id} of station {station!r} is only valid from "
            f"{_aware(row.valid_from):%Y-%m-%d %H:%M} UTC"
        )
    return calibration_set_from_row(row)


def store_calibration(
    store,
    station: str,
    certificate: LampCertificate,
    res: dict[str, Any],
    *,
    now: datetime,
    valid_until: datetime,
    operator: str | None,
    inputs: dict,
    results: dict,
) -> tuple[str, int]:
    """Store a new calibration of ``station`` (the previous valid ones become
    ``superseded``), in one transaction; returns (calib_id, row id)."""
    from sqlalchemy import select, update

    from lightcomp.store.codec import encode_array
    from lightcomp.store.models import Calibration

    calib_id = f"CAL-{station}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with store.transaction() as session:
        session.execute(
            update(Calibration)
            .where(Calibration.station == station, Calibration.status == "valid")
            .values(status="superseded")
        )
        row = Calibration(
            calib_id=calib_id,
            station=station,
            kind="spectral-responsivity",
            status="valid",
            valid_from=now,
            valid_until=valid_until,
            operator=operator,
            standard_lamp_id=certificate.lamp_id,
            certificate_id=certificate.certificate_id,
            wavelengths=encode_array(GRID_NM),
            responsivity=encode_array(res["responsivity"]),
            dark=encode_array(res["dark"]),
            aux_reference=encode_array(res["aux_reference"]),
            uncertainty=encode_array(res["uncertainty"]),
            inputs=inputs,
            results=results,
        )
        session.add(row)
        session.flush()
        row_id = row.id
        session.execute(select(Calibration.id).where(Calibration.id == row_id))
    return calib_id, row_id
