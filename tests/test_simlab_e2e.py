"""The simulated lab end to end: real sockets (pyvisa-py TCPIP SOCKET, pyserial socket://).

Checks the drivers against the simulators through the real transport, the
virtual clock, the sphere/calibration chain and every injected fault.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import colour
import numpy as np
import pytest
import pyvisa
import serial

from lightcomp.drivers import instrument_config, open_instrument
from lightcomp.errors import InstrumentError, PlanError
from lightcomp.simlab import SimLab, SimlabClock

pytestmark = pytest.mark.filterwarnings("ignore::colour.utilities.ColourRuntimeWarning")
ROOT = Path(__file__).resolve().parents[1]
SIM_TOML = ROOT / "station" / "sim.toml"
DEVICES = tomllib.loads((ROOT / "station" / "simlab" / "devices.toml").read_text())
WL = np.arange(380.0, 781.0)


def sd(values: np.ndarray) -> colour.SpectralDistribution:
    return colour.SpectralDistribution(dict(zip(WL, values, strict=True)))


@pytest.fixture(scope="module")
def station() -> dict:
    cfg = tomllib.loads(SIM_TOML.read_text())
    cfg["instruments"]["array"] = {
        "driver": "array-spectrometer",
        "resource": "socket://x:1",
        "identity": "LCAS",
        "timeout_s": 2.0,
        "retries": 2,
    }
    return cfg


@pytest.fixture(scope="module")
def lab(station):
    with SimLab.start(station, seed=7) as lab:
        yield lab


def _open(lab: SimLab, station: dict, role: str, **over):
    table = {**station["instruments"][role], "resource": lab.resources[role], **over}
    return open_instrument(instrument_config(role, table))


@pytest.fixture(scope="module")
def inst(lab, station):
    opened = {role: _open(lab, station, role) for role in station["instruments"]}
    yield opened
    for i in opened.values():
        i.close()


@pytest.fixture(scope="module")
def clock(lab):
    c = SimlabClock(lab.resources["clock"])
    yield c
    c.close()


def test_resources_are_real_transports(lab):
    assert lab.resources["source"].startswith("TCPIP0::127.0.0.1::")
    assert lab.resources["spectro"].startswith("socket://127.0.0.1:")
    rm = pyvisa.ResourceManager("@py")
    res = rm.open_resource(
        lab.resources["power_analyzer"], read_termination="\n", write_termination="\n", timeout=2000
    )
    try:
        assert res.query("*IDN?").startswith("YOKOGAWA,WT310E")
    finally:
        res.close()
    with serial.serial_for_url(lab.resources["spectro"], timeout=2) as port:
        port.write(b"RMTS,1\n")
        assert port.readline() == b"OK00\n"
        port.write(b"IDDR\n")
        assert port.readline().startswith(b"OK00,CS-2000")


def test_identities_match_config(inst):
    for role, drv in inst.items():
        assert drv.check_identity(), role


def test_unknown_driver_and_bad_resource(station):
    with pytest.raises(PlanError, match="unknown instrument driver"):
        open_instrument(instrument_config("x", {"driver": "hp3458", "resource": "socket://a:1"}))
    with pytest.raises(InstrumentError, match="unknown resource form"):
        open_instrument(instrument_config("x", {"driver": "ls218", "resource": "nonsense"}))
    with pytest.raises(InstrumentError, match="cannot open"):
        open_instrument(
            instrument_config("x", {"driver": "ls218", "resource": "socket://127.0.0.1:1"})
        )


def test_dc_board_electrical_and_dark(inst, clock):
    fam = DEVICES["families"]["LS0-COB-4000"]
    inst["fixture"].load("B0001", "LOT-E2E", "LS0-COB-4000")
    src = inst["source"]
    src.set_current(fam["nominal_current_a"], 45.0)
    src.output(True)
    clock.sleep(600)
    r = src.measure()
    assert r.current_a == pytest.approx(fam["nominal_current_a"], rel=1e-3)
    assert r.voltage_v == pytest.approx(fam["nominal_vf_v"], rel=0.06)
    lit = inst["spectro"].measure().values
    src.output(False)
    dark = inst["spectro"].measure().values
    assert lit.max() > 0 and np.abs(dark).max() < 1e-3 * lit.max()
    # Tc of a level-0 board sits on the temperature-controlled plate
    assert inst["thermo"].read_c(1) == pytest.approx(fam["case_control_c"], abs=0.5)


def test_compliance_when_voltage_limit_below_vf(inst):
    inst["fixture"].load("B0002", "LOT-E2E", "LS0-COB-4000")
    inst["source"].set_current(0.35, 20.0)
    inst["source"].output(True)
    try:
        with pytest.raises(InstrumentError, match="compliance"):
            inst["source"].measure()
    finally:
        inst["source"].output(False)


def test_lm79_stabilisation_on_virtual_clock(inst, clock):
    """AC module: flux readings 15 min apart differ > 0.5 % early, < 0.5 % after 30 min."""
    inst["fixture"].load("M0001", "LOT-E2E", "LM1-AC-3000")
    inst["source"].output(True)  # mains relay of the AC module
    try:
        t0 = clock.now()
        flux = []
        for _ in range(5):
            flux.append(colour.luminous_flux(sd(inst["spectro"].measure().values)))
            clock.sleep(900)
        assert clock.now() - t0 == pytest.approx(4500)
        steps = np.abs(np.diff(flux)) / np.array(flux[1:])
        assert steps[0] > 0.005  # 0 -> 15 min: still warming up
        assert np.all(steps[2:] < 0.005)  # 30 -> 45 -> 60 min: stable per LM-79
        assert flux[-1] < flux[0]  # LED flux drops as the junction warms
        e = inst["power_analyzer"].read()
        fam = DEVICES["families"]["LM1-AC-3000"]
        assert e.voltage_v == pytest.approx(fam["mains_voltage_v"], rel=1e-3)
        assert e.frequency_hz == pytest.approx(fam["mains_frequency_hz"], rel=1e-3)
        assert e.power_factor == pytest.approx(fam["power_factor"], abs=0.01)
        assert e.power_w == pytest.approx(e.apparent_power_va * e.power_factor, rel=1e-3)
        assert e.thd_current == pytest.approx(fam["thd_current"], abs=0.01)
        h = np.array(e.harmonics_a)
        assert np.sqrt((h[1:] ** 2).sum()) / h[0] == pytest.approx(e.thd_current, rel=0.01)
        assert inst["thermo"].read_c(1) > inst["thermo"].read_c(2) + 5  # heat sink warm
    finally:
        inst["source"].output(False)


def test_unit_is_deterministic_in_seed_lot_serial(station, inst, clock):
    def vf(lab_inst, serial):
        lab_inst["fixture"].load(serial, "LOT-D", "LS0-COB-4000")
        lab_inst["source"].set_current(0.35, 45.0)
        lab_inst["source"].output(True)
        v = lab_inst["source"].measure().voltage_v
        lab_inst["source"].output(False)
        return v

    first, again, other = vf(inst, "D1"), vf(inst, "D1"), vf(inst, "D2")
    assert again == pytest.approx(first, rel=2e-4)  # only instrument noise
    assert abs(other - first) / first > 2e-4
    with SimLab.start(station, seed=7) as lab2:
        insts = {r: _open(lab2, station, r) for r in ("fixture", "source")}
        assert vf(insts, "D1") == pytest.approx(first, rel=2e-4)  # re-measured after a "crash"
        for i in insts.values():
            i.close()


def test_calibration_chain_recovers_flux(lab, inst):
    """Standard lamp + aux lamp self-absorption recover a DUT's flux (LM-79 sphere method)."""
    cert = tomllib.loads((ROOT / "calibration" / "lamps" / "SIM-STD-001.toml").read_text())
    rows = np.loadtxt(ROOT / "calibration" / "lamps" / cert["data"], delimiter=",", skiprows=3)
    lamp = np.interp(WL, rows[:, 0], rows[:, 1])
    assert colour.luminous_flux(sd(lamp)) == pytest.approx(cert["total_flux_lm"], rel=0.005)
    fx, src, cs = inst["fixture"], inst["source"], inst["spectro"]

    fx.load("SIM-STD-001", "", "")
    src.output(True)
    responsivity = cs.measure().values / lamp  # per W/nm, includes the lamp's self-absorption
    src.output(False)
    fx.set_aux_lamp(True)
    aux_std = cs.measure().values
    fx.load("C0001", "LOT-CAL", "LS0-COB-4000")
    aux_dut = cs.measure().values
    fx.set_aux_lamp(False)
    alpha = aux_dut.sum() / aux_std.sum()
    assert 0.97 < alpha < 1.0  # DUT absorbs more than the standard lamp
    src.set_current(0.35, 45.0)
    src.output(True)
    measured = cs.measure().values / responsivity / alpha
    truth = lab.world.operating_point().spectral_flux_w_nm
    src.output(False)
    assert colour.luminous_flux(sd(measured)) == pytest.approx(
        colour.luminous_flux(sd(truth)), rel=0.005
    )


