"""Code allocation on the store: issue, lots, rollback, reserved blocks, offline
registration, and concurrency (many processes issuing at once never collide).

Runs on SQLite and (with LIGHTCOMP_TEST_PG) PostgreSQL.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lightcomp.coding import (
    BlockFile,
    CodeError,
    decode,
    find_component,
    import_registry,
    issue_codes,
    register_codes,
    register_family,
    register_manufacturer,
    reserve_block,
)
from lightcomp.store import CodeCounter, Component, Lot, SerialBlock, Store

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "station" / "registry" / "demo.toml"


@pytest.fixture
def sqlite_store(sqlite_url):
    """SQLite-only store for argument-checking tests (backend-independent logic)."""
    from lightcomp.store import Store

    s = Store.open(sqlite_url)
    yield s
    s.dispose()


def _family(session, maker="Acme LED", name="B0"):
    m = register_manufacturer(session, maker)
    return register_family(
        session,
        m,
        name,
        level=0,
        category="LB",
        input_class="CC-DC",
        nominal_cct_k=4000,
        cri_class=80,
        nominal_flux_lm=1200,
    )


def test_issue_codes_creates_components(store):
    with store.transaction() as s:
        fam = _family(s)
        comps = issue_codes(s, fam, 5, lot="LOT-1", external_serials=list("abcde"))
        fam_id = fam.id
    assert [c.item_serial for c in comps] == [1, 2, 3, 4, 5]
    with store.transaction() as s:
        rows = list(s.scalars(select(Component).order_by(Component.item_serial)))
        assert len(rows) == 5
        lot = s.scalar(select(Lot).where(Lot.name == "LOT-1"))
        for row, ext in zip(rows, "abcde", strict=True):
            assert row.status == "issued"
            assert row.family_id == fam_id and row.lot_id == lot.id
            assert row.external_serial == ext
            f = decode(row.product_code)
            assert f["code"] == row.product_code  # canonical in the store
            assert f["item_serial"] == row.item_serial
            assert (f["level"], f["category"], f["manufacturer"]) == (0, "LB", "M0001")
            assert (f["nominal_cct_k"], f["cri_class"], f["flux_class"]) == (4000, 80, "31")
            assert f["type_code"] == "LC10LBM0001408F31C0001"
        assert find_component(s, decode(rows[2].product_code)["printed"].lower()).id == rows[2].id
        # next call continues the alliance counter
        more = issue_codes(s, fam_id and rows[0].family, 2)
        assert [c.item_serial for c in more] == [6, 7]


def test_sql_fragments_never_reach_the_database(store):
    with store.transaction() as s:
        issue_codes(s, _family(s), 1)
    for hostile in ("'; DROP TABLE components; --", "1 OR 1=1", "LC1' OR '1'='1"):
        with pytest.raises(CodeError), store.transaction() as s:
            find_component(s, hostile)
    with store.transaction() as s:
        assert s.scalar(select(func.count(Component.id))) == 1


def test_rollback_returns_serials(store):
    with store.transaction() as s:
        _family(s)
    with pytest.raises(RuntimeError), store.transaction() as s:
        issue_codes(s, "B0", 10)
        raise RuntimeError("station crashed before commit")
    with store.transaction() as s:
        assert [c.item_serial for c in issue_codes(s, "B0", 2)] == [1, 2]
        assert s.scalar(select(func.count(Component.id))) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 0}, "count"),
        ({"count": -3}, "count"),
        ({"count": 10**6}, "count"),
        ({"count": 2, "external_serials": ["x"]}, "external serials"),
        ({"count": 1, "external_serials": ["a\x00b"]}, "control"),
        ({"count": 1, "lot": "L" * 65}, "lot name"),
    ],
)
def test_issue_codes_bad_arguments(sqlite_store, kwargs, message):
    with sqlite_store.transaction() as s:
        fam = _family(s)
        with pytest.raises(CodeError, match=message):
            issue_codes(s, fam, **kwargs)


def test_issue_for_unregistered_family_rejected(sqlite_store):
    with sqlite_store.transaction() as s:
        with pytest.raises(CodeError, match="not registered"):
            issue_codes(s, "no-such-family", 1)


def test_blocks_and_online_issue_never_overlap(store):
    with store.transaction() as s:
        fam = _family(s)
        a = issue_codes(s, fam, 3)
        blk = reserve_block(s, "ST7", 10)
        b = issue_codes(s, fam, 3)
        assert (blk.first, blk.last) == (4, 13)
    serials = {c.item_serial for c in a + b}
    assert serials == {1, 2, 3, 14, 15, 16}


def test_offline_issue_and_register_once(tmp_path, db_url):
    central = Store.open(db_url)
    local = Store.open(f"sqlite:///{tmp_path / 'local.db'}")
    try:
        for st in (central, local):
            with st.transaction() as s:
                import_registry(s, DEMO)
        with central.transaction() as s:
            issue_codes(s, "LS0-COB-4000", 2)  # serials 1, 2
            block = BlockFile.from_block(reserve_block(s, "ST7", 5))  # 3..7
        path = block.write(tmp_path / "st7.block.json")
        block = BlockFile.read(path)
        with local.transaction() as s:
            first = [c.product_code for c in issue_codes(s, "LM1-AC-3000", 3, block=block)]
        with local.transaction() as s:
            second = [c.product_code for c in issue_codes(s, "LS0-COB-4000", 2, block=block)]
            with pytest.raises(CodeError, match="only 0 serial"):
                issue_codes(s, "LS0-COB-4000", 1, block=block)
        offline = first + second
        assert [decode(c)["item_serial"] for c in offline] == [3, 4, 5, 6, 7]
        with central.transaction() as s:
            registered = register_codes(s, offline, holder="ST7")
            assert len(registered) == 5
        # a code from a block is registered only once
        with pytest.raises(CodeError, match="already registered"), central.transaction() as s:
            register_codes(s, offline[:1])
        with central.transaction() as s:
            online = issue_codes(s, "LS0-COB-4000", 1)
            assert online[0].item_serial == 8
            with pytest.raises(CodeError, match="not in a reserved block"):
                register_codes(
                    s,
                    [
                        online[0].product_code.replace("000000008", "000000001")[:-1]
                        + _check_for(online[0].product_code, 1)
                    ],
                )
    finally:
        central.dispose()
        local.dispose()


def _check_for(code: str, serial: int) -> str:
    from lightcomp.coding import check_character

    data = code[:22] + f"{serial:09d}"
    return check_character(data)


def test_register_codes_checks(tmp_path, store):
    with store.transaction() as s:
        import_registry(s, DEMO)
        blk = BlockFile.from_block(reserve_block(s, "ST9", 4))
    local = Store.open(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        with local.transaction() as s:
            import_registry(s, DEMO)
            codes = [c.product_code for c in issue_codes(s, "LS0-COB-4000", 2, block=blk)]
    finally:
        local.dispose()
    # the caller's transaction rolls back on the error: all or nothing
    with pytest.raises(CodeError, match="not 'ST7'"), store.transaction() as s:
        register_codes(s, codes, holder="ST7")
    with pytest.raises(CodeError, match="twice"), store.transaction() as s:
        register_codes(s, [codes[0], codes[0].lower()])
    with pytest.raises(CodeError, match="check"), store.transaction() as s:
        register_codes(s, [codes[0][:-1] + ("A" if codes[0][-1] != "A" else "B")])
    with store.transaction() as s:  # all or nothing: nothing was registered above
        assert s.scalar(select(func.count(Component.id))) == 0
        assert len(register_codes(s, codes, holder="ST9")) == 2


def test_block_file_errors(tmp_path):
    bad = tmp_path / "x.json"
    with pytest.raises(CodeError, match="not found"):
        BlockFile.read(bad)
    bad.write_text("{nope")
    with pytest.raises(CodeError, match="not JSON"):
        BlockFile.read(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(CodeError, match="not a lightcomp serial block"):
        BlockFile.read(bad)
    bad.write_text(
        json.dumps(
            {
                "format": "lightcomp-serial-block",
                "version": 1,
                "block_id": 1,
                "holder": "A",
                "first": 9,
                "last": 3,
            }
        )
    )
    with pytest.raises(CodeError, match="bad serial range"):
        BlockFile.read(bad)


def test_serial_space_exhaustion(store):
    with store.transaction() as s:
        fam = _family(s)
        s.add(CodeCounter(name="item_serial", next_value=999_999_998))
    with store.transaction() as s:
        assert [c.item_serial for c in issue_codes(s, "B0", 2)] == [999_999_998, 999_999_999]
    with pytest.raises(CodeError, match="exhausted"), store.transaction() as s:
        issue_codes(s, fam.id and "B0", 1)


# -- concurrency -----------------------------------------------------------------------


def _worker(url: str, go: str, n_tx: int, per_tx: int, tag: str, out_path: str) -> None:
    """One station: its own engine, n_tx transactions issuing per_tx codes, some blocks."""
    store = Store.open(url)
    with store.transaction():  # connect before the start signal
        pass
    Path(f"{go}.{tag}").touch()
    while not os.path.exists(go):
        time.sleep(0.002)
    out = []
    for i in range(n_tx):
        with store.transaction() as s:
            fam = "LS0-COB-4000" if i % 2 else "LM1-AC-3000"
            for c in issue_codes(s, fam, per_tx):
                out.append(f"C {c.item_serial} {c.product_code}")
            if i % 5 == 3:
                b = reserve_block(s, tag, 7)
                out.append(f"B {b.first} {b.last}")
    store.dispose()
    Path(out_path).write_text("\n".join(out) + "\n")


def _run_concurrently(url: str, tmp_path: Path, procs: int, n_tx: int, per_tx: int):
    """Fork ``procs`` stations (each opens its own engine), start them at once, collect."""
    store = Store.open(url)
    with store.transaction() as s:
        import_registry(s, DEMO)
    store.dispose()
    ctx = multiprocessing.get_context("fork")  # fast start: no re-import per process
    go = str(tmp_path / "go")
    outs = [tmp_path / f"W{i}.txt" for i in range(procs)]
    children = [
        ctx.Process(target=_worker, args=(url, go, n_tx, per_tx, f"W{i}", str(outs[i])))
        for i in range(procs)
    ]
    for child in children:
        child.start()
    deadline = time.monotonic() + 120
    while not all(os.path.exists(f"{go}.W{i}") for i in range(procs)):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(c.exitcode in (None, 0) for c in children), "a worker died while starting"
        time.sleep(0.01)
    Path(go).touch()
    for child in children:
        child.join(timeout=300)
        assert child.exitcode == 0, f"worker exit code {child.exitcode}"
    codes, serials, blocks = [], [], []
    for path in outs:
        for line in path.read_text().splitlines():
            kind, a, b = line.split()
            if kind == "C":
                serials.append(int(a))
                codes.append(b)
            else:
                blocks.append((int(a), int(b)))
    return codes, serials, blocks


def _check_no_collisions(url, codes, serials, blocks, expected_codes):
    assert len(codes) == expected_codes
    assert len(set(codes)) == len(codes), "duplicate product codes"
    assert len(set(serials)) == len(serials), "duplicate item serials"
    in_blocks = [s for a, b in blocks for s in range(a, b + 1)]
    assert len(set(in_blocks)) == len(in_blocks), "overlapping serial blocks"
    assert not set(in_blocks) & set(serials), "online codes inside a reserved block"
    # no gaps: every serial handed out exactly once (nothing rolled back)
    assert sorted(serials + in_blocks) == list(range(1, len(serials) + len(in_blocks) + 1))
    for c in codes[:: max(1, len(codes) // 200)]:
        decode(c)
    store = Store.open(url)
    try:
        with store.transaction() as s:
            assert s.scalar(select(func.count(Component.id))) == expected_codes
            assert (
                s.scalar(select(func.count(func.distinct(Component.item_serial)))) == expected_codes
            )
            assert s.scalar(select(func.count(SerialBlock.id))) == len(blocks)
            top = s.get(CodeCounter, "item_serial").next_value
            assert top == len(serials) + len(in_blocks) + 1
    finally:
        store.dispose()


@pytest.mark.pg
def test_concurrent_allocation_postgresql(pg_url, tmp_path):
    """8 processes x 500 codes (25 transactions of 20, plus blocks) against one PostgreSQL."""
    codes, serials, blocks = _run_concurrently(pg_url, tmp_path, procs=8, n_tx=25, per_tx=20)
    _check_no_collisions(pg_url, codes, serials, blocks, expected_codes=8 * 500)


def test_concurrent_allocation_sqlite(sqlite_url, tmp_path):
    """2 processes x 100 codes on one SQLite file (WAL, busy timeout)."""
    codes, serials, blocks = _run_concurrently(sqlite_url, tmp_path, procs=2, n_tx=20, per_tx=5)
    _check_no_collisions(sqlite_url, codes, serials, blocks, expected_codes=2 * 100)
