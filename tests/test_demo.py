"""`lightcomp demo`: the whole path on the simulated lab, small lot."""

from __future__ import annotations

import pytest
from _station_helpers import REPO


def test_demo_small_lot_end_to_end(tmp_path, monkeypatch, capsys):
    from lightcomp.commands.demo import run_demo
    from lightcomp.store import Store
    from lightcomp.store.models import Calibration, Component, Measurement

    monkeypatch.chdir(REPO)
    monkeypatch.delenv("LIGHTCOMP_LAB", raising=False)
    out = tmp_path / "out"
    summary = run_demo(count=4, lot="DEMO-T", out=out)
    text = capsys.readouterr().out
    assert summary["run"].status == "completed" and summary["run"].measured == 4
    assert "lot DEMO-T: " in text and "target 95 %" in text
    y = summary["yield"]
    assert y["n_pass"] + y["n_fail"] + y["n_error"] == 4
    from _verdict_oracle import expected_verdict

    assert y["verdict"] == expected_verdict(y["n_pass"], y["n_fail"])
    store = Store.open(f"sqlite:///{out / 'demo.db'}")
    with store.session() as s:
        assert s.query(Component).count() == 4
        assert s.query(Measurement).filter_by(is_current=True).count() == 4
        cal = s.query(Calibration).one()
        assert {m.calibration_id for m in s.query(Measurement)} == {cal.id}
    store.dispose()
    assert summary["report"] and (out / "lot-DEMO-T.html").is_file(), text
    assert "next, try:" in text and "lightcomp records --lot DEMO-T" in text
    from lightcomp.errors import ConfigError

    before = (out / "demo.db").stat().st_size
    with pytest.raises(ConfigError, match="--force"):  # the demo store is not overwritten
        run_demo(count=1, lot="DEMO-T", out=out)
    assert (out / "demo.db").stat().st_size == before


def test_demo_db_option_reads_lightcomp_db():
    import typer.main

    from lightcomp.cli import app

    cmd = typer.main.get_command(app).commands["demo"]
    db = next(p for p in cmd.params if p.name == "db")
    assert db.envvar == "LIGHTCOMP_DB"


def test_demo_outside_the_lab_folder_says_where_it_looked(tmp_path, monkeypatch, capsys):
    from lightcomp.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIGHTCOMP_LAB", raising=False)
    assert main(["demo", "--count", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "cannot find the lab folders station/ and calibration/" in err
    assert "LIGHTCOMP_LAB" in err


@pytest.mark.parametrize(
    "args",
    [
        [
            "station",
            "check",
            "station/plans/LS0-COB-4000.toml",
            "station/plans/LM1-AC-3000.toml",
            "station/sim.toml",
        ]
    ],
)
def test_station_check_command(monkeypatch, capsys, args):
    from lightcomp.cli import main

    monkeypatch.chdir(REPO)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "plan LS0-COB-4000 ok" in out and "station SIM-1 ok" in out
