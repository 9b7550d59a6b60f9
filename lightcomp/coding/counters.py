"""Transactional counters in ``code_counters`` (item serials, registry ids, model sequences).

One row per counter; a reservation of ``n`` values is a single
``UPDATE code_counters SET next_value = next_value + n WHERE name = ... RETURNING next_value``
inside the caller's transaction. On PostgreSQL the UPDATE takes the row lock,
so concurrent stations queue on it and never receive overlapping ranges; on
SQLite the statement takes the database write lock (WAL + busy timeout). The
row is created on first use with ``INSERT ... ON CONFLICT DO NOTHING``, which
is safe when two sessions create it at once.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from lightcomp.errors import CodeError
from lightcomp.store.models import CodeCounter

ITEM_SERIAL = "item_serial"
MANUFACTURER_ID = "manufacturer_id"


def model_seq_counter(registry_id: str) -> str:
    """Name of the model-sequence counter of one manufacturer."""
    return f"model_seq:{registry_id}"


def block_counter(first: int) -> str:
    """Name of the local counter that walks through a reserved serial block."""
    return f"block:{first}"


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def reserve(
    session: Session, name: str, n: int, *, start: int = 1, maximum: int | None = None
) -> int:
    """Reserve ``n`` consecutive values of counter ``name``; return the first.

    The counter starts at ``start``. Raises :class:`CodeError` if the range
    would pass ``maximum``; the caller's transaction then rolls back, so
    nothing is consumed.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise CodeError(f"count must be a whole number >= 1, not {n!r}")
    insert = _insert(session)
    session.execute(
        insert(CodeCounter)
        .values(name=name, next_value=start)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    new_next = session.execute(
        update(CodeCounter)
        .where(CodeCounter.name == name)
        .values(next_value=CodeCounter.next_value + n)
        .returning(CodeCounter.next_value)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    first = int(new_next) - n
    if maximum is not None and first + n - 1 > maximum:
        raise CodeError(
            f"counter {name!r} exhausted: {n} more values would pass {maximum} "
            f"(next free value {first})"
        )
    return first


def peek(session: Session, name: str) -> int | None:
    """Next value of counter ``name`` without reserving it (None if never used)."""
    row = session.get(CodeCounter, name)
    return None if row is None else int(row.next_value)
