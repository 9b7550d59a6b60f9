"""Command/response dialogues of every driver, checked with PyMeasure's expected_protocol.

Expected command strings come from the instruments' manuals (Keithley 2400,
Keysight E36312A, Yokogawa WT310E, Konica Minolta CS-2000, Lake Shore 218) or
the documented LCAS-1/SIMCTL-1 line protocols; replies are hand-written frames.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from lightcomp.drivers.array_spectrometer import ArraySpectrometer
from lightcomp.drivers.base import InstrumentConfig
from lightcomp.drivers.keithley import Keithley2400Source
from lightcomp.drivers.keysight import KeysightE36312ASupply
from lightcomp.drivers.konicaminolta import KonicaMinoltaCS2000
from lightcomp.drivers.lakeshore import LakeShore218
from lightcomp.drivers.simfixture import SimFixture
from lightcomp.drivers.transport import parse_floats, serial_port_of
from lightcomp.drivers.yokogawa import YokogawaWT310E
from lightcomp.errors import InstrumentError

K2400_INIT = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)
K2400_SENSE = (':SENS:FUNC:CONC ON;:SENS:FUNC "VOLT:DC","CURR:DC"', None)
NO_ERROR = ("SYST:ERR?", '0,"No error"')
READ_OK = "+3.612000E+01,+3.500000E-01,+9.910000E+37,+1.000000E+00,+1.000000E+00"


def cfg(driver: str, role: str, retries: int = 2, identity: str | None = None, **options):
    return InstrumentConfig(
        role=role,
        driver=driver,
        resource="TEST::RESOURCE",
        identity=identity,
        timeout_s=0.5,
        retries=retries,
        options=options,
    )


# -- Keithley 2400 ---------------------------------------------------------------------
def test_keithley2400_constant_current_dialogue():
    pairs = [
        K2400_INIT,
        K2400_SENSE,
        (":SOURCE:FUNCTION CURR", None),
        (":SENSE:VOLTAGE:PROTECTION 45", None),
        (":SOURCE:CURRENT 0.35", None),
        ("*OPC?", "1"),
        NO_ERROR,
        ("OUTPUT 1", None),
        ("*OPC?", "1"),
        (":READ?", READ_OK),
        ("OUTPUT 0", None),
        ("*OPC?", "1"),
    ]
    with expected_protocol(Keithley2400Source, pairs) as smu:
        smu.set_current(0.35, 45)
        smu.output(True)
        reading = smu.measure()
        smu.safe_state()
    assert reading.voltage_v == pytest.approx(36.12)
    assert reading.current_a == pytest.approx(0.35)
    assert reading.power_w == pytest.approx(36.12 * 0.35)
    assert reading.power_factor is None


def test_keithley2400_constant_voltage_dialogue():
    pairs = [
        K2400_INIT,
        K2400_SENSE,
        (":SOURCE:FUNCTION VOLT", None),
        (":SENSE:CURRENT:PROTECTION 0.5", None),
        (":SOURCE:VOLTAGE 12", None),
        ("*OPC?", "1"),
        NO_ERROR,
    ]
    with expected_protocol(Keithley2400Source, pairs) as smu:
        smu.set_voltage(12, 0.5)


def test_keithley2400_retries_garbage_then_succeeds():
    pairs = [
        K2400_INIT,
        (":READ?", "\x15#@!"),
        (":READ?", "+3.6E+01,+3.5E-01"),
        (":READ?", READ_OK),
    ]
    with expected_protocol(Keithley2400Source, pairs, config=cfg("keithley2400", "source")) as smu:
        assert smu.measure().voltage_v == pytest.approx(36.12)


def test_keithley2400_garbage_exhausts_retries_with_named_error():
    pairs = [K2400_INIT, (":READ?", "garbage"), (":READ?", "garbage")]
    with expected_protocol(
        Keithley2400Source, pairs, config=cfg("keithley2400", "source", 1)
    ) as smu:
        with pytest.raises(InstrumentError) as err:
            smu.measure()
    msg = str(err.value)
    assert "source (keithley2400)" in msg and "':READ?'" in msg and "'garbage'" in msg
    assert "2 attempt" in msg


def test_keithley2400_compliance_is_an_error_not_a_reading():
    status = float(0x0001 | 0x0008)
    pairs = [K2400_INIT, (":READ?", f"+4.5E+01,+1.2E-01,+9.91E+37,+1.0E+00,{status:+E}")]
    with expected_protocol(Keithley2400Source, pairs) as smu:
        with pytest.raises(InstrumentError, match="compliance"):
            smu.measure()


def test_keithley2400_identity_check():
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1,C30"
    good = cfg("keithley2400", "source", identity="MODEL 2400")
    with expected_protocol(Keithley2400Source, [K2400_INIT, ("*IDN?", idn)], config=good) as smu:
        assert smu.check_identity() == idn
    bad = cfg("keithley2400", "source", identity="MODEL 2450")
    with expected_protocol(Keithley2400Source, [K2400_INIT, ("*IDN?", idn)], config=bad) as smu:
        with pytest.raises(InstrumentError, match="does not match"):
            smu.check_identity()


def test_keithley2400_refuses_out_of_range_current():
    pairs = [
        K2400_INIT,
        K2400_SENSE,
        (":SOURCE:FUNCTION CURR", None),
        (":SENSE:VOLTAGE:PROTECTION 45", None),
    ]
    with expected_protocol(Keithley2400Source, pairs) as smu:
        with pytest.raises(InstrumentError, match="setting refused"):
            smu.set_current(5.0, 45)  # 2400 sources at most 1.05 A


def test_keithley2400_setting_refused_by_the_instrument_is_an_error():
    """A refusal is only in the error queue (no reply): the driver reads it back and raises."""
    pairs = [
        K2400_INIT,
        K2400_SENSE,
        (":SOURCE:FUNCTION CURR", None),
        (":SENSE:VOLTAGE:PROTECTION 45", None),
        (":SOURCE:CURRENT 0.35", None),
        ("*OPC?", "1"),
        ("SYST:ERR?", '-221,"Settings conflict"'),
        ("SYST:ERR?", '0,"No error"'),
    ]
    with expected_protocol(Keithley2400Source, pairs) as smu:
        with pytest.raises(InstrumentError, match=r"refused the settings.*-221"):
            smu.set_current(0.35, 45)


# -- Keysight E36312A -----------------------------------------------------------------
def test_e36312a_dialogue_on_channel_2():
    pairs = [
        ("CURR 0.35, (@2)", None),
        ("VOLT 20, (@2)", None),
        ("*OPC?", "1"),
        ("SYST:ERR?", '+0,"No error"'),
        ("OUTPut 1, (@2)", None),
        ("*OPC?", "1"),
        ("MEASure:VOLTage? (@2)", "+1.854000E+01"),
        ("MEAS:CURRent? (@2)", "+3.500000E-01"),
    ]
    with expected_protocol(
        KeysightE36312ASupply, pairs, config=cfg("e36312a", "source", channel=2)
    ) as psu:
        psu.set_current(0.35, 20)
        psu.output(True)
        r = psu.measure()
    assert (r.voltage_v, r.current_a) == (pytest.approx(18.54), pytest.approx(0.35))


def test_e36312a_channel_limits_enforced():
    with expected_protocol(KeysightE36312ASupply, [("CURR 0.35, (@1)", None)]) as psu:
        with pytest.raises(InstrumentError, match="not in range"):
            psu.set_current(0.35, 40)  # channel 1 is a 6 V channel


# -- Yokogawa WT310E --------------------------------------------------------------------
WT_ITEMS = ("U", "I", "P", "S", "Q", "LAMB", "FU", "ITHD")
WT_SETUP = [
    (":NUM:FORM ASC", None),
    (":NUM:NORM:NUM 8", None),
    *[(f":NUM:NORM:ITEM{n} {f},1", None) for n, f in enumerate(WT_ITEMS, start=1)],
    (":STAT:FILT1 FALL", None),
]
WT_VALUES = (
    "2.3000E+02,8.6400E-02,1.8880E+01,1.9870E+01,6.2000E+00,9.5000E-01,5.0000E+01,1.5000E+01"
)


def test_wt310e_read_with_harmonics():
    harm = [0.0850] + [0.01 / n for n in range(2, 41)]
    pairs = [
        *WT_SETUP,
        ("*OPT?", "G5"),
        (":NUM:LIST:ITEM1 I,1", None),
        (":NUM:LIST:ORD 40", None),
        (":STAT:EESR?", "0"),
        (":COMM:WAIT 1", None),
        (":NUM:NORM:VAL?", WT_VALUES),
        (":NUM:LIST:VAL?", ",".join(f"{v:.4E}" for v in [0.0864, *harm])),
    ]
    with expected_protocol(YokogawaWT310E, pairs) as wt:
        r = wt.read()
    assert r.voltage_v == 230.0 and r.current_a == pytest.approx(0.0864)
    assert r.power_w == pytest.approx(18.88) and r.apparent_power_va == pytest.approx(19.87)
    assert r.reactive_power_var == pytest.approx(6.2) and r.power_factor == pytest.approx(0.95)
    assert r.frequency_hz == 50.0
    assert r.thd_current == pytest.approx(0.15)  # percent on the wire, fraction in lightcomp
    assert len(r.harmonics_a) == 40 and r.harmonics_a[0] == pytest.approx(0.085)


def test_wt310e_without_harmonic_option_and_nan_frequency():
    values = "2.3000E+01,1.0000E-01,2.3000E+00,2.3000E+00,0.0,1.0,9.91E+37,9.91E+37"
    pairs = [*WT_SETUP, (":STAT:EESR?", "1"), (":COMM:WAIT 1", None), (":NUM:NORM:VAL?", values)]
    with expected_protocol(
        YokogawaWT310E, pairs, config=cfg("wt310e", "power_analyzer", harmonics=False)
    ) as wt:
        r = wt.read()
    assert r.frequency_hz is None and r.thd_current is None and r.harmonics_a is None


def test_wt310e_no_data_for_power_is_an_error():
    values = "9.91E+37,9.91E+37,9.91E+37,9.91E+37,9.91E+37,9.91E+37,9.91E+37,9.91E+37"
    pairs = [*WT_SETUP, (":STAT:EESR?", "1"), (":COMM:WAIT 1", None), (":NUM:NORM:VAL?", values)]
    with expected_protocol(
        YokogawaWT310E, pairs, config=cfg("wt310e", "power_analyzer", harmonics=False)
    ) as wt:
        with pytest.raises(InstrumentError, match="no valid U/I/P"):
            wt.read()


# -- Konica Minolta CS-2000 --------------------------------------------------------------
def _hex(values) -> str:
    return ",".join(struct.pack(">f", v).hex().upper() for v in values)


SPECTRUM = np.linspace(1e-4, 5e-3, 401).astype(np.float32)
CS_BLOCKS = [
    (f"MEDR,1,1,{n}", "OK00," + _hex(SPECTRUM[a:b]))
    for n, (a, b) in enumerate([(0, 100), (100, 200), (200, 300), (300, 401)], start=1)
]


def test_cs2000_measure_dialogue():
    pairs = [
        ("RMTS,1", "OK00"),
        ("IDDR", "OK00,CS-2000,0,20003001"),
        ("MEAS,1", "OK00,3"),
        ("MEDR,0,0,1", "ER02"),
        ("MEDR,0,0,1", "ER02"),
        ("MEDR,0,0,1", "OK00,0"),
        *CS_BLOCKS,
    ]
    with expected_protocol(
        KonicaMinoltaCS2000,
        pairs,
        config=cfg("cs2000", "spectro", identity="CS-2000", poll_interval_s=0.0),
    ) as cs:
        assert "CS-2000" in cs.check_identity()
        reading = cs.measure()
    assert reading.wavelengths_nm[0] == 380 and reading.wavelengths_nm[-1] == 780
    np.testing.assert_array_equal(reading.values, SPECTRUM.astype(float))
    assert reading.integration_time_s == 3 and not reading.saturated


def test_cs2000_over_range_is_raised_with_code():
    pairs = [("RMTS,1", "OK00"), ("MEAS,1", "OK00,3"), ("MEDR,0,0,1", "ER10")]
    with expected_protocol(KonicaMinoltaCS2000, pairs) as cs:
        with pytest.raises(InstrumentError, match=r"ER10 \(over measuring range"):
            cs.measure()


@pytest.mark.parametrize(
    "bad",
    [
        "OK00," + _hex(SPECTRUM[:99]),  # one value missing (truncated frame)
        "OK00," + _hex(SPECTRUM[:100])[:-1] + "G",  # non-hex digit
        "OK00," + _hex([float("nan")] * 100),  # non-finite value
        "\x8f\x00OK00",  # line noise
    ],
)
def test_cs2000_garbled_block_is_retried_never_decoded(bad):
    good = CS_BLOCKS[0][1]
    pairs = [
        ("RMTS,1", "OK00"),
        ("MEAS,1", "OK00,3"),
        ("MEDR,0,0,1", "OK00,0"),
        ("MEDR,1,1,1", bad),
        ("MEDR,1,1,1", bad),
    ]
    with expected_protocol(KonicaMinoltaCS2000, pairs, config=cfg("cs2000", "spectro", 1)) as cs:
        with pytest.raises(InstrumentError, match="MEDR,1,1,1"):
            cs.measure()
    pairs = [
        ("RMTS,1", "OK00"),
        ("MEAS,1", "OK00,3"),
        ("MEDR,0,0,1", "OK00,0"),
        ("MEDR,1,1,1", bad),
        ("MEDR,1,1,1", good),
        *CS_BLOCKS[1:],
    ]
    with expected_protocol(KonicaMinoltaCS2000, pairs, config=cfg("cs2000", "spectro", 1)) as cs:
        np.testing.assert_array_equal(cs.measure().values, SPECTRUM.astype(float))


def test_cs2000_meas_is_not_retried():
    pairs = [("RMTS,1", "OK00"), ("MEAS,1", "garbage")]
    with expected_protocol(KonicaMinoltaCS2000, pairs, config=cfg("cs2000", "spectro", 3)) as cs:
        with pytest.raises(InstrumentError, match="1 attempt"):
            cs.measure()


# -- array spectrometer (LCAS-1) -----------------------------------------------------------
def test_array_spectrometer_measure_and_dark():
    wl = ",".join(f"{400 + 10 * k:.4f}" for k in range(16))
    counts = ",".join(str(20000 + 100 * k) for k in range(16))
    dark = ",".join(["1000"] * 16)
    pairs = [
        ("SHUT 0", "OK"),
        ("INT 100000", "OK"),
        ("WAVE?", wl),
        ("SPEC?", counts),
        ("MAX?", "65535"),
        ("SHUT 1", "OK"),
        ("SPEC?", dark),
        ("SHUT 0", "OK"),
    ]
    with expected_protocol(ArraySpectrometer, pairs) as spec:
        r = spec.measure()
        d = spec.measure_dark()
    assert r.unit == "counts" and r.integration_time_s == 0.1 and not r.saturated
    assert r.values[0] == 20000 and r.wavelengths_nm[-1] == 550
    assert d.values.max() == 1000


def test_array_spectrometer_auto_range_recovers_from_saturation():
    wl = ",".join(f"{400 + 10 * k:.4f}" for k in range(16))
    full = ",".join(["65535"] * 16)
    half = ",".join(["30000"] * 16)
    pairs = [
        ("SHUT 0", "OK"),
        ("INT 100000", "OK"),
        ("WAVE?", wl),
        ("SPEC?", full),
        ("MAX?", "65535"),
        ("INT 25000", "OK"),
        ("SPEC?", half),
    ]
    with expected_protocol(ArraySpectrometer, pairs) as spec:
        r = spec.measure()
    assert r.integration_time_s == pytest.approx(0.025) and not r.saturated


def test_array_spectrometer_saturation_flagged_without_auto_range():
    wl = ",".join(f"{400 + 10 * k:.4f}" for k in range(16))
    pairs = [
        ("SHUT 0", "OK"),
        ("INT 100000", "OK"),
        ("WAVE?", wl),
        ("SPEC?", ",".join(["65535"] * 16)),
        ("MAX?", "65535"),
    ]
    with expected_protocol(
        ArraySpectrometer, pairs, config=cfg("array-spectrometer", "spectro", auto_range=False)
    ) as spec:
        assert spec.measure().saturated


def test_array_spectrometer_refusal_names_reply():
    with expected_protocol(ArraySpectrometer, [("SHUT 0", "ERR shutter jammed")]) as spec:
        with pytest.raises(InstrumentError, match="ERR shutter jammed"):
            spec.measure()


# -- Lake Shore 218 -----------------------------------------------------------------------------
def test_ls218_reads_celsius():
    with expected_protocol(LakeShore218, [("CRDG? 1", "+045.125"), ("CRDG? 2", "+025.010")]) as ls:
        assert ls.read_tc_c() == pytest.approx(45.125)
        assert ls.read_ambient_c() == pytest.approx(25.01)


def test_ls218_open_sensor_is_an_error():
    pairs = [("CRDG? 3", "+0.0000")]  # a well-formed reply: reported at once, not retried
    with expected_protocol(LakeShore218, pairs) as ls:
        with pytest.raises(InstrumentError, match="open sensor"):
            ls.read_c(3)


# -- simulated fixture ----------------------------------------------------------------------------
def test_sim_fixture_dialogue():
    pairs = [
        ("LOAD U1,LOT-A,LS0-COB-4000", "OK"),
        ("AUX 1", "OK"),
        ("UNLOAD", "OK"),
        ("LOAD U2,LOT-A,NOPE", "ERR unknown family 'NOPE'"),
    ]
    with expected_protocol(SimFixture, pairs) as fx:
        fx.load("U1", "LOT-A", "LS0-COB-4000")
        fx.set_aux_lamp(True)
        fx.unload()
        with pytest.raises(InstrumentError, match="unknown family"):
            fx.load("U2", "LOT-A", "NOPE")


# -- transport helpers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("resource", "port"),
    [
        ("ASRL/dev/ttyUSB0::INSTR", "/dev/ttyUSB0"),
        ("ASRL3::INSTR", "COM3"),
        ("/dev/ttyS1", "/dev/ttyS1"),
        ("COM7", "COM7"),
        ("TCPIP0::10.0.0.5::5025::SOCKET", None),
        ("socket://127.0.0.1:5027", None),
    ],
)
def test_serial_port_of_resource(resource, port):
    assert serial_port_of(resource) == port


@pytest.mark.parametrize("reply", ["1.0,2.0", "1.0,,3.0", "1.0,abc,3", "1,2,inf", "0x10,1,2"])
def test_parse_floats_rejects_garbage(reply):
    with pytest.raises(ValueError):
        parse_floats(reply, 3)


def test_parse_floats_accepts_scpi_numbers():
    assert parse_floats("+3.6E+01, -1.5e-3,42", 3) == [36.0, -0.0015, 42.0]