def test_array_spectrometer_counts_and_dark(inst):
    inst["fixture"].load("A0001", "LOT-A", "LS0-COB-4000")
    inst["source"].set_current(0.35, 45.0)
    inst["source"].output(True)
    try:
        spec = inst["array"]
        r = spec.measure()
        d = spec.measure_dark()
        assert r.unit == "counts" and not r.saturated
        assert 0.2 <= r.values.max() / 65535 <= 0.85  # auto-ranged
        assert d.integration_time_s == r.integration_time_s
        net = r.values - d.values
        assert 380 < r.wavelengths_nm[np.argmax(net)] < 780
        outside = r.wavelengths_nm < 375  # the DUT emits nothing there: dark + noise only
        assert np.abs(net[outside]).max() < 0.01 * net.max()
    finally:
        inst["source"].output(False)


# -- fault injection -------------------------------------------------------------------
FAST = {"timeout_s": 0.3, "retries": 1}


@pytest.mark.parametrize("fault", ["timeout", "garbled", "truncated", "disconnect"])
@pytest.mark.parametrize("role", ["source", "thermo"])  # VISA socket and serial stream
def test_transport_fault_is_retried(lab, station, role, fault):
    drv = _open(lab, station, role, **FAST)
    try:
        lab.inject(role, fault, count=1)
        assert drv.identify()
    finally:
        drv.close()


