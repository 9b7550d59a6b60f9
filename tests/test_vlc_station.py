"""The whole VLC plan on the simulated lab: calibrate, run a lot through the station with the
modulation test, store, and export the VLC columns with `lightcomp records`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lightcomp.cli import app
from lightcomp.coding import import_registry
from lightcomp.store import Store

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "station" / "registry" / "demo.toml"

pytestmark = pytest.mark.filterwarnings("ignore:It is not known whether:FutureWarning")


def test_vlc_plan_runs_on_the_simulated_lab_and_exports(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    db = f"sqlite:///{tmp_path / 'vlc.db'}"
    store = Store.open(db)
    with store.transaction() as s:
        import_registry(s, REGISTRY)
    store.dispose()
    cli = CliRunner()
    r = cli.invoke(app, ["calibrate", "run", "--station", "sim-vlc", "--simlab", "--db", db])
    assert r.exit_code == 0, r.output
    args = ["station", "run", "--station", "sim-vlc", "--plan", "LS0-COB-4000-VLC"]
    args += ["--lot", "LOT-VLC", "--count", "3", "--simlab", "--db", db, "--no-progress"]
    r = cli.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "3 measured" in r.output
    out = tmp_path / "records.csv"
    r = cli.invoke(
        app, ["records", "--lot", "LOT-VLC", "--format", "csv", "-o", str(out)] + ["--db", db]
    )
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert len(df) == 3
    white, blue = df["modulation_bandwidth_mhz"], df["modulation_bandwidth_blue_mhz"]
    # phosphor-limited white response vs the blue chip: several times apart
    assert (white.between(1.5, 5.0)).all() and (blue > 5 * white).all()
    assert df["rise_time_ns"].between(100, 200).all()
    assert df["fall_time_ns"].between(100, 200).all()
    # the plan's limits were judged (defects of the photometric part may fail a unit,
    # but no modulation limit fails on this family)
    failed = ";".join(df["failed_limits"].fillna("").astype(str))
    for name in ("bandwidth_min_mhz", "bandwidth_blue_min_mhz", "rise_time_max_ns"):
        assert name not in failed
    # the curves are stored with the measurement
    from lightcomp.store.models import Measurement

    store = Store.open(db)
    with store.session() as s:
        m = s.query(Measurement).filter(Measurement.modulation_bandwidth_mhz.isnot(None)).first()
        curves = m.modulation
    store.dispose()
    assert len(curves["frequencies_hz"]) == 25
    assert len(curves["response_db"]) == 3 and len(curves["response_blue_db"][0]) == 25
    # bandwidth vs bias: the blue chip slows down at lower bias (longer carrier lifetime)
    bw_blue = curves["bandwidth_blue_hz"]
    assert bw_blue[0] > bw_blue[1] > bw_blue[2]
