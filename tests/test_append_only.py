"""Stored records are append-only, enforced by the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from lightcomp.store import Calibration, Component, Family, Manufacturer, Measurement
from lightcomp.store.codec import encode_array
from lightcomp.store.models import CurrentMeasurement


def _component(s) -> Component:
    m = Manufacturer(registry_id="M001", name="Maker")
    f = Family(manufacturer=m, name="F1", level=1, category="LE", input_class="CC-DC")
    c = Component(product_code="LC1TEST0001X", item_serial=1, family=f, status="pass")
    s.add_all([m, f, c])
    s.flush()
    return c


def _measurement(s, comp, *, current: bool = True, **kw) -> Measurement:
    """A stored measurement; ``current`` inserts its component's pointer to it (first)."""
    m = Measurement(
        **{"verdict": "pass", **kw},
        component_id=comp.id,
        cct_k=3000.0,
        spectrum=encode_array([1.0, 2.0]),
    )
    s.add(m)
    s.flush()
    if current:
        s.add(CurrentMeasurement(component_id=comp.id, measurement_id=m.id))
        s.flush()
    return m


def _refused(store, sql: str, **params) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        with store.engine.begin() as c:
            c.execute(text(sql), params)


def _pointer(store, cid: int) -> int | None:
    with store.session() as s:
        return s.scalar(
            select(CurrentMeasurement.measurement_id).where(CurrentMeasurement.component_id == cid)
        )


def test_measurement_rows_cannot_be_changed_or_deleted(store):
    with store.transaction() as s:
        mid = _measurement(s, _component(s)).id
    _refused(store, "UPDATE measurements SET cct_k = 2700 WHERE id = :i", i=mid)
    _refused(store, "UPDATE measurements SET verdict = 'fail' WHERE id = :i", i=mid)
    # Writing the same value is a change of a stored record all the same.
    _refused(store, "UPDATE measurements SET cct_k = cct_k WHERE id = :i", i=mid)
    # No column of a measurement is a pointer any more: the row is frozen whole.
    _refused(store, "UPDATE measurements SET kind = kind WHERE id = :i", i=mid)
    _refused(store, "UPDATE measurements SET supersedes_id = id WHERE id = :i", i=mid)
    _refused(store, "DELETE FROM measurements WHERE id = :i", i=mid)
    with store.session() as s:
        m = s.get(Measurement, mid)
        assert (m.cct_k, m.verdict, m.kind, m.supersedes_id) == (
            3000.0,
            "pass",
            "measurement",
            None,
        )


def test_current_pointer_only_moves_forward(store):
    with store.transaction() as s:
        comp = _component(s)
        other = Component(
            product_code="LC1TEST0002X", item_serial=2, family_id=comp.family_id, status="pass"
        )
        s.add(other)
        s.flush()
        old = _measurement(s, comp)
        foreign = _measurement(s, other)
        oid, cid, fid, ocid = old.id, comp.id, foreign.id, other.id
    # Superseding: a new row links the old one, then the pointer moves to it.
    with store.transaction() as s:
        new = _measurement(
            s,
            s.get(Component, cid),
            current=False,
            kind="retest",
            supersedes_id=oid,
            recorded_by="tech",
            reason="fixture reseated",
        )
        nid = new.id
        s.execute(
            update(CurrentMeasurement)
            .where(CurrentMeasurement.component_id == cid)
            .values(measurement_id=nid)
        )
    assert _pointer(store, cid) == nid
    # A newer row of the component that does not supersede the current one (an error
    # retest kept as history) cannot become current by moving the pointer.
    with store.transaction() as s:
        sid = _measurement(s, s.get(Component, cid), current=False, verdict="error").id
    moves = {
        "back": "UPDATE current_measurements SET measurement_id = :o WHERE component_id = :c",
        "sideways": "UPDATE current_measurements SET measurement_id = :s WHERE component_id = :c",
        "foreign": "UPDATE current_measurements SET measurement_id = :f WHERE component_id = :c",
        "component": "UPDATE current_measurements SET component_id = :oc WHERE component_id = :c",
        "same": "UPDATE current_measurements SET measurement_id = measurement_id"
        " WHERE component_id = :c",
        "delete": "DELETE FROM current_measurements WHERE component_id = :c",
    }
    for sql in moves.values():
        with pytest.raises(DBAPIError, match="append-only"):
            with store.engine.begin() as c:
                c.execute(
                    text(sql),
                    {k: v for k, v in dict(o=oid, s=sid, f=fid, oc=ocid, c=cid).items()
                     if f":{k}" in sql},
                )  # fmt: skip
    assert _pointer(store, cid) == nid
    # A pointer names a measurement of its own component, and a component has one.
    _refused(
        store,
        "INSERT INTO current_measurements (component_id, measurement_id) VALUES (:c, :m)",
        c=ocid,
        m=sid,
    )
    with pytest.raises(DBAPIError):
        with store.engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO current_measurements (component_id, measurement_id) VALUES (:c, :m)"
                ),
                {"c": cid, "m": sid},
            )
    with store.session() as s:
        rows = s.execute(
            select(Measurement.id, Measurement.supersedes_id)
            .where(Measurement.component_id == cid)
            .order_by(Measurement.id)
        ).all()
    assert [tuple(r) for r in rows] == [(oid, None), (nid, oid), (sid, None)]
    assert _pointer(store, cid) == nid and _pointer(store, ocid) == fid


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
    # only the pointer moves, and going back and forth between the two keeps the rule
    # (below 0010 the pointer is the measurement's is_current flag).
    from alembic import command

    from lightcomp.store.engine import _alembic_config, head_revision

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
    store.upgrade()
    assert store.current_revision() == head_revision()


