"""Stored records are append-only, enforced by the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from lightcomp.store import Calibration, Component, Family, Manufacturer, Measurement
from lightcomp.store.codec import encode_array


def _component(s) -> Component:
    m = Manufacturer(registry_id="M001", name="Maker")
    f = Family(manufacturer=m, name="F1", level=1, category="LE", input_class="CC-DC")
    c = Component(product_code="LC1TEST0001X", item_serial=1, family=f, status="pass")
    s.add_all([m, f, c])
    s.flush()
    return c


def _measurement(s, comp, **kw) -> Measurement:
    m = Measurement(
        component_id=comp.id, verdict="pass", cct_k=3000.0, spectrum=encode_array([1.0, 2.0]), **kw
    )
    s.add(m)
    s.flush()
    return m


def _refused(store, sql: str, **params) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        with store.engine.begin() as c:
            c.execute(text(sql), params)


def test_measurement_rows_cannot_be_changed_or_deleted(store):
    with store.transaction() as s:
        mid = _measurement(s, _component(s)).id
    _refused(store, "UPDATE measurements SET cct_k = 2700 WHERE id = :i", i=mid)
    _refused(store, "UPDATE measurements SET verdict = 'fail' WHERE id = :i", i=mid)
    # Writing the same value is a change of a stored record all the same.
    _refused(store, "UPDATE measurements SET cct_k = cct_k WHERE id = :i", i=mid)
    # Moving the pointer together with another column is refused as a whole.
    _refused(store, "UPDATE measurements SET is_current = false, ra = 1 WHERE id = :i", i=mid)
    _refused(store, "DELETE FROM measurements WHERE id = :i", i=mid)
    with store.session() as s:
        m = s.get(Measurement, mid)
        assert (m.cct_k, m.verdict, m.is_current) == (3000.0, "pass", True)


def test_current_pointer_only_moves_forward(store):
    with store.transaction() as s:
        comp = _component(s)
        old = _measurement(s, comp)
        oid, cid = old.id, comp.id
    # Superseding: a new row links the old one; the old row's pointer is cleared, once.
    with store.transaction() as s:
        s.execute(update(Measurement).where(Measurement.id == oid).values(is_current=False))
        new = _measurement(
            s,
            s.get(Component, cid),
            kind="retest",
            supersedes_id=oid,
            recorded_by="tech",
            reason="fixture reseated",
        )
        nid = new.id
    _refused(store, "UPDATE measurements SET is_current = true WHERE id = :i", i=oid)
    with store.session() as s:
        rows = s.execute(
            select(Measurement.id, Measurement.is_current, Measurement.supersedes_id)
            .where(Measurement.component_id == cid)
            .order_by(Measurement.id)
        ).all()
    assert [tuple(r) for r in rows] == [(oid, False, None), (nid, True, oid)]


def test_calibration_status_only_moves_forward(store):
    now = datetime.now(UTC)
    with store.transaction() as s:
        cal = Calibration(
            calib_id="C1", station="S1", valid_from=now, valid_until=now + timedelta(days=30)
        )
        s.add(cal)
        s.flush()
        cid = cal.id
    _refused(store, "UPDATE calibrations SET valid_until = valid_until WHERE id = :i", i=cid)
    _refused(store, "DELETE FROM calibrations WHERE id = :i", i=cid)
    with store.engine.begin() as c:
        c.execute(text("UPDATE calibrations SET status = 'superseded' WHERE id = :i"), {"i": cid})
    _refused(store, "UPDATE calibrations SET status = 'valid' WHERE id = :i", i=cid)


def test_orm_edit_of_a_stored_measurement_is_refused(store):
    with store.transaction() as s:
        mid = _measurement(s, _component(s)).id
    from lightcomp.errors import StoreError

    with pytest.raises(StoreError, match="append-only"):
        with store.transaction() as s:
            s.get(Measurement, mid).ra = 99.0


def test_revision_0009_down_and_up_keeps_records_append_only(store):
    # 0009 replaces PostgreSQL's to_jsonb comparison by a binary-image one; either way
    # only the pointer moves, and going back and forth between the two keeps the rule.
    from alembic import command

    from lightcomp.store.engine import _alembic_config

    with store.transaction() as s:
        mid = _measurement(s, _component(s)).id
    for target in ("0008_record_history", "0009_append_only_image"):
        with store.engine.begin() as conn:
            if target.startswith("0008"):
                command.downgrade(_alembic_config(conn), target)
            else:
                command.upgrade(_alembic_config(conn), target)
            if conn.dialect.name == "postgresql":
                body = conn.scalar(
                    text(
                        "SELECT prosrc FROM pg_proc WHERE proname = 'lc_measurements_append_only'"
                        " AND pronamespace = current_schema()::regnamespace"
                    )
                )
                assert ("to_jsonb" in body) == target.startswith("0008")
        assert store.current_revision() == target
        _refused(store, "UPDATE measurements SET cct_k = 2700 WHERE id = :i", i=mid)
        _refused(store, "UPDATE measurements SET is_current = false, ra = 1 WHERE id = :i", i=mid)
    with store.engine.begin() as c:
        c.execute(text("UPDATE measurements SET is_current = false WHERE id = :i"), {"i": mid})
    _refused(store, "UPDATE measurements SET is_current = true WHERE id = :i", i=mid)
