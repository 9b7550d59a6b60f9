"""The lot lifecycle: open -> published -> withdrawn, in one place with one error.

An open lot takes new units and retests; publishing makes its records visible to
alliance members and closes it; withdrawing a published lot keeps its records
visible, marked withdrawn with the reason (as the DLC Qualified Products List marks
products *delisted*).  A closed lot never changes: further units go into a new lot.
Every transition writes an ``audit_events`` row.  Every refusal is a
:class:`LotStateError`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lightcomp.errors import CodeError, StoreError
from lightcomp.store.models import AuditEvent, Lot, TestRun, utcnow

__all__ = [
    "LotStateError",
    "lot_state",
    "publication_status",
    "publish_lot",
    "require_open",
    "withdraw_lot",
]


class LotStateError(StoreError, CodeError):
    """A lot is not in the state an action needs (closed, not published, unknown ...)."""


def publication_status(published_at: datetime | None, withdrawn_at: datetime | None) -> str:
    """``unpublished``, ``published`` or ``withdrawn`` from a lot's two dates."""
    if withdrawn_at is not None:
        return "withdrawn"
    if published_at is not None:
        return "published"
    return "unpublished"


MAX_REASON_CHARS = 2000


def _lot(session: Session, name: str) -> Lot:
    lot = session.scalars(select(Lot).where(Lot.name == name)).first()
    if lot is None:
        raise LotStateError(f"unknown lot {name!r}")
    return lot


def lot_state(lot: Lot) -> str:
    """``open``, ``published`` or ``withdrawn`` (published and withdrawn lots are closed)."""
    return publication_status(lot.published_at, lot.withdrawn_at).replace("unpublished", "open")


def require_open(lot: Lot) -> None:
    """A published or withdrawn lot is closed: its records are what the alliance saw.

    New units or retests go into a new lot, so a published record never changes.
    Raises :class:`LotStateError`.
    """
    if lot.withdrawn_at is not None:
        raise LotStateError(
            f"lot {lot.name!r} was withdrawn on {lot.withdrawn_at:%Y-%m-%d}: it is closed; "
            "test further units as a new lot"
        )
    if lot.published_at is not None:
        raise LotStateError(
            f"lot {lot.name!r} was published on {lot.published_at:%Y-%m-%d}: its records are "
            "closed; test further units as a new lot"
        )


def publish_lot(
    session: Session, lot: str, *, actor: str | None = None, now: datetime | None = None
) -> Lot:
    """Publish lot ``lot`` (by name): its records become visible to members.

    Raises :class:`StoreError` for an unknown lot, one already published, or a
    withdrawn one (a withdrawal is final; test and publish a new lot instead).
    """
    row = _lot(session, lot)
    if row.withdrawn_at is not None:
        raise LotStateError(
            f"lot {lot!r} was withdrawn on {row.withdrawn_at.date()} "
            f"({row.withdraw_reason}); a withdrawn lot cannot be republished"
        )
    if row.published_at is not None:
        raise LotStateError(
            f"lot {lot!r} is already published (since {row.published_at.isoformat()})"
        )
    running = session.scalar(
        select(TestRun.run_uid).where(TestRun.lot_id == row.id, TestRun.status == "running")
    )
    if running is not None:
        raise LotStateError(
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
        raise LotStateError("a withdrawal needs a reason (--reason)")
    if len(reason) > MAX_REASON_CHARS:
        raise LotStateError(f"reason is {len(reason)} characters; at most {MAX_REASON_CHARS}")
    row = _lot(session, lot)
    if row.published_at is None:
        raise LotStateError(f"lot {lot!r} is not published; only a published lot can be withdrawn")
    if row.withdrawn_at is not None:
        raise LotStateError(f"lot {lot!r} was already withdrawn on {row.withdrawn_at.isoformat()}")
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
