"""One rule for the names people type: lot names and unit serials.

A lot name or serial is refused (never silently trimmed) when it is empty, longer
than its column, starts or ends with a space, or holds a control or other
non-printable character: ``" Q2"`` and ``"Q2"`` would otherwise be two lots, and a
tab or newline would corrupt wire protocols, CSV files and labels. Every command
that creates or fills a lot (``code new``, ``station run``, ``demo``) and every
serial (serials files, the barcode scanner, ``issue_codes``) goes through
:func:`check_name`.
"""

from __future__ import annotations

from typing import Any

from lightcomp.errors import CodeError

MAX_LOT_NAME = 64
"""Longest lot name (``lots.name``)."""
MAX_SERIAL = 64
"""Longest maker's serial (``components.external_serial``)."""


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for a one-line message (control characters escaped, long cut)."""
    return repr(value[:limit]) + ("..." if len(value) > limit else "")


def check_name(value: Any, what: str = "lot name", max_len: int = MAX_LOT_NAME) -> str:
    """``value`` unchanged if it is a usable name, else :class:`CodeError` saying why."""
    if not isinstance(value, str):
        raise CodeError(f"{what} must be text, not {value!r}")
    if not value:
        raise CodeError(f"{what} is empty")
    if len(value) > max_len:
        raise CodeError(f"{what} {shown(value)} is {len(value)} characters long; at most {max_len}")
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        raise CodeError(f"{what} {shown(value)} contains the control character {bad!r}")
    if value != value.strip():
        raise CodeError(
            f"{what} {shown(value)} starts or ends with a space: remove it (spaces would "
            "make it a different name)"
        )
    return value


def check_lot_name(value: Any) -> str:
    return check_name(value, "lot name", MAX_LOT_NAME)


def check_serial(value: Any) -> str:
    return check_name(value, "serial", MAX_SERIAL)
