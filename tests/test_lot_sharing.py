"""Lots shared by several processes: one batch per lot at a time (a lock held by the run,
a clear message naming the station holding it, recovery of a lock left by a killed run),
create-or-get of a new lot, and a failing command that changes nothing.

Real concurrent processes on SQLite and (with LIGHTCOMP_TEST_PG) PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _station_helpers import PLAN_DC, REGISTRY, REPO, Lab, lot_rows
from sqlalchemy import func, select

from lightcomp.cli import main
from lightcomp.store import LotLock, Store, TestRun

COUNT = 6


@pytest.fixture
def lab(tmp_path, db_url):
    lab = Lab(tmp_path, db_url)
    yield lab
    lab.close()


def _cmd(lab: Lab, lot: str, count: int = COUNT, station: Path | None = None) -> list[str]:
    return [sys.executable, "-m", "lightcomp.cli", "station", "run", "--station",
            str(station or lab.station_path), "--plan", str(PLAN_DC), "--lot", lot, "--count",
            str(count), "--db", lab.db_url, "--no-progress"]  # fmt: skip


ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _check_each_unit_once(lab: Lab, lot: str, n: int) -> None:
    comps, meas = lot_rows(lab.store, lot)
    assert len(comps) == n, f"{len(comps)} components for {n} units"
    assert len(meas) == n, f"{len(meas)} measurements for {n} units"
    assert sorted(m[1] for m in meas) == sorted(c[0] for c in comps)  # each measured once
    assert all(c[2] in ("pass", "fail", "error") for c in comps)


def test_four_runs_at_once_on_one_lot(lab):
    procs = [
        subprocess.Popen(_cmd(lab, "Q2"), cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for _ in range(4)
    ]  # fmt: skip
    outs = [p.communicate(timeout=600)[0] for p in procs]
    codes = [p.returncode for p in procs]
    assert all(c in (0, 2) for c in codes), list(zip(codes, outs, strict=True))
    assert 0 in codes
    for c, out in zip(codes, outs, strict=True):
        if c == 2:  # refused: one line naming the station holding the lot
            lines = [ln for ln in out.splitlines() if ln.startswith("error: ")]
            assert len(lines) == 1 and "is being measured by station SIM-T" in lines[0], out
    _check_each_unit_once(lab, "Q2", COUNT)
    with lab.store.session() as s:
        assert s.scalar(select(func.count()).select_from(LotLock)) == 0  # every lock released
        statuses = [r for (r,) in s.execute(select(TestRun.status))]
    assert statuses.count("completed") == codes.count(0) and "aborted" not in statuses


def test_lock_of_a_killed_run_is_recovered(lab):
    proc = subprocess.Popen(_cmd(lab, "QK"), cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 300  # hang guard
    while len(lot_rows(lab.store, "QK")[1]) < 1:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    with lab.store.session() as s:
        assert s.scalar(select(func.count()).select_from(LotLock)) == 1  # left behind
    done = subprocess.run(_cmd(lab, "QK"), cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "taking over the lock" in done.stderr
    _check_each_unit_once(lab, "QK", COUNT)


def test_two_processes_create_the_same_new_lot(tmp_path, db_url):
    store = Store.open(db_url)
    try:
        from lightcomp.coding import import_registry

        with store.transaction() as s:
            import_registry(s, REGISTRY)
        ctx = multiprocessing.get_context("spawn")
        for round_ in range(3):  # the race is likelier over a few rounds
            lot = f"NEW-LOT-{round_}"
            barrier, out = ctx.Barrier(4), ctx.Queue()
            procs = [
                ctx.Process(target=_issue_new_lot_round, args=(db_url, barrier, out, lot))
                for _ in range(4)
            ]
            for p in procs:
                p.start()
            results = [out.get(timeout=120) for _ in procs]
            for p in procs:
                p.join(60)
            assert results == ["ok"] * 4, results
            with store.session() as s:
                from lightcomp.store import Component, Lot

                lots = s.scalars(select(Lot).where(Lot.name == lot)).all()
                assert len(lots) == 1
                n = s.scalar(
                    select(func.count())
                    .select_from(Component)
                    .where(Component.lot_id == lots[0].id)
                )
                assert n == 8
    finally:
        store.dispose()


def _issue_new_lot_round(url: str, barrier, out, lot: str) -> None:
    from lightcomp.coding import issue_codes

    store = Store.open(url)
    try:
        barrier.wait(60)
        with store.transaction() as s:
            issue_codes(s, "LS0-COB-4000", 2, lot=lot)
        out.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        out.put(f"{type(exc).__name__}: {exc}")
    finally:
        store.dispose()


def _store_state(lab: Lab) -> tuple:
    from lightcomp.store import Component, Lot

    with lab.store.session() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m)) for m in (Lot, Component, TestRun)
        )


def test_failing_run_changes_nothing(lab, capsys):
    before = _store_state(lab)
    for count in ("100001",):
        capsys.readouterr()
        rc = main(_cmd(lab, "QF", int(count))[3:])
        err = capsys.readouterr().err
        assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert _store_state(lab) == before  # no lot bound to the family, no aborted run
    from lightcomp.errors import PlanError

    with pytest.raises(PlanError, match="at most|from 1 to"):
        lab.runner(lot="QF").run(count=100_001)
    assert _store_state(lab) == before
