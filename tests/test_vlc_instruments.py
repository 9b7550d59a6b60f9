"""VLC bench: generator and scope drivers (dialogues, IEEE 488.2 blocks), simulated bench.

Command strings follow the Keysight 33500/33600 and InfiniiVision 1000 X
programmer's guides; block replies are hand-built (``#8`` + 8-digit length +
big-endian words + LF).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from lightcomp.drivers import instrument_config, open_instrument
from lightcomp.drivers.base import InstrumentConfig
from lightcomp.drivers.ieee488 import BlockError, definite_block, read_definite_block
from lightcomp.drivers.keysight33500 import Keysight33500Generator
from lightcomp.drivers.keysight_dsox import KeysightDSOX1102GScope
from lightcomp.errors import InstrumentError, PlanError
from lightcomp.simlab.lab import SimLab
from lightcomp.station.modulation import measure_modulation, modulation_settings

pytestmark = pytest.mark.filterwarnings("ignore:It is not known whether:FutureWarning")


def cfg(driver: str, role: str, retries: int = 0) -> InstrumentConfig:
    return InstrumentConfig(role, driver, "TEST::RESOURCE", None, 0.5, retries, {})


# -- IEEE 488.2 blocks -----------------------------------------------------------------
def reader(raw: bytes):
    buf = bytearray(raw)

    def read(n: int) -> bytes:
        out = bytes(buf[:n])
        del buf[:n]
        return out

    return read


def test_definite_block_round_trip_and_strict_parsing():
    data = bytes(range(256)) * 3
    assert read_definite_block(reader(definite_block(data) + b"\n")) == data
    assert read_definite_block(reader(b"#10\n")) == b""
    bad = {
        b"\xfe\x81#@!\x00\x9c%~?\xff\n": "garbled block header",
        b"#0" + data + b"\n": "indefinite",
        b"#4001x" + data: "length field",
        definite_block(data)[:300]: "truncated block: data",
        definite_block(data): "truncated block: terminator",
        definite_block(data) + b";": "not terminated",
        b"#": "truncated block: header",
    }
    for raw, msg in bad.items():
        with pytest.raises(BlockError, match=msg):
            read_definite_block(reader(raw))


# -- generator dialogue ------------------------------------------------------------------
GEN_SINE = [
    ("OUTP1:LOAD 50", None),
    ("SYSTem:ERRor?", '+0,"No error"'),
    ("SOUR1:FUNC SIN", None),
    ("SYSTem:ERRor?", '+0,"No error"'),
    ("SOUR1:FREQ 25000000.000000", None),
    ("SYSTem:ERRor?", '+0,"No error"'),
    ("SOUR1:VOLT 3.500000", None),
    ("SYSTem:ERRor?", '+0,"No error"'),
    ("SOUR1:VOLT:OFFS 0.000000", None),
    ("SYSTem:ERRor?", '+0,"No error"'),
]


def test_generator_sine_dialogue():
    pairs = [*GEN_SINE, ("OUTP1 1", None), ("SYSTem:ERRor?", '+0,"No error"')]
    with expected_protocol(Keysight33500Generator, pairs) as gen:
        gen.sine(25e6, 3.5)
        gen.output(True)


def test_generator_error_queue_names_the_setting():
    pairs = [*GEN_SINE[:4], ("SOUR1:FREQ 25000000.000000", None)]
    pairs.append(("SYSTem:ERRor?", '-222,"Data out of range"'))
    with expected_protocol(Keysight33500Generator, pairs) as gen:
        with pytest.raises(InstrumentError, match=r"-222 Data out of range after frequency"):
            gen.sine(25e6, 3.5)
    # PyMeasure's validator refuses what the instrument cannot do before anything is sent
    with expected_protocol(Keysight33500Generator, GEN_SINE[:4]) as gen:
        with pytest.raises(InstrumentError, match="frequency = 200000000.0 refused"):
            gen.sine(200e6, 1.0)


# -- scope dialogue ----------------------------------------------------------------------
PRE = "+1,+0,+4,+1,+1.000000000E-09,-2.000000000E-09,+0,+1.220703125E-05,+0.0E+00,+32768"
WAV_SETUP = [
    (":WAVeform:SOURce CHANnel2", None),
    (":WAVeform:FORMat WORD", None),
    (":WAVeform:BYTeorder MSBFirst", None),
    (":WAVeform:UNSigned 1", None),
    (":WAVeform:POINts:MODE RAW", None),
    (":WAVeform:POINts 100", None),
    (":WAVeform:PREamble?", PRE),
]
CODES = (32768, 40960, 65535, 0)
GOOD = definite_block(struct.pack(">4H", *CODES)) + b"\n"


def acquire_pairs(*blocks: bytes):
    pairs = [(":DIGitize CHANnel2", None), ("*OPC?", "1"), *WAV_SETUP]
    for b in blocks:
        pairs += [(":WAVeform:DATA?", b)]
    return pairs


def test_scope_reads_a_word_block_and_scales_it():
    with expected_protocol(KeysightDSOX1102GScope, acquire_pairs(GOOD)) as scope:
        w = scope.acquire((2,), points=100)[2]
    np.testing.assert_allclose(w.times_s, [-2e-9, -1e-9, 0.0, 1e-9])
    yinc = 1.220703125e-05
    np.testing.assert_allclose(w.volts, (np.array(CODES) - 32768) * yinc)
    assert w.clipped  # codes 0 and 65535 are the ends of the ADC range


@pytest.mark.parametrize(
    ("block", "why"),
    [
        (b"\xfe\x81#@!\x00\x9c%~?\xff\n", "garbled block header"),
        (GOOD[:9], "truncated block"),
        (GOOD[:-3], "truncated block"),
        (definite_block(struct.pack(">3H", 1, 2, 3)) + b"\n", "preamble announced 4 words"),
    ],
)
def test_scope_bad_blocks_name_scope_and_command(block, why):
    with expected_protocol(KeysightDSOX1102GScope, acquire_pairs(block)) as scope:
        scope.config = cfg("dsox1102g", "scope")
        with pytest.raises(InstrumentError) as exc:
            scope.acquire((2,), points=100)
        scope.adapter._read_buffer = None  # a real link is re-opened (see _recover)
    msg = str(exc.value)
    assert "scope (dsox1102g)" in msg and ":WAVeform:DATA?" in msg and why in msg


def test_scope_retries_a_garbled_block():
    pairs = acquire_pairs(b"#X" + GOOD[2:], GOOD)
    with expected_protocol(KeysightDSOX1102GScope, pairs) as scope:
        scope.config = cfg("dsox1102g", "scope", retries=1)
        scope.adapter.flush_read_buffer = lambda: setattr(scope.adapter, "_read_buffer", None)
        w = scope.acquire((2,), points=100)[2]
    assert w.volts.size == 4


# -- simulated bench ---------------------------------------------------------------------
BENCH = {
    "instruments": {
        "source": {"driver": "keithley2400", "resource": "x"},
        "generator": {"driver": "keysight33500", "resource": "x"},
        "scope": {"driver": "dsox1102g", "resource": "x", "timeout_s": 1.0},
        "fixture": {"driver": "sim-vlc-fixture", "resource": "x"},
    }
}


@pytest.fixture
def bench():
    with SimLab.start(BENCH, seed=3) as lab:
        conf = lab.station_config(BENCH)
        inst = {r: open_instrument(instrument_config(r, t)) for r, t in conf["instruments"].items()}
        try:
            yield lab, inst
        finally:
            for i in inst.values():
                i.close()


def test_simulated_scope_faults_are_caught_and_retried(bench):
    lab, inst = bench
    scope, gen = inst["scope"], inst["generator"]
    inst["fixture"].load("U1", "L1", "LS0-COB-4000")
    gen.sine(1e6, 2.0)
    gen.output(True)
    scope.configure(4e-6, {1: (0.4, 0.0, "DC"), 2: (0.01, 0.0, "AC")})
    # the preamble is reply 1 of channel 1, its data block reply 2: hit the block
    lab.inject("scope", "garbled", after=2)
    lab.inject("scope", "truncated")
    w = scope.acquire((1, 2), points=1000)  # retries = 2 (default) absorb both
    assert abs(np.ptp(w[1].volts) - 2.0) < 0.05
    scope.config = InstrumentConfig("scope", "dsox1102g", scope.config.resource, None, 0.3, 0)
    lab.inject("scope", "truncated", after=2)
    with pytest.raises(InstrumentError, match=r"scope \(dsox1102g\).*:WAVeform:DATA\?"):
        scope.acquire((1,), points=1000)
    assert gen.identify().startswith("Keysight Technologies,336")


def test_simulated_generator_refuses_out_of_range(bench):
    _, inst = bench
    gen = inst["generator"]
    gen.square(50e6, 1.0)
    with pytest.raises(InstrumentError, match="-222"):
        gen.square(110e6, 1.0)  # square waves stop at 100 MHz on the 33600A
    with pytest.raises(InstrumentError, match="-222"):
        gen.sine(1e6, 9.0, offset_v=2.0)  # |offset| + Vpp/2 > 5 V


def test_unmodified_pymeasure_session_against_the_simulated_bench():
    """PyMeasure's own classes (no lightcomp code) drive the simulated generator and scope."""
    from pymeasure.instruments.agilent import Agilent33500
    from pymeasure.instruments.keysight import KeysightDSOX1102G

    with SimLab.start(BENCH, seed=1) as lab:
        gen = Agilent33500(lab.resources["generator"], visa_library="@py", read_termination="\n")
        scope = KeysightDSOX1102G(lab.resources["scope"], visa_library="@py", read_termination="\n")
        try:
            gen.shape = "SQU"
            gen.frequency = 2e5
            gen.amplitude = 1.6
            gen.output = True
            assert gen.shape == "SQU" and gen.frequency == pytest.approx(2e5)
            assert gen.amplitude == pytest.approx(1.6) and gen.output is True
            scope.timebase_range = 2e-5
            scope.ch1.scale = 0.5
            assert scope.timebase_range == pytest.approx(2e-5)
            assert scope.ch1.scale == pytest.approx(0.5)
            scope.digitize("channel1")
            data, pre = scope.download_data("channel1", points=1000)
            assert pre["points"] == data.size == 1000
            assert pre["xincrement"] == pytest.approx(2e-8)
            # a 1.6 Vpp square into 50 ohm, read through PyMeasure's ASCII path
            assert np.percentile(data, 80) == pytest.approx(0.8, abs=0.02)
            assert np.percentile(data, 20) == pytest.approx(-0.8, abs=0.02)
        finally:
            gen.adapter.close()
            scope.adapter.close()


