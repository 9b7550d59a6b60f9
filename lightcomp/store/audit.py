"""The audit trail as a hash chain: a removed or altered entry is detected.

Every :class:`~lightcomp.store.models.AuditEvent` carries a sequence number, the hash
of the entry before it and its own hash::

    hash = SHA-256(prev_hash | seq | at | actor | kind | subject | details)

(a canonical JSON text of those fields; ``details`` with sorted keys).  The chain is
filled in by one ``before_insert`` listener, so every writer (publication, keys,
registry, records, LM-80 ...) chains its entries without knowing about it.  Writers
are serialised on the chain's tail: on PostgreSQL by a transaction-scoped advisory
lock, on SQLite by its single writer.  ISO/IEC 17025:2017 8.4.2 asks that records be
protected against unauthorised change; :func:`verify_chain` is how the lab shows it
(``lightcomp audit verify`` reports the first broken link).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from lightcomp.store.models import AuditEvent, utcnow

#: Hash of the (empty) chain before its first entry.
GENESIS = "0" * 64

#: Key of the PostgreSQL advisory lock that serialises appends to the chain.
_PG_LOCK_KEY = 0x4C43_4155  # "LCAU"

_TAIL = "lightcomp_audit_tail"


def _timestamp(at: datetime) -> str:
    """One text for a time stamp whatever the backend returns (SQLite: naive UTC)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str | None,
    kind: str,
    subject: str | None,
    details: Any,
) -> str:
    """SHA-256 (hex) of one entry chained to ``prev_hash``."""
    body = json.dumps(
        [prev_hash, seq, _timestamp(at), actor, kind, subject, details or {}],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _tail(connection) -> tuple[int, str]:
    """(seq, hash) of the chain's last entry as this transaction sees it."""
    tx = connection.get_transaction()
    cached = connection.info.get(_TAIL)
    if cached is not None and cached[0] is tx:
        return cached[1], cached[2]
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    row = connection.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if row is None or row.seq is None:
        return 0, GENESIS
    return int(row.seq), str(row.hash)


@event.listens_for(AuditEvent, "before_insert")
def _chain(_mapper, connection, target: AuditEvent) -> None:
    """Give a new entry its place in the chain (sequence, previous hash, own hash)."""
    if target.at is None:
        target.at = utcnow()
    if target.details is None:
        target.details = {}
    seq, prev = _tail(connection)
    target.seq = seq + 1
    target.prev_hash = prev
    target.hash = entry_hash(
        prev, target.seq, target.at, target.actor, target.kind, target.subject, target.details
    )
    connection.info[_TAIL] = (connection.get_transaction(), target.seq, target.hash)


@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`: ``broken_at`` is None when the chain is whole."""

    entries: int
    broken_at: int | None = None  # sequence number (or row id) of the first bad entry
    reason: str | None = None
    last_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the chain in id order and report the first broken link.

    Detected: an altered entry (its hash no longer matches its fields), a removed
    entry (a gap in the sequence, or the next entry's ``prev_hash`` not matching),
    an inserted or reordered entry, and entries written around the chain.
    """
    prev_hash, prev_seq, count, last_id = GENESIS, 0, 0, 0
    while True:
        rows = session.execute(
            select(AuditEvent)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch)
            .execution_options(yield_per=batch)
        ).scalars()
        rows = list(rows)
        if not rows:
            return ChainReport(entries=count, last_hash=prev_hash)
        for ev in rows:
            last_id = ev.id
            where = ev.seq if ev.seq is not None else ev.id
            if ev.seq is None or ev.hash is None:
                return ChainReport(count, where, f"entry id {ev.id} is outside the chain")
            if ev.seq != prev_seq + 1:
                return ChainReport(
                    count,
                    ev.seq,
                    f"entry {prev_seq + 1} is missing (next is {ev.seq}, id {ev.id})",
                )
            if ev.prev_hash != prev_hash:
                return ChainReport(
                    count, ev.seq, f"entry {ev.seq} does not follow entry {prev_seq}"
                )
            want = entry_hash(
                ev.prev_hash, ev.seq, ev.at, ev.actor, ev.kind, ev.subject, ev.details
            )
            if want != ev.hash:
                return ChainReport(
                    count, ev.seq, f"entry {ev.seq} ({ev.kind}) was altered after it was written"
                )
            prev_hash, prev_seq = ev.hash, ev.seq
            count += 1
        session.expunge_all()


def record(
    session: Session,
    kind: str,
    *,
    actor: str | None = None,
    subject: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add one audit entry to ``session`` (chained on flush)."""
    ev = AuditEvent(kind=kind, actor=actor, subject=subject, details=details)
    session.add(ev)
    return ev
