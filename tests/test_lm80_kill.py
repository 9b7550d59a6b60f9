"""A campaign killed at random points (real subprocesses, SIGKILL) loses and duplicates nothing.

``lm80 start`` / ``lm80 measure --until-done`` run as separate processes on the
simulated lab and are SIGKILLed at random moments while they store readings
(random delay after the next reading appears); each restart resumes. At the end
every (sample, interval) has exactly one reading, every interval is closed
once, and the readings follow the ageing model's truth (so nothing was
stored against the wrong interval).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
START = [
    "lm80", "start", "--campaign", "K1", "--family", "LS0-COB-4000", "--samples", "2",
    "--case-temperatures", "85,105", "--current-ma", "350", "--hours", "6000",
    "--interval", "1000", "--simlab",
]  # fmt: skip
N_SAMPLES, N_INTERVALS = 4, 7


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(db, timeout=10)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _run(args, env, cwd, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "lightcomp.cli", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.mark.slow
def test_campaign_killed_at_random_points_resumes_exactly(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIGHTCOMP_LAB": str(ROOT)}
    db = tmp_path / "k.db"
    url = ["--db", f"sqlite:///{db}"]
    r = _run(
        ["registry", "import", str(ROOT / "station" / "registry" / "demo.toml"), *url],
        env,
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    rng = random.Random(16)
    kills = 0
    for _attempt in range(12):
        if kills >= 4:
            break
        exists = _count(db, "select count(*) from lm80_campaigns") > 0
        args = (["lm80", "measure", "--campaign", "K1", "--until-done"] if exists else START) + url
        before = _count(db, "select count(*) from lm80_readings")
        proc = subprocess.Popen(
            [sys.executable, "-m", "lightcomp.cli", *args],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if _count(db, "select count(*) from lm80_readings") > before:
                break
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 2.0))  # somewhere inside the next readings/commits
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        if _count(db, "select count(*) from lm80_intervals") >= N_INTERVALS:
            break
    assert kills >= 2, "the kills never landed inside a running command"
    status = _run(["lm80", "status", "--campaign", "K1", *url], env, tmp_path)
    assert status.returncode == 0 and "K1:" in status.stdout, status.stderr
    # finish without interruption
    for _ in range(3):
        if _count(db, "select count(*) from lm80_intervals") >= N_INTERVALS:
            break
        r = _run(["lm80", "measure", "--campaign", "K1", "--until-done", *url], env, tmp_path)
        assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    try:
        pairs = con.execute(
            "select sample_id, interval_index, count(*) from lm80_readings "
            "group by sample_id, interval_index"
        ).fetchall()
        intervals = con.execute(
            "select interval_index, count(*) from lm80_intervals group by interval_index"
        ).fetchall()
        status_row = con.execute("select status from lm80_campaigns").fetchone()[0]
        rows = con.execute(
            "select c.product_code, s.case_temp_c, s.chamber, s.channel, r.interval_index, "
            "r.hours, r.luminous_flux_lm, r.error_message from lm80_readings r "
            "join lm80_samples s on s.id = r.sample_id join components c on c.id = s.component_id"
        ).fetchall()
    finally:
        con.close()
    assert len(pairs) == N_SAMPLES * N_INTERVALS and {n for *_k, n in pairs} == {1}
    assert sorted(intervals) == [(i, 1) for i in range(N_INTERVALS)]
    assert status_row == "finished"
    assert all(err is None and flux > 0 for *_r, flux, err in rows)
    assert {(ii, h) for *_a, ii, h, _f, _e in rows} == {(i, 1000.0 * i) for i in range(7)}

    # the readings follow the simulator's ageing truth at their interval's hour
    from lightcomp.lm80.rig import load_rig
    from lightcomp.simlab.lm80rig import Lm80Rig
    from lightcomp.simlab.world import World

    rig_cfg = load_rig(ROOT / "station" / "lm80" / "sim.toml").raw
    world = World(seed=0, devices_path=ROOT / "station" / "simlab" / "devices.toml")
    truth_rig = Lm80Rig(world, rig_cfg)
    flux: dict[str, dict[int, float]] = {}
    for code, tc, chamber, channel, ii, _h, f, _e in rows:
        truth_rig.mount(
            code, family="LS0-COB-4000", chamber=chamber, channel=channel, case_temp_c=tc,
            current_a=0.35,
        )  # fmt: skip
        flux.setdefault(code, {})[ii] = f
    for code, by_i in flux.items():
        got = np.array([by_i[i] / by_i[0] for i in range(N_INTERVALS)])
        t = [truth_rig.truth(code, 1000.0 * i)["flux_factor"] for i in range(N_INTERVALS)]
        np.testing.assert_allclose(got, np.array(t) / t[0], rtol=4e-3)