def test_revision_0010_moves_current_between_flag_and_pointer_table(store):
    # Up: the pointer table is filled from the flags, the flag column goes, measurement
    # rows are frozen whole.  Down: the flags come back from the pointers, with 0009's
    # rule (a flag cleared once, never set again).  Both ways keep which row is current.
    from alembic import command
    from sqlalchemy import inspect

    from lightcomp.store.engine import _alembic_config, head_revision

    with store.transaction() as s:
        comp = _component(s)
        other = Component(
            product_code="LC1TEST0002X", item_serial=2, family_id=comp.family_id, status="pass"
        )
        s.add(other)
        s.flush()
        first = _measurement(s, comp)
        second = _measurement(s, comp, current=False, kind="retest", supersedes_id=first.id)
        s.execute(
            update(CurrentMeasurement)
            .where(CurrentMeasurement.component_id == comp.id)
            .values(measurement_id=second.id)
        )
        error = _measurement(s, comp, current=False, verdict="error")  # history only
        alone = _measurement(s, other)
        ids = (first.id, second.id, error.id, alone.id)
        pointers = {comp.id: second.id, other.id: alone.id}
    with store.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0009_append_only_image")
    assert store.current_revision() == "0009_append_only_image"
    with store.engine.connect() as c:
        assert "current_measurements" not in inspect(c).get_table_names()
        flags = dict(c.execute(text("SELECT id, is_current FROM measurements")).all())
    assert {i for i, f in flags.items() if f} == {ids[1], ids[3]}
    _refused(store, "UPDATE measurements SET is_current = true WHERE id = :i", i=ids[0])
    _refused(store, "UPDATE measurements SET cct_k = 1 WHERE id = :i", i=ids[1])
    store.upgrade()
    assert store.current_revision() == head_revision()
    with store.engine.connect() as c:
        cols = {col["name"] for col in inspect(c).get_columns("measurements")}
        got = dict(
            c.execute(
                select(CurrentMeasurement.component_id, CurrentMeasurement.measurement_id)
            ).all()
        )
    assert "is_current" not in cols and got == pointers
    _refused(store, "UPDATE measurements SET kind = kind WHERE id = :i", i=ids[1])
    _refused(store, "DELETE FROM current_measurements WHERE measurement_id = :i", i=ids[1])


def test_revision_0011_drops_two_unused_indexes(store):
    from alembic import command
    from sqlalchemy import inspect

    from lightcomp.store.engine import _alembic_config

    def indexes() -> set[str]:
        with store.engine.connect() as c:
            return {i["name"] for i in inspect(c).get_indexes("measurements")}

    unused = {"ix_measurements_cct_k", "ix_measurements_ra"}
    assert not indexes() & unused and "ix_measurements_family_cct" in indexes()
    with store.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0010_current_pointer")
    assert indexes() >= unused
    store.upgrade()
    assert not indexes() & unused


def test_revision_0012_compresses_the_json_columns_with_lz4_where_the_server_can(store):
    """PostgreSQL built with LZ4: the measurements' JSON columns use it; down and up
    again. SQLite has nothing to set (the revision passes over it)."""
    import importlib

    from alembic import command
    from sqlalchemy import text

    from lightcomp.store.engine import _alembic_config

    rev = importlib.import_module("lightcomp.store.migrations.versions.0012_lz4_json")

    def methods() -> dict[str, str]:
        with store.engine.connect() as c:
            return dict(
                c.execute(
                    text(
                        "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = "
                        "'measurements'::regclass AND attnum > 0 AND NOT attisdropped"
                    )
                ).all()
            )

    if store.engine.dialect.name != "postgresql":
        assert store.current_revision() == "0012_lz4_json"
        return
    with store.engine.connect() as c:
        lz4 = rev._lz4_available(c)
    want = "l" if lz4 else ""
    assert {methods()[c] for c in rev.COLUMNS} == {want}
    assert methods()["spectrum"] == ""  # float arrays do not compress: left alone
    with store.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0011_unused_measurement_indexes")
    assert {methods()[c] for c in rev.COLUMNS} == {""}
    store.upgrade()
    assert {methods()[c] for c in rev.COLUMNS} == {want}