def test_blue_chip_measures_several_times_the_white_bandwidth(bench):
    _, inst = bench
    inst["fixture"].load("U7", "L1", "LS0-COB-4000")
    src = inst["source"]

    def set_bias(i):
        src.set_current(i, 45.0)
        src.output(True)

    s = modulation_settings(
        {
            "start_mhz": 0.2,
            "stop_mhz": 100,
            "points_per_decade": 6,
            "bias_ma": [350, 70],
            "filters": ["blue"],
            "step_depth": 0.25,
            "averages": 4,
        }
    )
    r = measure_modulation(
        inst["generator"], inst["scope"], inst["fixture"].set_filter, set_bias, s
    )
    white, blue = r.bandwidth_hz, r.bandwidth_filtered_hz["blue"]
    assert blue[0] > 5 * white[0]
    assert 1.5e6 < white[0] < 5e6 and 10e6 < blue[0] < 60e6
    # the carrier lifetime shortens with bias: the blue chip is faster at 350 mA than at 70 mA
    assert blue[0] > 1.3 * blue[1]
    # white rise/fall are set by the phosphor decay (65 ns -> 2.2 x 65 = 143 ns)
    assert 100 < r.rise_s * 1e9 < 200 and 100 < r.fall_s * 1e9 < 200


def test_modulation_plan_section_is_checked():
    with pytest.raises(PlanError, match="needs 17.50 Vpp"):
        modulation_settings({"start_mhz": 1, "stop_mhz": 50, "bias_ma": [350], "depth": 0.5})
    with pytest.raises(PlanError, match="unknown key"):
        modulation_settings({"start_mhz": 1, "stop_mhz": 50, "bias_ma": [350], "dept": 0.1})
    with pytest.raises(PlanError, match="120 MHz"):
        modulation_settings({"frequencies_mhz": [1, 10, 200], "bias_ma": [100]})
    with pytest.raises(PlanError, match="bias_ma"):
        modulation_settings({"start_mhz": 1, "stop_mhz": 50})
