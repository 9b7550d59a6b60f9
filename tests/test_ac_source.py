"""AC plans are supplied by a programmable AC source (Chroma 61600) and record the light
waveform for flicker (issue 14): the driver's dialogue, the simulator speaking the same
protocol, the station's AC power-up at the plan's voltage and frequency, the stored
instruments and light waveform, and the certificate that names the AC source and shows
the flicker figures with the IEEE 1789-2015 verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from _station_helpers import PLAN_AC, REPO, SIM_STATION, Lab, dump_toml, lot_rows
from pymeasure.test import expected_protocol

from lightcomp.drivers.base import InstrumentConfig
from lightcomp.drivers.chroma import Chroma61600Source
from lightcomp.errors import InstrumentError, PlanError

NO_ERROR = ("SYST:ERR?", '0,"No error"')
SETTINGS_230_50 = [
    (":SOUR:CURR:LIM 2.00", None),
    (":SOUR:VOLT:LIM:AC 253.0", None),
    (":SOUR:VOLT:AC 230.0", None),
    (":SOUR:FREQ 50.00", None),
    ("*OPC?", "1"),
]


def _cfg(**options) -> InstrumentConfig:
    return InstrumentConfig(
        role="ac_source",
        driver="chroma61600",
        resource="TEST::RESOURCE",
        timeout_s=0.5,
        retries=1,
        options=options,
    )


# -- driver dialogue (Chroma 61600 user's manual command set) ------------------------------
def test_chroma_dialogue_set_output_and_read_back():
    pairs = [
        *SETTINGS_230_50,
        NO_ERROR,
        (":OUTP ON", None),
        ("*OPC?", "1"),
        (":FETC:VOLT:ACDC?", "230.0125"),
        (":FETC:CURR:AC?", "0.0841"),
        (":FETC:POW:AC?", "18.3900"),
        (":FETC:FREQ?", "50.0000"),
        (":OUTP?", "1"),
        (":OUTP OFF", None),
        ("*OPC?", "1"),
    ]
    with expected_protocol(Chroma61600Source, pairs) as ac:
        ac.set_ac(230.0, 50.0)
        ac.output(True)
        r = ac.measure()
        assert (r.voltage_v, r.current_a, r.power_w, r.frequency_hz) == (
            230.0125,
            0.0841,
            18.39,
            50.0,
        )
        assert ac.output_enabled is True
        ac.output(False)


def test_chroma_current_limit_option_and_refusal_by_the_instrument():
    pairs = [
        (":SOUR:CURR:LIM 0.50", None),
        *SETTINGS_230_50[1:],
        ("SYST:ERR?", '-222,"Data out of range"'),
        NO_ERROR,
    ]
    with expected_protocol(Chroma61600Source, pairs, config=_cfg(current_limit_a=0.5)) as ac:
        with pytest.raises(InstrumentError, match=r"refused the settings 230 V, 50 Hz.*-222"):
            ac.set_ac(230.0, 50.0)


def test_chroma_refuses_a_setting_outside_its_range_before_sending():
    with expected_protocol(Chroma61600Source, []) as ac:  # nothing is sent
        with pytest.raises(InstrumentError, match="ac_source.*setting refused"):
            ac.set_ac(400.0, 50.0)  # the 61604 gives at most 300 V
        with pytest.raises(InstrumentError, match="ac_source.*setting refused"):
            ac.set_ac(230.0, 5.0)  # nor below 15 Hz


# -- the simulator speaks the protocol ---------------------------------------------------------
@pytest.fixture(scope="module")
def simlab():
    from lightcomp.simlab import SimLab
    from lightcomp.station.plan import read_toml

    data, _ = read_toml(SIM_STATION)
    with SimLab.start(data, ephemeral_ports=True) as lab:
        yield lab


def _open(lab, role: str):
    from lightcomp.drivers import open_instrument
    from lightcomp.station.plan import read_toml

    t = read_toml(SIM_STATION)[0]["instruments"][role]
    cfg = InstrumentConfig(
        role=role,
        driver=t["driver"],
        resource=lab.resources[role],
        identity=t.get("identity"),
        timeout_s=2.0,
        retries=1,
        options=dict(t.get("options", {})),
    )
    return open_instrument(cfg)


def test_simulated_ac_source_supplies_the_module_at_its_settings(simlab):
    ac, pa, fx = (_open(simlab, r) for r in ("ac_source", "power_analyzer", "fixture"))
    try:
        assert "61604" in ac.identify()
        fx.load("M-SIM-1", "LOT-ACS", "LM1-AC-3000")
        ac.set_ac(220.0, 60.0)
        assert simlab.world.ac_input() is None  # output still off: the module is dark
        ac.output(True)
        src, meter = ac.measure(), pa.read()
        assert src.voltage_v == pytest.approx(220.0, rel=1e-3)
        assert src.frequency_hz == pytest.approx(60.0)
        assert meter.voltage_v == pytest.approx(220.0, rel=1e-3)  # the analyser sees the source
        assert meter.frequency_hz == pytest.approx(60.0, rel=1e-3)
        assert src.power_w == pytest.approx(meter.power_w, rel=0.01)
        assert src.current_a == pytest.approx(meter.current_a, rel=0.01)
        assert ac.output_enabled is True
        ac.output(False)
        assert ac.measure().power_w == 0.0 and simlab.world.ac_input() is None
    finally:
        for i in (ac, pa, fx):
            i.safe_state()
            i.close()


def test_simulated_ac_source_refuses_what_the_instrument_refuses(simlab):
    ac = _open(simlab, "ac_source")
    try:
        ac.send(":SOUR:VOLT:LIM:AC 240")
        ac.send(":SOUR:VOLT:AC 250")  # above the limit: refused, setting unchanged
        assert ac.query(":SYST:ERR?").startswith("-222")
        ac.send(":SOUR:VOLT:AC 230")
        assert float(ac.query(":SOURCE:VOLTAGE:AC?")) == pytest.approx(230.0)
        ac.send(":SOUR:FREQ 5")  # below 15 Hz
        assert ac.query(":SYST:ERR?").startswith("-222")
        ac.send(":OUTP ON")
        assert ac.query(":OUTP?") == "1" and simlab.world.mains.output is True
        ac.send("*RST")  # settings to their defaults: output off
        assert ac.query(":OUTP?") == "0" and simlab.world.mains.output is False
    finally:
        ac.close()


def test_simulated_light_of_an_ac_module_ripples_at_twice_mains(simlab):
    from lightcomp.analysis.flicker import flicker_metrics
    from lightcomp.simlab.vlc import flicker_depth, mains_light_period

    w = simlab.world
    w.load("M-SIM-2", "LOT-ACS", "LM1-AC-3000")
    assert mains_light_period(w) is None  # unpowered
    w.update_mains(output=True, voltage_v=230.0, frequency_hz=50.0)
    try:
        period, volts = mains_light_period(w)
        assert period == pytest.approx(1 / 100.0)
        f = flicker_metrics(np.tile(volts, 4), volts.size / period)
        assert float(f["percent_flicker"][0]) == pytest.approx(
            100 * flicker_depth(w.unit), rel=0.02
        )
        assert 2.0 < float(f["percent_flicker"][0]) < 30.0
        assert float(f["frequency_hz"][0]) == pytest.approx(100.0, rel=0.01)
        w.update_mains(frequency_hz=60.0)
        assert mains_light_period(w)[0] == pytest.approx(1 / 120.0)
    finally:
        w.update_mains(output=False)
        w.unload()


# -- the station: AC power-up, instruments and light waveform stored ---------------------------
@pytest.fixture(scope="module")
def ac_lab(tmp_path_factory):
    path = tmp_path_factory.mktemp("aclab")
    lab = Lab(path, f"sqlite:///{path / 'lightcomp.db'}")
    summary = lab.runner(PLAN_AC, lot="LOT-ACS").run(count=2)
    assert summary.measured == 2
    yield lab
    lab.close()


def _measurements(lab, lot):
    from lightcomp.store.models import Measurement

    comps, _ = lot_rows(lab.store, lot)
    with lab.store.session() as s:
        rows = s.query(Measurement).filter(Measurement.component_id.in_([c[0] for c in comps]))
        return comps, [(m.instruments, m.electrical, m.verdict) for m in rows]


def test_ac_run_records_the_ac_source_and_a_light_waveform(ac_lab):
    from lightcomp.analysis.flicker import flicker_metrics
    from lightcomp.store.models import LIGHT_WAVEFORM_KEY

    comps, rows = _measurements(ac_lab, "LOT-ACS")
    assert len(rows) == 2
    for instruments, electrical, verdict in rows:
        assert verdict in ("pass", "fail")
        assert "61604" in instruments["ac_source"]
        wave = electrical[LIGHT_WAVEFORM_KEY]
        assert wave["sample_rate_hz"] == pytest.approx(20000.0, rel=1e-6)
        assert len(wave["values"]) == 4000  # 0.2 s at 20 kHz, as the plan asks
        f = flicker_metrics(np.asarray(wave["values"]), wave["sample_rate_hz"])
        assert 2.0 < float(f["percent_flicker"][0]) < 30.0
        assert float(f["frequency_hz"][0]) == pytest.approx(100.0, rel=0.02)  # 2 x 50 Hz
    w = ac_lab.simlab.world
    assert w.mains.output is False and w.source.output is False  # left safe


def test_ac_run_supplies_the_plans_voltage_and_frequency(ac_lab, tmp_path):
    """A 220 V / 60 Hz plan: the power analyser reads what the AC source was set to, and
    the light ripples at 120 Hz."""
    from lightcomp.analysis.flicker import flicker_metrics
    from lightcomp.station.plan import read_toml

    data, _ = read_toml(PLAN_AC)
    data["drive"].update(voltage_v=220.0, frequency_hz=60.0)
    data["plan"]["name"] = "LM1-AC-3000-60HZ"
    plan = tmp_path / "ac60.toml"
    plan.write_text(dump_toml(data))
    assert ac_lab.runner(plan, lot="LOT-AC60").run(count=1).measured == 1
    _, rows = _measurements(ac_lab, "LOT-AC60")
    ((_, electrical, _),) = rows
    assert electrical["voltage_v"] == pytest.approx(220.0, rel=1e-3)
    assert electrical["frequency_hz"] == pytest.approx(60.0, rel=1e-3)
    wave = electrical["light_waveform"]
    f = flicker_metrics(np.asarray(wave["values"]), wave["sample_rate_hz"])
    assert float(f["frequency_hz"][0]) == pytest.approx(120.0, rel=0.02)


def test_ac_plan_on_a_station_without_ac_source_is_refused_before_anything_is_stored(
    ac_lab, tmp_path
):
    from dataclasses import replace

    from sqlalchemy import func, select

    from lightcomp.station.plan import load_plan
    from lightcomp.station.runner import BatchRunner
    from lightcomp.store.models import TestRun

    st = ac_lab.station
    bare = replace(st, instruments={r: c for r, c in st.instruments.items() if r != "ac_source"})
    with ac_lab.store.session() as s:
        runs = s.scalar(select(func.count()).select_from(TestRun))
    with pytest.raises(PlanError, match=r"needs \[instruments\.ac_source\] \(a programmable AC"):
        BatchRunner(ac_lab.store, bare, load_plan(PLAN_AC), "LOT-NOAC").run(count=1)
    no_scope = replace(st, instruments={r: c for r, c in st.instruments.items() if r != "scope"})
    with pytest.raises(PlanError, match=r"needs \[instruments\.scope\]"):
        BatchRunner(ac_lab.store, no_scope, load_plan(PLAN_AC), "LOT-NOAC").run(count=1)
    with ac_lab.store.session() as s:
        assert s.scalar(select(func.count()).select_from(TestRun)) == runs


# -- the plan's [flicker] table: one checker ---------------------------------------------------
def test_flicker_table_is_checked_with_every_error_listed(tmp_path):
    from lightcomp.station.plan import load_plan, read_toml

    data, _ = read_toml(PLAN_AC)
    plan = load_plan(PLAN_AC)
    assert plan.flicker is not None and plan.flicker.points == 4000
    data["flicker"] = {"enabled": True, "sample_rate_hz": 1000.0, "duration_s": 0.05, "typo": 1}
    bad = tmp_path / "bad.toml"
    bad.write_text(dump_toml(data))
    with pytest.raises(PlanError) as exc:
        load_plan(bad)
    text = "\n".join(exc.value.errors)
    assert "unknown key 'typo' in [flicker]" in text
    assert "'sample_rate_hz' in [flicker] must be >= 6000 Hz" in text
    assert "'duration_s' in [flicker] must be >= 0.1 s" in text
    data["flicker"] = {"sample_rate_hz": 100000.0, "duration_s": 1.0}
    bad.write_text(dump_toml(data))
    with pytest.raises(PlanError, match="asks for 100000 samples"):
        load_plan(bad)
    data["flicker"] = {"enabled": False}
    bad.write_text(dump_toml(data))
    assert load_plan(bad).flicker is None


def test_station_file_with_ac_source_checks_its_options(tmp_path):
    from lightcomp.station.config import load_station
    from lightcomp.station.plan import read_toml

    data, _ = read_toml(SIM_STATION)
    assert load_station(SIM_STATION, lab_root=REPO).instruments["ac_source"].driver == (
        "chroma61600"
    )
    data["instruments"]["ac_source"]["options"] = {"current_limt_a": 2.0}
    bad = tmp_path / "station.toml"
    bad.write_text(dump_toml(data))
    with pytest.raises(PlanError, match="unknown option 'current_limt_a' for driver chroma61600"):
        load_station(bad, lab_root=REPO)


# -- the certificate of the AC run ------------------------------------------------------------
def test_certificate_of_the_ac_run_names_the_ac_source_and_shows_flicker(ac_lab, tmp_path):
    from lightcomp.reports.certificate import issue_certificate

    comps, _ = lot_rows(ac_lab.store, "LOT-ACS")
    out = tmp_path / "ac.html"
    issue_certificate(
        ac_lab.store,
        comps[0][1],
        out,
        authorised_by="QA",
        now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )
    html = out.read_text(encoding="utf-8")
    assert "AC source: Chroma ATE,61604" in html
    assert "not recorded by the station" not in html
    assert "Oscilloscope: KEYSIGHT TECHNOLOGIES,DSO-X 1102G" in html  # it recorded the light
    assert "Source meter" not in html  # the DC source meter did not supply this item
    assert "Percent flicker" in html and "Flicker index" in html
    assert "IEEE 1789-2015 verdict" in html
    assert "Flicker is not measured" not in html
