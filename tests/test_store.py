"""Store: schema round trip on SQLite and PostgreSQL, migrations, URL errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa

from lightcomp.errors import ConfigError, StoreError
from lightcomp.store import (
    Base,
    Calibration,
    Component,
    Family,
    Lot,
    Manufacturer,
    Measurement,
    Store,
    TestRun,
    decode_array,
    encode_array,
)
from lightcomp.store.engine import head_revision, resolve_url


def _weird_spectrum() -> np.ndarray:
    rng = np.random.default_rng(7)
    s = rng.random(401) * 1e-3
    s[3] = -0.0
    s[5] = np.nan
    s[7] = 5e-324  # subnormal
    s[9] = np.finfo(float).max
    return s


def test_codec_round_trip_bit_exact():
    for a in (
        _weird_spectrum(),
        np.arange(12, dtype=np.int64).reshape(3, 4),
        np.float32([1.5, np.inf]),
        np.zeros((0,)),
    ):
        b = decode_array(encode_array(a))
        assert b.shape == a.shape
        assert b.dtype == a.dtype
        assert b.tobytes() == np.ascontiguousarray(a).tobytes()


def test_codec_rejects_corrupt_blob():
    blob = encode_array(np.arange(5.0))
    with pytest.raises(StoreError, match="corrupt"):
        decode_array(blob[:-3])
    with pytest.raises(StoreError, match="bad header"):
        decode_array(b"nonsense")


def test_component_with_spectrum_round_trip(store):
    wl = np.arange(380.0, 781.0)
    spec = _weird_spectrum()
    with store.transaction() as s:
        m = Manufacturer(registry_id="M001", name="Acme LED")
        f = Family(
            manufacturer=m,
            name="AC-COB-19",
            level=0,
            category="COB",
            input_class="CC-DC",
            nominal_cct_k=3000,
            cri_class=80,
            rated={"current_a": 0.7, "flux_lm": 2000.0},
            limits={"luminous_flux": {"min": 1800.0}},
        )
        lot = Lot(name="LOT-1", family=f)
        c = Component(product_code="LC1X", item_serial=1, family=f, lot=lot, status="pass")
        cal = Calibration(
            calib_id="CAL-1",
            station="S1",
            valid_from=datetime(2026, 1, 1, tzinfo=UTC),
            valid_until=datetime(2027, 1, 1, tzinfo=UTC),
            responsivity=encode_array(spec),
        )
        run = TestRun(run_uid="r1", lot=lot, station="S1", plan_name="p", calibration=cal)
        s.add(
            Measurement(
                component=c,
                test_run=run,
                calibration=cal,
                verdict="pass",
                wavelengths=encode_array(wl),
                spectrum=encode_array(spec),
                raw_spectrum=encode_array(spec * 0.5),
                quantities={"CCT": 3012.5},
                stabilisation=[{"t_s": 0, "flux": 1.0}],
                cct_k=3012.5,
            )
        )
    with store.transaction() as s:
        m = s.scalars(sa.select(Measurement)).one()
        assert decode_array(m.spectrum).tobytes() == spec.tobytes()
        assert decode_array(m.wavelengths).tobytes() == wl.tobytes()
        assert m.component.family.manufacturer.name == "Acme LED"
        assert m.component.family.limits["luminous_flux"]["min"] == 1800.0
        assert m.quantities["CCT"] == 3012.5
        assert m.family_id == m.component.family_id  # copied on insert (search index)
        assert m.calibration.valid_until.year == 2027
        assert decode_array(m.calibration.responsivity).tobytes() == spec.tobytes()


def test_transaction_rolls_back_as_a_whole(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as s:
            s.add(Manufacturer(registry_id="M009", name="Gone"))
            s.flush()
            raise RuntimeError("boom")
    with store.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Manufacturer)) == 0


def test_unique_code_enforced(store):
    with store.transaction() as s:
        m = Manufacturer(registry_id="M001", name="A")
        f = Family(manufacturer=m, name="F", level=1, category="M", input_class="AC")
        s.add(Component(product_code="DUP", item_serial=1, family=f))
    with pytest.raises(StoreError):
        with store.transaction() as s:
            f = s.scalars(sa.select(Family)).one()
            s.add(Component(product_code="DUP", item_serial=2, family=f))
    with store.transaction() as s:  # the first one is intact
        assert s.scalars(sa.select(Component.item_serial)).all() == [1]


def test_codec_decodes_a_chunk_in_one_copy_bit_exact():
    from lightcomp.store.codec import decode_stack

    rows = np.stack(
        [_weird_spectrum(), -_weird_spectrum(), np.arange(401.0)[: _weird_spectrum().size]]
    )
    got = decode_stack([encode_array(r) for r in rows])
    assert got.shape == rows.shape and got.tobytes() == rows.tobytes()
    # A blob of another shape, or a damaged header, is named as decode_array names it.
    with pytest.raises(StoreError, match="differ in shape"):
        decode_stack([encode_array(rows[0]), encode_array(rows[0][:-1])])
    bad = bytearray(encode_array(rows[1]))
    bad[4:5] = b"f"
    with pytest.raises(StoreError, match="differ in dtype or shape"):
        decode_stack([encode_array(rows[0]), bytes(bad)])
    with pytest.raises(StoreError, match="corrupt"):
        decode_stack([encode_array(rows[0])[:-3]])


def test_migrations_from_empty_match_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    store = Store.open(db_url, create=False)
    assert store.current_revision() is None
    assert store.upgrade() == head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    # Opening again is a no-op and keeps the revision.
    assert Store.open(db_url).current_revision() == head_revision()


def test_fresh_database_created_automatically(sqlite_url):
    store = Store.open(sqlite_url)
    assert store.current_revision() == head_revision()
    assert "measurements" in sa.inspect(store.engine).get_table_names()


def test_old_schema_asks_for_upgrade(sqlite_url):
    store = Store.open(sqlite_url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num='0001'")
    with pytest.raises(StoreError, match="lightcomp db upgrade"):
        Store.open(sqlite_url)


@pytest.mark.parametrize(
    "url, message",
    [
        ("not a url", "bad database URL"),
        ("mysql://x@y/z", "unsupported database"),
        ("sqlite:////no/such/folder/x.db", "does not exist"),
    ],
)
def test_bad_url_clear_error(url, message):
    with pytest.raises(ConfigError, match=message):
        Store.open(url)


def test_unreachable_server_clear_error():
    with pytest.raises(StoreError, match="cannot connect"):
        Store.open("postgresql://nobody@127.0.0.1:1/none")


def test_url_resolution_env(monkeypatch):
    monkeypatch.setenv("LIGHTCOMP_DB", "postgresql://u@h/d")
    assert resolve_url().drivername == "postgresql+psycopg"
    monkeypatch.delenv("LIGHTCOMP_DB")
    assert str(resolve_url()) == "sqlite:///lightcomp.db"


def test_cli_bad_url_one_line_error(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "lightcomp.cli", "db", "current", "--db", "bogus://x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: unsupported database"), r.stderr


def test_cli_help_lists_subcommands():
    r = subprocess.run(
        [sys.executable, "-m", "lightcomp.cli", "--help"], capture_output=True, text=True
    )
    assert r.returncode == 0
    assert "db" in r.stdout