@pytest.mark.parametrize("fault", ["timeout", "garbled", "truncated", "disconnect"])
def test_transport_fault_beyond_retries_names_command(lab, station, fault):
    drv = _open(lab, station, "thermo", **FAST)
    try:
        lab.inject("thermo", fault, count=2)
        with pytest.raises(InstrumentError) as err:
            drv.read_c(2)
        assert "thermo (ls218)" in str(err.value) and "'CRDG? 2'" in str(err.value)
        assert drv.read_c(2) == pytest.approx(25.0, abs=0.5)  # and the link recovers
    finally:
        drv.close()


def test_cs2000_spectrum_survives_one_garbled_block(lab, inst):
    lab.inject("spectro", "garbled", count=1, after=3)  # hits a MEDR data block
    assert inst["spectro"].measure().values.shape == (401,)


def test_wrong_identity_refused(lab, station):
    lab.inject("power_analyzer", "wrong_idn")
    with pytest.raises(InstrumentError, match="does not match the configured 'WT310E'"):
        _open(lab, station, "power_analyzer")


def test_saturated_spectrum(lab, inst, station):
    lab.inject("spectro", "saturated")
    with pytest.raises(InstrumentError, match="ER10"):
        inst["spectro"].measure()
    lab.inject("array", "saturated")
    raw = _open(lab, station, "array", options={"auto_range": False})
    try:
        assert raw.measure().saturated
    finally:
        raw.close()


def test_faults_from_config_table(station):
    cfg = {
        **station,
        "simlab": {**station["simlab"], "faults": {"thermo": {"fault": "garbled", "count": 2}}},
    }
    with SimLab.start(cfg) as lab:
        with pytest.raises(InstrumentError, match=r"'\*IDN\?'"):
            _open(lab, cfg, "thermo", **FAST)  # both attempts of the identity query garbled
        _open(lab, cfg, "thermo", **FAST).close()  # faults used up
    with pytest.raises(PlanError, match="unknown fault"):
        SimLab.start({**station, "simlab": {"faults": {"thermo": {"fault": "fire"}}}})


def test_clock_rejects_negative_sleep(clock):
    with pytest.raises(InstrumentError):
        clock.sleep(-1)


def test_e36312a_over_the_socket(lab, station):
    cfg = {
        **station,
        "instruments": {
            "psu": {
                "driver": "e36312a",
                "resource": "x",
                "identity": "E36312A",
                "options": {"channel": 2},
            },
            "fixture": station["instruments"]["fixture"],
        },
    }
    with SimLab.start(cfg) as lab2:
        psu = _open(lab2, cfg, "psu")
        fx = _open(lab2, cfg, "fixture")
        try:
            fx.load("P1", "LOT-P", "LS0-COB-4000")
            psu.set_current(0.35, 20.0)  # 20 V is far below the board's ~36 V: no current
            psu.output(True)
            r = psu.measure()
            assert r.voltage_v == pytest.approx(20.0, rel=1e-3) and r.current_a < 1e-6
        finally:
            psu.close()
            fx.close()


def test_cli_simlab_start_reports_bad_station_file(tmp_path):
    from lightcomp.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text("[instruments.source\n")
    assert main(["simlab", "start", "--station", str(bad)]) == 2
    assert main(["simlab", "start", "--station", str(tmp_path / "missing.toml")]) == 2


def test_disconnect_mid_batch_on_a_state_changing_command(lab, inst):
    """MEAS,1 is not retried (it starts a measurement): the error names it; the link recovers."""
    cs = inst["spectro"]
    cs.measure()
    lab.inject("spectro", "disconnect")
    with pytest.raises(InstrumentError, match=r"'MEAS,1'.*1 attempt|1 attempt.*'MEAS,1'"):
        cs.measure()
    assert cs.measure().values.shape == (401,)
