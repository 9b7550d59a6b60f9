"""Read queries the portal adds to the API's (:mod:`lightcomp.api.queries`).

Visibility always comes from the API's own rule (:func:`lightcomp.api.queries.visible_clause`
for SQL, ``is_visible`` / ``has_full_access`` / the lot rule for one row), never
from a copy of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcomp.api import queries as q
from lightcomp.api.keys import Principal
from lightcomp.store.models import (
    Certificate,
    Component,
    Family,
    Lot,
    Manufacturer,
    Measurement,
    TestRun,
    current_join,
)

PROGRAMME_TARGET = 0.95
PROGRAMME_GOAL_MODELS = 10  # component models in volume production at >= 95 % yield


def current_certificate(session: Session, component_id: int, measurement_id: int | None):
    """The newest certificate issued on the component's current measurement, or None."""
    if measurement_id is None:
        return None
    return session.execute(
        select(
            Certificate.id,
            Certificate.report_id,
            Certificate.issued_at,
            Certificate.authorised_by,
            Certificate.replaces_id,
            Certificate.reason,
            Certificate.format,
            Certificate.content_sha256,
        )
        .where(
            Certificate.component_id == component_id,
            Certificate.measurement_id == measurement_id,
        )
        .order_by(Certificate.id.desc())
        .limit(1)
    ).first()


def manufacturer_names(session: Session, limit: int = 500) -> list[str]:
    """Names of registered manufacturers (for the search form's suggestions)."""
    return list(session.scalars(select(Manufacturer.name).order_by(Manufacturer.name).limit(limit)))


def family_yields(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Per family the cumulative counts of current verdicts the principal may see, with the
    yield, its 95 % interval and verdict against :data:`PROGRAMME_TARGET`
    (:func:`lightcomp.analysis.yield_stats.yield_summary`, vectorised over families)."""
    base = (
        select(
            Family.id,
            Family.name,
            Family.type_code,
            Manufacturer.name,
            Measurement.verdict,
            func.count(),
        )
        .select_from(Component)
        .join(Family, Component.family_id == Family.id)
        .join(Manufacturer, Family.manufacturer_id == Manufacturer.id)
        .outerjoin(Lot, Component.lot_id == Lot.id)
    )
    rows = session.execute(
        current_join(base)
        .where(q.visible_clause(principal))
        .group_by(Family.id, Family.name, Family.type_code, Manufacturer.name, Measurement.verdict)
    ).all()
    fams: dict[int, dict[str, Any]] = {}
    for fid, name, type_code, maker, verdict, n in rows:
        f = fams.setdefault(
            fid,
            {"family": name, "type_code": type_code, "manufacturer": maker, "pass": 0, "fail": 0,
             "error": 0},
        )  # fmt: skip
        if verdict in ("pass", "fail", "error"):
            f[verdict] += int(n)
    out = sorted(fams.values(), key=lambda f: (f["manufacturer"], f["family"]))
    if not out:
        return []
    from lightcomp.analysis.yield_stats import yield_summary

    p = np.array([f["pass"] for f in out])
    fl = np.array([f["fail"] for f in out])
    e = np.array([f["error"] for f in out])
    tested = p + fl
    s = yield_summary(np.maximum(p, 0), fl, e, target=PROGRAMME_TARGET)
    for i, f in enumerate(out):
        f["tested"] = int(tested[i])
        if tested[i] == 0:
            f.update(yield_=None, lower=None, upper=None, verdict="not yet decidable")
            continue
        f.update(
            yield_=float(s["yield"][i]),
            lower=float(s["lower"][i]),
            upper=float(s["upper"][i]),
            verdict=str(s["verdict"][i]),
        )
    return out


def lots_in_progress(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Unpublished lots (newest first) with verdict counts and whether a run is going."""
    lots = session.execute(
        select(Lot.id, Lot.name, Lot.received_at, Family.name, Manufacturer.name)
        .select_from(Lot)
        .outerjoin(Family, Lot.family_id == Family.id)
        .outerjoin(Manufacturer, Family.manufacturer_id == Manufacturer.id)
        .where(Lot.published_at.is_(None))
        .order_by(Lot.id.desc())
        .limit(limit)
    ).all()
    ids = [r[0] for r in lots]
    counts: dict[int, dict[str, int]] = {i: {"pass": 0, "fail": 0, "error": 0} for i in ids}
    running: set[int] = set()
    if ids:
        for lot_id, verdict, n in session.execute(
            current_join(
                select(Component.lot_id, Measurement.verdict, func.count()).select_from(Component)
            )
            .where(Component.lot_id.in_(ids))
            .group_by(Component.lot_id, Measurement.verdict)
        ):
            if verdict in counts[lot_id]:
                counts[lot_id][verdict] += int(n)
        running = set(
            session.scalars(
                select(TestRun.lot_id).where(TestRun.lot_id.in_(ids), TestRun.status == "running")
            )
        )
    return [
        {
            "name": name,
            "received_at": received,
            "family": fam,
            "manufacturer": maker,
            "counts": counts[lid],
            "running": lid in running,
        }
        for lid, name, received, fam, maker in lots
    ]


def published_lots(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Published lots not withdrawn (newest first), for the withdraw form."""
    rows = session.execute(
        select(Lot.name, Lot.published_at, Family.name)
        .select_from(Lot)
        .outerjoin(Family, Lot.family_id == Family.id)
        .where(Lot.published_at.is_not(None), Lot.withdrawn_at.is_(None))
        .order_by(Lot.published_at.desc(), Lot.id.desc())
        .limit(limit)
    ).all()
    return [{"name": n, "published_at": p, "family": f} for n, p, f in rows]


def lot_measurement_stamp(session: Session, lot_id: int) -> tuple[int, int]:
    """(count, newest id) of the lot's measurements: a cache key that changes with new data."""
    n, top = session.execute(
        select(func.count(), func.max(Measurement.id))
        .select_from(Measurement)
        .join(Component, Component.id == Measurement.component_id)
        .where(Component.lot_id == lot_id)
    ).one()
    return int(n or 0), int(top or 0)
