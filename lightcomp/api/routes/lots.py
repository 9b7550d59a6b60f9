"""Routes of lots (``/lots/{lot}/...``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from lightcomp.api import queries as q
from lightcomp.api.deps import TEXT, PrincipalDep, SessionDep
from lightcomp.api.errors import ERRORS, HttpError
from lightcomp.api.records import lot_yield
from lightcomp.api.schemas import LotYield
from lightcomp.store.queries import lot_verdict_counts

router = APIRouter(tags=["lots"])


@router.get("/lots/{lot}/yield", response_model=LotYield, responses=ERRORS)
def get_lot_yield(
    lot: Annotated[str, PathParam(pattern=TEXT, max_length=64)],
    principal: PrincipalDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Pass/fail/error counts of the lot's current measurements and the yield summary
    (yield, 95 % interval, verdict against the 95 % target)."""
    row = q.lot_row(session, lot)
    if row is None or not q.lot_visible(session, principal, row):
        raise HttpError(404, "no such lot (or not visible to this key)")
    return lot_yield(row, lot_verdict_counts(session, row.id))
