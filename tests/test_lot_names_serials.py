"""Lot names and serials: one rule in every command (no control characters, no
surrounding spaces), a serial the fixture cannot carry refused up front, a bad serial
anywhere in a file refuses the file before the batch, duplicates refused."""

from __future__ import annotations

import pytest
from _station_helpers import PLAN_DC, Lab, lot_rows
from sqlalchemy import func, select

from lightcomp.cli import main
from lightcomp.coding import CodeError
from lightcomp.coding.names import check_lot_name, check_serial
from lightcomp.store import Lot, TestRun


@pytest.mark.parametrize("bad", [" Q2", "Q2 ", "Q\t2", "Q2\n", "Q\x1b2", "", "x" * 65])
def test_one_rule_for_names(bad):
    with pytest.raises(CodeError):
        check_lot_name(bad)
    with pytest.raises(CodeError):
        check_serial(bad)


def test_good_names_pass_unchanged():
    for good in ("Q2", "LOT 2026-11 A", "批次-7", "x" * 64):
        assert check_lot_name(good) == good


@pytest.fixture
def lab(tmp_path, sqlite_url):
    lab = Lab(tmp_path, sqlite_url)
    yield lab
    lab.close()


def _state(lab):
    with lab.store.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Lot)),
            s.scalar(select(func.count()).select_from(TestRun)),
        )


def _err(capsys, argv) -> str:
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def _run(lab, lot, *extra):
    return ["station", "run", "--station", lab.station_path, "--plan", PLAN_DC, "--lot", lot,
            "--db", lab.db_url, "--no-progress", *extra]  # fmt: skip


def test_every_command_refuses_the_same_lot_names(lab, capsys):
    before = _state(lab)
    for bad in (" Q2", "Q2 ", "Q\t2"):
        # code new used to strip, station run to keep: two different lots
        e1 = _err(capsys, ["code", "new", "-m", "M0001", "-f", "LS0-COB-4000", "--lot", bad,
                           "--db", lab.db_url])  # fmt: skip
        e2 = _err(capsys, _run(lab, bad, "--count", "1"))
        assert "lot name" in e1 and "lot name" in e2
    # a lot name the wire fixture cannot carry (LOAD serial,lot,family)
    assert "fixture" in _err(capsys, _run(lab, "Q,2", "--count", "1"))
    assert _state(lab) == before


def test_serials_file_checked_whole_before_the_batch(lab, tmp_path, capsys):
    before = _state(lab)
    cases = {
        "long": ["SN-1", "SN-2", "SN-3", "SN-4", "S" * 80, "SN-6"],
        "comma": ["SN-1", "SN,2"],
        "latin": ["SN-1", "SN-ä"],
        "dup": ["SN-1", "SN-2", "SN-1"],
        "ctrl": ["SN-1", "SN\x072"],
    }
    for name, serials in cases.items():
        f = tmp_path / f"{name}.txt"
        f.write_text("# serials\n" + "\n".join(serials) + "\n", encoding="utf-8")
        err = _err(capsys, _run(lab, "QS", "--serials", f))
        bad_line = 1 + len(serials)  # the last or the fifth entry, counted with the comment
        if name == "long":
            bad_line = 6
        assert f"{f}:{bad_line}:" in err, err
        assert "nothing was measured" in err
    assert _state(lab) == before
    assert lot_rows(lab.store, "QS") == ([], [])


def test_scanner_refuses_bad_and_repeated_scans(lab):
    runner = lab.runner(lot="QSCAN")
    messages = []
    runner.echo = messages.append
    s = runner.run(serials=iter(["SN-1", "SN,2", "SN-1", "SN-3"]))
    assert s.measured == 2
    comps, _ = lot_rows(lab.store, "QSCAN")
    assert [c[3] for c in comps] == ["SN-1", "SN-3"]
    assert any("refused scan" in m and "fixture" in m for m in messages)
    assert any("already scanned" in m for m in messages)
