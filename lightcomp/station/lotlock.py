"""A lot's batch is exclusive: one run at a time holds the lot (``lot_locks`` row).

Without it, several ``station run --lot Q2 --count 30`` started at once each read
how many components the lot has and topped it up: 59 components for 30 units, units
measured 2-4 times. The run takes the lock in the transaction that creates it
(:func:`acquire`), keeps a heartbeat while it works (:class:`Heartbeat`, its own
connection every :data:`HEARTBEAT_S`) and deletes the row when it ends
(:func:`release`). A second run is refused with the station, host, process and run
holding the lot. A lock left by a killed run is taken over when its process is gone
(same host) or its heartbeat is older than :data:`STALE_AFTER_S` (any host).

On PostgreSQL the insert of the lock row blocks until a concurrent taker commits and
``SELECT ... FOR UPDATE`` serialises take-overs; on SQLite the database write lock
does both.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from lightcomp.errors import PlanError
from lightcomp.store.models import LotLock

HEARTBEAT_S = 10.0
"""A running batch renews its lock this often (seconds)."""
STALE_AFTER_S = 120.0
"""A lock whose heartbeat is older than this (seconds) belongs to a dead run."""


class LotBusy(PlanError):
    """Another run holds the lot."""


def _now() -> datetime:
    return datetime.now(UTC)  # wall time: heartbeats compare across processes and hosts


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)  # SQLite drops the zone


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def host_name() -> str:
    return socket.gethostname()[:128]


def acquire(session: Session, lot_id: int, lot_name: str, station: str, run_uid: str) -> str | None:
    """Take the lot for run ``run_uid`` in the caller's transaction.

    Returns None, or a note when a lock left by a dead run was taken over. Raises
    :class:`LotBusy` naming the holder when a live run holds the lot.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = _now()
    me = {
        "station": station[:64],
        "host": host_name(),
        "pid": os.getpid(),
        "run_uid": run_uid,
        "acquired_at": now,
        "heartbeat_at": now,
    }
    session.execute(
        insert(LotLock)
        .values(lot_id=lot_id, **me)
        .on_conflict_do_nothing(index_elements=["lot_id"])
    )
    row = session.scalar(
        select(LotLock)
        .where(LotLock.lot_id == lot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row.run_uid == run_uid:
        return None
    age = (now - _aware(row.heartbeat_at)).total_seconds()
    dead = age > STALE_AFTER_S or (row.host == me["host"] and not _process_alive(row.pid))
    if not dead:
        raise LotBusy(
            f"lot {lot_name!r} is being measured by station {row.station} (host {row.host}, "
            f"process {row.pid}, run {str(row.run_uid)[:12]}, since "
            f"{_aware(row.acquired_at):%Y-%m-%d %H:%M:%S} UTC): one batch per lot at a time; "
            "wait for it to end, then re-run this command to continue the lot"
        )
    note = (
        f"lot {lot_name!r}: taking over the lock of run {str(row.run_uid)[:12]} on station "
        f"{row.station} (host {row.host}, process {row.pid}), which stopped without releasing it"
    )
    for key, value in me.items():
        setattr(row, key, value)
    session.flush()
    return note


def release(session: Session, lot_id: int, run_uid: str) -> None:
    """Give the lot back (only if this run still holds it)."""
    session.execute(delete(LotLock).where(LotLock.lot_id == lot_id, LotLock.run_uid == run_uid))


class Heartbeat:
    """Renews the lock of a running batch every :data:`HEARTBEAT_S` on its own thread."""

    def __init__(self, store, lot_id: int, run_uid: str, every_s: float = HEARTBEAT_S):
        self.store, self.lot_id, self.run_uid, self.every_s = store, lot_id, run_uid, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lot-lock-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                with self.store.transaction() as s:
                    s.execute(
                        update(LotLock)
                        .where(LotLock.lot_id == self.lot_id, LotLock.run_uid == self.run_uid)
                        .values(heartbeat_at=_now())
                    )
            except Exception:  # noqa: BLE001 - a missed beat is retried; the batch goes on
                continue

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
