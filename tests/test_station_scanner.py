"""Barcode scanner on stdin (``station run --serials -``): one Ctrl-C stops waiting for
the next scan, and a scan read after the stop request issues no code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from _station_helpers import PLAN_DC, REPO, Lab
from sqlalchemy import select

from lightcomp.store.models import Component, Lot


@pytest.fixture
def lab(tmp_path, sqlite_url):
    lab = Lab(tmp_path, sqlite_url)
    yield lab
    lab.close()


def _scanner_run(lab: Lab, lot: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "lightcomp.cli", "station", "run", "--station",
           str(lab.station_path), "--plan", str(PLAN_DC), "--lot", lot, "--serials", "-",
           "--db", lab.db_url, "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _units(lab: Lab, lot: str) -> dict[str, str]:
    with lab.store.session() as s:
        rows = s.execute(
            select(Component.external_serial, Component.status).join(Lot).where(Lot.name == lot)
        ).all()
    return dict(rows)


def _wait(pred, proc, what: str) -> None:
    deadline = time.monotonic() + 120  # a hang guard, not a timing check
    while not pred():
        assert proc.poll() is None, f"exited before {what}: {proc.stdout.read()}"
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.02)


def test_one_ctrl_c_stops_waiting_for_the_next_scan(lab):
    proc = _scanner_run(lab, "LOT-SCAN")
    try:
        proc.stdin.write("SN-0001\n")
        proc.stdin.flush()
        _wait(lambda: _units(lab, "LOT-SCAN").get("SN-0001") in ("pass", "fail"), proc, "SN-0001")
        time.sleep(0.3)  # now blocked reading the next scan
        proc.send_signal(signal.SIGINT)  # once; stdin stays open
        rc = proc.wait(timeout=120)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 130, out
    assert "interrupted" in out
    assert _units(lab, "LOT-SCAN") == {"SN-0001": _units(lab, "LOT-SCAN")["SN-0001"]}


def test_a_scan_after_the_stop_request_issues_no_code(lab):
    proc = _scanner_run(lab, "LOT-SCAN2")
    try:
        proc.stdin.write("SN-0001\n")
        proc.stdin.flush()
        _wait(lambda: "SN-0001" in _units(lab, "LOT-SCAN2"), proc, "SN-0001 issued")
        proc.send_signal(signal.SIGINT)  # stop after this unit (or stop waiting)
        time.sleep(0.1)
        try:
            proc.stdin.write("SN-0002\n")  # scanned after the stop request
            proc.stdin.close()
        except BrokenPipeError:  # already gone: fine, nothing can be issued then
            pass
        rc = proc.wait(timeout=120)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 130, out
    units = _units(lab, "LOT-SCAN2")
    assert "SN-0002" not in units, units
    assert units["SN-0001"] in ("pass", "fail", "error")
