"""Hostile or careless input gets one line (``error: ...``, exit 2), never a traceback:
station files with bad types, non-finite numbers or unknown drivers, Latin-1 TOML,
impossible calibration validity, output into a missing folder, ``demo --out`` a file;
``station check`` lists every error of a file and refuses plans whose limits cannot
be measured or cannot all hold."""

from __future__ import annotations

import re

import pytest
from _station_helpers import PLAN_AC, PLAN_DC, SIM_STATION

from lightcomp.cli import main
from lightcomp.errors import PlanError
from lightcomp.station.config import load_station
from lightcomp.station.plan import load_plan


def _run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _one_line(capsys, *argv) -> str:
    rc, _out, err = _run(capsys, *argv)
    assert rc == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def _station_with(tmp_path, old: str, new: str, name="st.toml"):
    text = SIM_STATION.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


SOURCE = 'driver = "keithley2400"\nresource = "TCPIP0::127.0.0.1::5025::SOCKET"\n'
SPECTRO = 'driver = "cs2000"\nresource = "socket://127.0.0.1:5027"'


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (SOURCE, SOURCE + 'options = "x"\n', "'options' in [instruments.source] must be a table"),
        ("retries = 2\n", 'retries = "x"\n', "'retries' in [instruments.source] must be"),
        ("timeout_s = 2.0\n", "timeout_s = nan\n", "'timeout_s' in [instruments.source]"),
        ("timeout_s = 2.0\n", 'timeout_s = "2"\n', "'timeout_s' in [instruments.source]"),
        ('driver = "cs2000"', 'driver = "cs200"', "unknown instrument driver 'cs200'"),
        ("poll_interval_s = 0.002", 'poll_interval_s = "fast"', "option 'poll_interval_s'"),
        ("poll_interval_s = 0.002", "poll_intervals = 0.002", "unknown option 'poll_intervals'"),
        ("seed = 0", 'seed = "x"', "'seed' in [simlab] must be a whole number"),
    ],
)
def test_station_file_errors_are_one_line(tmp_path, capsys, old, new, message):
    path = _station_with(tmp_path, old, new)
    with pytest.raises(PlanError) as info:
        load_station(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert re.match(rf"{re.escape(str(path))}:\d+: ", str(info.value))
    err = _one_line(capsys, "station", "run", "--station", path, "--plan", PLAN_DC,
                    "--lot", "L1", "--count", "1", "--db", f"sqlite:///{tmp_path / 's.db'}")  # fmt: skip
    assert message in err
    assert not (tmp_path / "s.db").exists()  # refused before the store is opened


def test_station_check_lists_every_error(tmp_path, capsys):
    text = SIM_STATION.read_text(encoding="utf-8")
    text = text.replace("seed = 0", 'seed = "x"', 1)
    text = text.replace('driver = "cs2000"', 'driver = "cs200"', 1)
    text = text.replace("timeout_s = 2.0", "timeout_s = nan", 1)
    text = text.replace("retries = 2", 'retries = "x"', 1)
    text = text.replace("validity_days = 30", "validity_days = 1e300", 1)
    text = text.replace("warmup_s = 900", "warmup_s = nan", 1)
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    rc, out, err = _run(capsys, "station", "check", path, SIM_STATION)
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 6, err
    for needle in ("seed", "cs200", "timeout_s", "retries", "warmup_s", "validity_days"):
        assert any(needle in ln for ln in lines), (needle, err)
    numbers = [int(re.match(r"error: [^:]+:(\d+):", ln).group(1)) for ln in lines]
    assert numbers == sorted(numbers)  # in file order
    assert "station SIM-1 ok" in out  # the other file is still checked
    assert "1 of 2 file(s) have errors" in err


PLAN_CASES = [
    # PF limit on a DC plan: never measured
    (PLAN_DC, "[limits]\n", "[limits]\npf_min = 0.9\n", "the power factor is measured only under AC"),
    # efficacy above LER
    (PLAN_DC, "efficacy_min = 85.0", "ler_max = 300.0\nefficacy_min = 320.0", "ler_max"),
    # flux / power leave no room for the efficacy asked
    (PLAN_DC, "efficacy_min = 85.0", "efficacy_min = 85.0\nflux_max = 1100.0\npower_min = 13.0", "cannot hold with flux_max"),
    # CCT window outside the quadrangle the plan names (4000 K: 3710..4260 K)
    (PLAN_DC, "[limits]\n", "[limits]\ncct_min = 5000.0\ncct_max = 5500.0\n",
     "outside the ANSI 4000 K quadrangle"),
    # x and y both >= 0.9: no colour; x + y > 1: no colour either
    (PLAN_DC, "[limits]\n", "[limits]\nx_min = 0.9\ny_min = 0.9\n", "no colour has x above"),
    (PLAN_DC, "[limits]\n", "[limits]\nx_min = 0.5\ny_min = 0.6\n", "x + y <= 1"),
    # a voltage the source cannot deliver (compliance 48 V in the DC plan)
    (PLAN_DC, "voltage_max = 38.88", "voltage_min = 60.0", "compliance voltage"),
]  # fmt: skip


@pytest.mark.parametrize(("plan", "old", "new", "message"), PLAN_CASES)
def test_plan_limits_that_cannot_be_measured_or_hold(tmp_path, capsys, plan, old, new, message):
    text = plan.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "plan.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PlanError, match=re.escape(message)):
        load_plan(path)
    rc, _out, err = _run(capsys, "station", "check", path)
    assert rc == 2 and message in err


def test_shipped_plans_are_feasible():
    for plan in (PLAN_DC, PLAN_AC):
        load_plan(plan)


def test_plan_lists_every_error(tmp_path, capsys):
    text = PLAN_DC.read_text(encoding="utf-8").replace(
        "[limits]\n", "[limits]\npf_min = 0.9\nflux_mn = 3.0\n", 1
    )
    text = text.replace("ra_min = 80.0", 'ra_min = "high"', 1)
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    rc, _out, err = _run(capsys, "station", "check", path)
    assert rc == 2
    assert all(n in err for n in ("pf_min", "ra_min", "flux_mn")), err
    with pytest.raises(PlanError) as info:  # other commands: the first error, one line
        load_plan(path)
    assert "(and 2 more" in str(info.value) and "\n" not in str(info.value)


def test_latin1_toml_is_one_line(tmp_path, capsys):
    text = SIM_STATION.read_text(encoding="utf-8").replace(
        "[simlab]", '[station]\nname = "Station Lumière"\n\n[simlab]', 1
    )
    path = tmp_path / "latin1.toml"
    path.write_bytes(text.encode("latin-1"))
    rc, _out, err = _run(capsys, "station", "check", path)
    assert rc == 2 and err.count("error: ") == 1, err
    assert "not UTF-8" in err and re.search(r"latin1\.toml:\d+:", err)
    plan = tmp_path / "plan.toml"
    plan.write_bytes(PLAN_DC.read_text().replace("[plan]", "# é\n[plan]").encode("latin-1"))
    err = _one_line(capsys, "station", "run", "--station", SIM_STATION, "--plan", plan,
                    "--lot", "L", "--count", "1", "--db", f"sqlite:///{tmp_path / 'x.db'}")  # fmt: skip
    assert "not UTF-8" in err


@pytest.mark.parametrize("days", ["1e300", "inf", "nan", "0"])
def test_validity_days_out_of_range(tmp_path, capsys, days):
    err = _one_line(capsys, "calibrate", "run", "--station", SIM_STATION, "--validity-days", days,
                    "--db", f"sqlite:///{tmp_path / 'c.db'}")  # fmt: skip
    assert "--validity-days" in err
    assert not (tmp_path / "c.db").exists()


def test_simlab_seed_text(capsys):
    from lightcomp.simlab import SimLab

    with pytest.raises(PlanError, match=r"\[simlab\] seed"):
        SimLab.start({"simlab": {"seed": "x"}, "instruments": {"source": {"driver": "x"}}})


def test_analyze_into_missing_folder(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    rows = "\n".join(f"{w},{1.0 + (w - 380) / 400}" for w in range(380, 781))
    csv.write_text("wavelength,lamp\n" + rows + "\n")
    err = _one_line(capsys, "analyze", csv, "-o", tmp_path / "no" / "such" / "out.csv")
    assert "does not exist" in err


def test_demo_out_naming_a_file(tmp_path, capsys):
    f = tmp_path / "a-file"
    f.write_text("keep me")
    err = _one_line(capsys, "demo", "--out", f, "--count", "1")
    assert "is a file" in err and f.read_text() == "keep me"


def test_station_check_checks_each_plan_on_each_station(capsys):
    """A station file and plans given together: each plan is checked on the station as a
    batch start would check it, one line each; a pair that cannot run exits 2."""
    plans = SIM_STATION.parent / "plans"
    vlc, ac = plans / "LS0-COB-4000-VLC.toml", plans / "LM1-AC-3000.toml"
    rc, out, err = _run(capsys, "station", "check", SIM_STATION.parent / "sim-vlc.toml", vlc, ac)
    assert rc == 2
    assert "plan LS0-COB-4000-VLC on station SIM-VLC-1: ok" in out
    assert "error: plan LM1-AC-3000 on station SIM-VLC-1:" in err and "ac_source" in err
    # a hardware station without the VLC bench's figures: refused here, not at the start
    rc, out, err = _run(capsys, "station", "check", SIM_STATION.parent / "lab-example.toml", vlc)
    assert rc == 2 and "error: plan LS0-COB-4000-VLC on station LAB-1:" in err
    assert "oscilloscope" in err and "Traceback" not in err
    rc, out, err = _run(capsys, "station", "check", SIM_STATION, plans / "LS0-COB-4000.toml")
    assert rc == 0 and "plan LS0-COB-4000 on station SIM-1: ok" in out
