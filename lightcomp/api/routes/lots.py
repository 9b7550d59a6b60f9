"""Routes of lots (``/lots/{lot}/...``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from lightcomp.api import queries as q
from lightcomp.api.deps import TEXT, PrincipalDep, SessionDep
from lightcomp.api.errors import ERRORS, HttpError
from lightcomp.api.keys import Principal
from lightcomp.api.records import publication as publication_block
from lightcomp.api.schemas import LotYield
from lightcomp.jsonvalues import json_safe
from lightcomp.reports.yields import yield_summary_dict
from lightcomp.store.queries import lot_verdict_counts

router = APIRouter(tags=["lots"])


def lot_visible(session: Session, principal: Principal, row) -> bool:
    if principal.role == "lab" or row.published_at is not None:
        return True
    if principal.role != "manufacturer":
        return False
    if row.manufacturer_id is not None:
        return row.manufacturer_id == principal.manufacturer_id
    return q.lot_owned_by(session, row.id, principal.manufacturer_id)


@router.get("/lots/{lot}/yield", response_model=LotYield, responses=ERRORS)
def get_lot_yield(
    lot: Annotated[str, PathParam(pattern=TEXT, max_length=64)],
    principal: PrincipalDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Pass/fail/error counts of the lot's current measurements and the yield summary
    (yield, 95 % interval, verdict against the 95 % target)."""
    row = q.lot_row(session, lot)
    if row is None or not lot_visible(session, principal, row):
        raise HttpError(404, "no such lot (or not visible to this key)")
    counts = lot_verdict_counts(session, row.id)
    summary = yield_summary_dict(counts["pass"], counts["fail"], counts["error"])
    return {
        "lot": row.name,
        "publication": publication_block(row),
        "counts": counts,
        "summary": json_safe(summary),
    }
