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

COUNT = 8


def _command(lab: Lab, lot: str) -> list[str]:
    return [
        sys.executable, "-m", "lightcomp.cli", "station", "run",
        "--station", str(lab.station_path), "--plan", str(PLAN_DC), "--lot", lot,
        "--count", str(COUNT), "--db", lab.db_url, "--operator", "kill-test", "--no-progress",
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


def test_kill_9_at_random_points_then_resume(lab):
    rng = random.Random(20261125)
    lot = "LOT-KILL"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kills = 0
    for target in sorted(rng.sample(range(1, COUNT - 1), 2)):
        proc = subprocess.Popen(_command(lab, lot), cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while _stored(lab, lot) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.25))  # somewhere inside the next component
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
        comps, meas = lot_rows(lab.store, lot)
        # never half-stored: every stored measurement is complete and current
        assert all(m[3] for m in meas) and len({m[1] for m in meas}) == len(meas)
    assert kills >= 1
    # the simlab's device was left powered by the killed process; the next run makes it safe
    done = subprocess.run(_command(lab, lot), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed" in done.stdout
    comps, meas = lot_rows(lab.store, lot)
    assert len(comps) == COUNT and len(meas) == COUNT
    assert sorted(m[1] for m in meas) == sorted(c[0] for c in comps)
    assert all(c[2] in ("pass", "fail", "error") for c in comps)
    assert len({c[1] for c in comps}) == COUNT
    w = lab.simlab.world
    assert w.source.output is False and w.aux_on is False
    from lightcomp.store.models import TestRun

    with lab.store.session() as s:
        statuses = [r.status for r in s.query(TestRun).order_by(TestRun.id)]
    assert statuses[-1] == "completed" and "running" not in statuses
