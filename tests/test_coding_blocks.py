"""Offline serial blocks: a store holding blocks issues only from them; block files are
signed by the alliance store and a forged or widened range is refused before any code.

Runs on SQLite and (with LIGHTCOMP_TEST_PG) PostgreSQL as the alliance store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightcomp.cli import main
from lightcomp.coding import BlockFile, CodeError, import_registry, issue_codes, reserve_block
from lightcomp.store import Component, Store

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "station" / "registry" / "demo.toml"


@pytest.fixture
def stores(tmp_path, db_url):
    """(alliance store on each backend, a local SQLite store), both with the demo registry."""
    central = Store.open(db_url)
    local = Store.open(f"sqlite:///{tmp_path / 'local.db'}")
    for st in (central, local):
        with st.transaction() as s:
            import_registry(s, DEMO)
    yield central, local
    central.dispose()
    local.dispose()


def _reserve(central, tmp_path, n=5, holder="ST7") -> Path:
    with central.transaction() as s:
        issue_codes(s, "LS0-COB-4000", 3)  # serials 1..3 exist on the alliance store
        blk = BlockFile.from_block(reserve_block(s, holder, n))
    return blk.write(tmp_path / f"{holder}.block.json")


def test_store_holding_a_block_issues_only_from_it(stores, tmp_path):
    central, local = stores
    path = _reserve(central, tmp_path)  # block 4..8
    with local.transaction() as s:
        issue_codes(s, "LS0-COB-4000", 1, block=BlockFile.read(path))
    # later issues without naming the block (e.g. a station run) still come from it,
    # never from serial 1.. which the alliance store already issued online
    with local.transaction() as s:
        got = [c.item_serial for c in issue_codes(s, "LS0-COB-4000", 3, lot="L1")]
    assert got == [5, 6, 7]
    with pytest.raises(CodeError, match="only from its reserved serial blocks"):
        with local.transaction() as s:
            issue_codes(s, "LS0-COB-4000", 2)
    with local.transaction() as s:
        assert s.query(Component).count() == 4


def test_widened_block_file_refused_before_any_code(stores, tmp_path, capsys):
    central, local = stores
    path = _reserve(central, tmp_path)
    data = json.loads(path.read_text())
    assert data["version"] == 2 and data["signature"] and data["signer_key"]
    data["last"] += 1000
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    with pytest.raises(CodeError, match="signature does not match"):
        BlockFile.read(forged)
    local_url = str(local.url)
    capsys.readouterr()
    rc = main(
        ["code", "new", "-m", "M0001", "-f", "LS0-COB-4000", "--block", str(forged),
         "--db", local_url]
    )  # fmt: skip
    out = capsys.readouterr()
    assert rc == 2 and out.out == ""
    assert out.err.startswith("error: ") and "signature" in out.err and out.err.count("\n") == 1
    with local.transaction() as s:
        assert s.query(Component).count() == 0


def test_block_signed_by_another_key_refused(stores, tmp_path):
    central, local = stores
    with local.transaction() as s:
        issue_codes(s, "LS0-COB-4000", 1, block=BlockFile.read(_reserve(central, tmp_path)))
    # a second "alliance" (another store with its own key) signs a block over the same serials
    other = Store.open(f"sqlite:///{tmp_path / 'rogue.db'}")
    try:
        with other.transaction() as s:
            import_registry(s, DEMO)
            rogue = BlockFile.from_block(reserve_block(s, "ST7", 500))
    finally:
        other.dispose()
    rogue.verify()  # a valid signature ... by a key this local store does not trust
    with pytest.raises(CodeError, match="this store trusts the alliance key"):
        with local.transaction() as s:
            issue_codes(s, "LS0-COB-4000", 1, block=rogue)


def test_recorded_range_is_authoritative(stores, tmp_path):
    central, local = stores
    blk = BlockFile.read(_reserve(central, tmp_path))
    with local.transaction() as s:
        issue_codes(s, "LS0-COB-4000", 1, block=blk)
    # an unsigned (version 1) copy of the same block, widened: the store's record wins
    widened = BlockFile(blk.block_id, blk.holder, blk.first, blk.last + 100)
    with pytest.raises(CodeError, match="recorded block"):
        with local.transaction() as s:
            issue_codes(s, "LS0-COB-4000", 1, block=widened)
    # an unsigned file for a block this store never used is refused
    with pytest.raises(CodeError, match="unsigned block file"):
        with local.transaction() as s:
            issue_codes(s, "LS0-COB-4000", 1, block=BlockFile(99, "ST7", 900, 999))
