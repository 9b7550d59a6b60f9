"""A batch killed with SIGKILL at random points and resumed by re-running the same command:
no component lost, none duplicated, nothing half-stored."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from _station_helpers import PLAN_DC, REPO, Lab, lot_rows

COUNT = 12


def _command(lab: Lab, lot: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lightcomp.cli",
        "station",
        "run",
        "--station",
        str(lab.station_path),
        "--plan",
        str(PLAN_DC),
        "--lot",
        lot,
        "--count",
        str(COUNT),
        "--db",
        lab.db_url,
        "--operator",
        "kill-test",
        "--no-progress",
    ]


def _stored(lab: Lab, lot: str) -> int:
    try:
        return len(lot_rows(lab.store, lot)[1])
    except Exception:  # noqa: BLE001 - the lot may not exist yet
        return 0


@pytest.fixture
def lab(tmp_path, sqlite_url):
    lab = Lab(tmp_path, sqlite_url)
    yield lab
    lab.close()


def _wait_for(lab: Lab, lot: str, n: int, proc) -> None:
    deadline = time.monotonic() + 90
    while _stored(lab, lot) < n and proc.poll() is None:
        assert time.monotonic() < deadline, "the batch does not progress"
        time.sleep(0.01)


def _check_never_half_stored(lab: Lab, lot: str) -> int:
    comps, meas = lot_rows(lab.store, lot)
    # every stored measurement is complete and current; every other unit is still 'issued'
    assert all(m[3] for m in meas) and len({m[1] for m in meas}) == len(meas)
    assert sum(c[2] == "issued" for c in comps) == len(comps) - len(meas)
    return len(meas)


def test_killed_and_interrupted_batch_resumes_without_loss_or_duplicates(lab):
    """The same command run 4 times on one lot: killed with SIGKILL at a random point, then
    Ctrl-C once (finish the unit, exit 130), then Ctrl-C twice (abandon the unit, power
    down, exit 130), then run to the end: every unit measured exactly once."""
    rng = random.Random(20261125)
    lot = "LOT-KILL"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = _command(lab, lot)

    # 1. kill -9 somewhere inside a component
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    _wait_for(lab, lot, rng.randint(1, 3), proc)
    time.sleep(rng.uniform(0.0, 0.05))
    assert proc.poll() is None, "finished before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    done = _check_never_half_stored(lab, lot)
    assert 1 <= done < COUNT

    # 2./3. Ctrl-C once, then twice
    for presses in (1, 2):
        before = _stored(lab, lot)
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        _wait_for(lab, lot, before + 1, proc)
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.002)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 130, out
        assert "interrupted" in out and "re-run the same command" in out
        assert _check_never_half_stored(lab, lot) < COUNT
        w = lab.simlab.world
        assert w.source.output is False and w.aux_on is False  # left safe

    # 4. the same command again finishes the lot
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed" in done.stdout
    comps, meas = lot_rows(lab.store, lot)
    assert len(comps) == COUNT and len(meas) == COUNT
    assert sorted(m[1] for m in meas) == sorted(c[0] for c in comps)
    assert all(c[2] in ("pass", "fail", "error") for c in comps)
    assert len({c[1] for c in comps}) == COUNT
    from lightcomp.store.models import TestRun

    with lab.store.session() as s:
        statuses = [r.status for r in s.query(TestRun).order_by(TestRun.id)]
    assert statuses == ["interrupted"] * 3 + ["completed"]
