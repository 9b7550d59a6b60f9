"""Publication of lots to alliance members, and withdrawal with a reason.

A component record becomes visible to members when the lab publishes its lot.
Withdrawing a published lot never hides its records: they stay visible with
status ``withdrawn``, the reason and the date (as the DLC Qualified Products
List marks products *delisted*). Both actions write an ``audit_events`` row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lightcomp.errors import StoreError
from lightcomp.store.models import AuditEvent, Lot, TestRun, utcnow

MAX_REASON_CHARS = 2000


def publication_status(published_at: datetime | None, withdrawn_at: datetime | None) -> str:
    """``unpublished``, ``published`` or ``withdrawn`` from a lot's two dates."""
    if withdrawn_at is not None:
        return "withdrawn"
    if published_at is not None:
        return "published"
    return "unpublished"


def _lot(session: Session, name: str) -> Lot:
    lot = session.scalars(select(Lot).where(Lot.name == name)).first()
    if lot is None:
        raise StoreError(f"unknown lot {name!r}")
    return lot


def publish_lot(
    session: Session, lot: str, *, actor: str | None = None, now: datetime | None = None
) -> Lot:
    """Publish lot ``lot`` (by name): its records become visible to members.

    Raises :class:`StoreError` for an unknown lot, one already published, or a
    withdrawn one (a withdrawal is final; test and publish a new lot instead).
    """
    row = _lot(session, lot)
    if row.withdrawn_at is not None:
        raise StoreError(
            f"lot {lot!r} was withdrawn on {row.withdrawn_at.date()} "
            f"({row.withdraw_reason}); a withdrawn lot cannot be republished"
        )
    if row.published_at is not None:
        raise StoreError(f"lot {lot!r} is already published (since {row.published_at.isoformat()})")
    running = session.scalar(
        select(TestRun.run_uid).where(TestRun.lot_id == row.id, TestRun.status == "running")
    )
    if running is not None:
        raise StoreError(
            f"lot {lot!r} has a test run in progress ({running}): let it finish (a killed "
            "run is closed by resuming the batch), then publish"
        )
    row.published_at = now or utcnow()
    session.add(
        AuditEvent(
            actor=actor,
            kind="lot.publish",
            subject=f"lot:{lot}",
            details={"lot_id": row.id},
            at=row.published_at,
        )
    )
    return row


def withdraw_lot(
    session: Session,
    lot: str,
    reason: str,
    *,
    actor: str | None = None,
    now: datetime | None = None,
) -> Lot:
    """Withdraw published lot ``lot`` with ``reason``; its records show as withdrawn.

    Raises :class:`StoreError` for an unknown, unpublished or already withdrawn
    lot, or an empty reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise StoreError("a withdrawal needs a reason (--reason)")
    if len(reason) > MAX_REASON_CHARS:
        raise StoreError(f"reason is {len(reason)} characters; at most {MAX_REASON_CHARS}")
    row = _lot(session, lot)
    if row.published_at is None:
        raise StoreError(f"lot {lot!r} is not published; only a published lot can be withdrawn")
    if row.withdrawn_at is not None:
        raise StoreError(f"lot {lot!r} was already withdrawn on {row.withdrawn_at.isoformat()}")
    row.withdrawn_at = now or utcnow()
    row.withdraw_reason = reason
    session.add(
        AuditEvent(
            actor=actor,
            kind="lot.withdraw",
            subject=f"lot:{lot}",
            details={"lot_id": row.id, "reason": reason},
            at=row.withdrawn_at,
        )
    )
    return row
