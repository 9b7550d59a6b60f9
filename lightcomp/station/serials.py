"""Serials and lot names a station run accepts, checked before anything is stored.

Every serial follows :func:`lightcomp.coding.names.check_serial` (no control
characters, no surrounding spaces, at most 64 characters) and must be something the
station's fixture can carry: a fixture on a wire protocol (the simulated lab's
``LOAD serial,lot,family``) takes printable ASCII without commas; the operator
fixture (a person at a terminal) takes any printable text. A serials file is checked
whole before the batch starts, duplicates included, so an over-long serial on line
500 refuses the file instead of stopping the batch half-way.
"""

from __future__ import annotations

from collections.abc import Iterable

from lightcomp.coding.names import check_lot_name, check_serial, shown
from lightcomp.errors import CodeError, PlanError


def fixture_refuses(station, text: str) -> str | None:
    """Why the station's fixture cannot carry ``text`` (None when it can)."""
    from lightcomp.drivers import driver_class

    cfg = station.instruments.get("fixture")
    if cfg is None:
        return None
    try:
        cls = driver_class(cfg.driver)
    except PlanError:
        return None
    if not getattr(cls, "needs_connection", True):
        return None  # a person reads it
    if not text.isascii():
        return f"fixture {cfg.driver} speaks ASCII only"
    if "," in text:
        return f"fixture {cfg.driver} separates fields with ','"
    return None


def check_run_serial(station, serial: str) -> str:
    """A serial for this station's run, or :class:`PlanError` saying why not."""
    try:
        serial = check_serial(serial)
    except CodeError as exc:
        raise PlanError(str(exc)) from None
    why = fixture_refuses(station, serial)
    if why:
        raise PlanError(f"serial {shown(serial)} cannot be sent to the fixture: {why}")
    return serial


def check_run_lot(station, lot: str) -> str:
    """A lot name for this station's run, or :class:`PlanError` saying why not."""
    try:
        lot = check_lot_name(lot)
    except CodeError as exc:
        raise PlanError(str(exc)) from None
    why = fixture_refuses(station, lot)
    if why:
        raise PlanError(f"lot name {shown(lot)} cannot be sent to the fixture: {why}")
    return lot


def check_serial_list(
    station, serials: Iterable[str], source: str = "serials", lines: list[int] | None = None
) -> list[str]:
    """Every serial of a list checked up front (duplicates refused); the list unchanged.

    ``source`` names the list in messages (a file name), ``lines`` the line of each
    serial in it (default: entries counted from 1).
    """
    out: list[str] = []
    seen: dict[str, int] = {}
    errors: list[str] = []
    serials = list(serials)
    for i, serial in zip(lines or range(1, len(serials) + 1), serials, strict=True):
        try:
            serial = check_run_serial(station, serial)
        except PlanError as exc:
            errors.append(f"{source}:{i}: {exc}")
            continue
        if serial in seen:
            errors.append(f"{source}:{i}: serial {shown(serial)} repeats line {seen[serial]}")
            continue
        seen[serial] = i
        out.append(serial)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PlanError(f"{errors[0]}{more}: nothing was measured")
    return out
