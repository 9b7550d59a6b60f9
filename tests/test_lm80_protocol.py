"""Protocol tests of the LM-80 rig drivers: the Modbus TCP chamber and the SCPI current rack.

The rack's dialogue is replayed with PyMeasure's expected_protocol; the chamber
driver (pymodbus) talks to the simulated controller over real Modbus TCP, with
faults injected on the wire: time-outs, garbage, Modbus exception responses,
dropped connections. A raw-socket client checks the simulator's frames byte by
byte against the Modbus Application Protocol (MBAP header + PDU).
"""

from __future__ import annotations

import socket
import struct

import pytest
from pymeasure.test import expected_protocol

from lightcomp.drivers import instrument_config, open_instrument
from lightcomp.drivers.base import InstrumentConfig
from lightcomp.drivers.rack import (
    INTERRUPTED,
    OPEN_CIRCUIT,
    CurrentRack,
    channel_list,
    parse_channel_list,
)
from lightcomp.errors import InstrumentError
from lightcomp.simlab.lm80rig import Lm80Rig
from lightcomp.simlab.world import World

RIG = {
    "rig": {"chambers": 2, "channels": 8},
    "instruments": {
        "chamber1": {"driver": "modbus-chamber", "resource": "x"},
        "chamber2": {"driver": "modbus-chamber", "resource": "x"},
        "rack": {"driver": "lm80-rack", "resource": "x", "options": {"channels": 8}},
        "tc_logger": {"driver": "ls218", "resource": "x"},
    },
    "simlab": {
        "seed": 3,
        "excursions": [{"chamber": 1, "at_h": 100.0, "duration_h": 3.5, "delta_c": 6.0}],
        "outages": [{"channel": 2, "at_h": 50.0, "duration_h": 5.0}],
        "failures": [{"channel": 3, "at_h": 200.0}],
    },
}


@pytest.fixture
def rig():
    with Lm80Rig.start(World(seed=0), RIG) as r:
        yield r


def _chamber(rig, role="chamber1", retries=2):
    return open_instrument(
        instrument_config(
            role,
            {
                "driver": "modbus-chamber",
                "resource": rig.resources[role],
                "identity": "LC-TC1000",
                "timeout_s": 0.3,
                "retries": retries,
            },
        )
    )


def _rack(rig):
    return open_instrument(
        instrument_config(
            "rack",
            {
                "driver": "lm80-rack",
                "resource": rig.resources["rack"],
                "identity": "LCR-96",
                "timeout_s": 0.5,
                "options": {"channels": 8},
            },
        )
    )


# -- chamber: Modbus TCP -------------------------------------------------------------------


def test_chamber_set_point_run_and_excursion_log(rig):
    ch = _chamber(rig)
    try:
        assert ch.identify() == "LC-TC1000 SIM"
        assert ch.process_value_c() == pytest.approx(25.0, abs=0.01)  # stopped: ambient
        ch.set_temperature(85.0)
        ch.run(True)
        assert ch.running()
        assert ch.process_value_c() == pytest.approx(85.0, abs=0.15)
        assert ch.excursions() == []
        rig.world.advance(101 * 3600)  # inside the excursion
        assert ch.process_value_c() == pytest.approx(91.0, abs=0.15)
        assert ch.alarm()
        (e,) = ch.excursions()
        assert (e.index, e.start_h, e.duration_h, e.peak_delta_c) == (1, 100.0, 3.5, 6.0)
        rig.world.advance(10 * 3600)
        assert not ch.alarm()
        assert ch.excursions(first=2) == []
        ch.set_temperature(-12.3)  # negative values: int16 two's complement both ways
        assert ch.set_point_c() == pytest.approx(-12.3)
    finally:
        ch.close()


def test_chamber_raw_frames_follow_mbap(rig):
    """A hand-built request gets a well-formed MBAP reply; a bad address an exception 02."""
    host, port = rig.resources["chamber1"].removeprefix("modbus-tcp://").split(":")
    with socket.create_connection((host, int(port)), timeout=2) as s:
        s.sendall(struct.pack(">HHHBBHH", 0x1234, 0, 6, 1, 3, 1, 1))  # read SP
        reply = s.recv(64)
        tid, pid, length, unit, fc, nbytes = struct.unpack(">HHHBBB", reply[:9])
        assert (tid, pid, length, unit, fc, nbytes) == (0x1234, 0, 5, 1, 3, 2)
        assert struct.unpack(">H", reply[9:11])[0] == 250  # 25.0 degC
        s.sendall(struct.pack(">HHHBBHH", 7, 0, 6, 1, 3, 50, 1))  # no register 50
        reply = s.recv(64)
        assert reply[7:] == bytes([0x83, 2])
        s.sendall(struct.pack(">HHHBBHH", 8, 0, 6, 1, 6, 2, 7))  # run = 7: illegal value
        assert s.recv(64)[7:] == bytes([0x86, 3])


@pytest.mark.parametrize("fault", ["timeout", "garbled", "exception", "disconnect"])
def test_chamber_read_survives_one_fault(rig, fault):
    ch = _chamber(rig)
    try:
        rig.inject("chamber1", fault, 1)
        assert ch.process_value_c() == pytest.approx(25.0, abs=0.01)
    finally:
        ch.close()


@pytest.mark.parametrize(
    "fault, words",
    [
        ("exception", "Modbus exception 4 (server device failure)"),
        ("timeout", "no valid reply"),
        ("garbled", "no valid reply"),
    ],
)
def test_chamber_persistent_fault_is_one_named_error(rig, fault, words):
    ch = _chamber(rig, retries=1)
    try:
        rig.inject("chamber1", fault, 2)
        with pytest.raises(InstrumentError) as ei:
            ch.process_value_c()
        msg = str(ei.value)
        assert "chamber1 (modbus-chamber)" in msg and words in msg and "2 attempt(s)" in msg
        assert ch.process_value_c() == pytest.approx(25.0, abs=0.01)  # link usable again
    finally:
        ch.close()


def test_chamber_write_is_not_retried(rig):
    """A set-point write that gets an exception reply fails at once (never sent twice)."""
    ch = _chamber(rig)
    try:
        rig.inject("chamber1", "exception", 1)
        with pytest.raises(InstrumentError, match="write register 1 = 850"):
            ch.set_temperature(85.0)
        assert ch.set_point_c() == pytest.approx(85.0)  # the controller did take it
    finally:
        ch.close()


def test_chamber_wrong_identity_and_bad_resource(rig):
    from lightcomp.errors import PlanError

    with pytest.raises(InstrumentError, match="identity"):
        open_instrument(
            InstrumentConfig("chamber1", "modbus-chamber", rig.resources["chamber1"], "WATLOW")
        )
    with pytest.raises(PlanError, match="modbus-tcp://host:port"):
        open_instrument(InstrumentConfig("chamber1", "modbus-chamber", "TCPIP0::x::1::SOCKET"))


def test_chamber_unreachable_is_named(rig):
    cfg = InstrumentConfig("chamber9", "modbus-chamber", "modbus-tcp://127.0.0.1:9", timeout_s=0.2)
    with pytest.raises(InstrumentError, match="chamber9.*cannot connect"):
        open_instrument(cfg)


# -- rack: SCPI ------------------------------------------------------------------------------


def test_channel_lists_round_trip():
    assert channel_list([1, 2, 3, 4, 7]) == "(@1:4,7)"
    assert channel_list([5]) == "(@5)"
    assert parse_channel_list("(@1:4,7)") == [1, 2, 3, 4, 7]
    with pytest.raises(ValueError):
        parse_channel_list("1:4")


def _cfg(**options):
    return InstrumentConfig("rack", "lm80-rack", "(adapter)", options={"channels": 8, **options})


def test_rack_dialogue_set_current_and_outputs():
    pairs = [
        ("SOUR:CURR 0.35,(@1:3)", None),
        ("SYST:ERR?", '0,"No error"'),
        ("SOUR:CURR? (@1:3)", "3.500000E-01,3.500000E-01,3.500000E-01"),
        ("OUTP 1,(@1:3)", None),
        ("SYST:ERR?", '0,"No error"'),
        ("MEAS:CURR? (@1:3)", "3.4999E-01,3.5001E-01,0.0"),
        ("STAT:QUES:COND? (@1:3)", "0,0,1"),
    ]
    with expected_protocol(CurrentRack, pairs, config=_cfg()) as rack:
        rack.set_current(0.35, [1, 2, 3])
        rack.output(True, [1, 2, 3])
        assert rack.measure_current([1, 2, 3]) == pytest.approx([0.35, 0.35, 0.0], abs=1e-4)
        assert rack.condition([1, 2, 3]) == [0, 0, OPEN_CIRCUIT]


def test_rack_set_current_read_back_mismatch_is_an_error():
    pairs = [
        ("SOUR:CURR 0.35,(@1)", None),
        ("SYST:ERR?", '0,"No error"'),
        ("SOUR:CURR? (@1)", "3.000000E-01"),
    ]
    with expected_protocol(CurrentRack, pairs, config=_cfg()) as rack:
        with pytest.raises(InstrumentError, match=r"channel\(s\) \[1\] did not take 0.35 A"):
            rack.set_current(0.35, [1])


def test_rack_garbage_and_wrong_count_are_retried_then_named():
    pairs = [
        ("MEAS:CURR? (@1:2)", "\x9c#@!"),
        ("MEAS:CURR? (@1:2)", "0.35"),  # one value for two channels
        ("MEAS:CURR? (@1:2)", "0.35,0.35"),
    ]
    with expected_protocol(CurrentRack, pairs, config=_cfg()) as rack:
        assert rack.measure_current([1, 2]) == [0.35, 0.35]
    bad = [("STAT:QUES:COND? (@1)", "1.5")] * 3
    with expected_protocol(CurrentRack, bad, config=_cfg()) as rack:
        with pytest.raises(InstrumentError, match="non-negative integers"):
            rack.condition([1])


def test_rack_refused_setting_is_an_error():
    pairs = [
        ("OUTP 1,(@1:2)", None),
        ("SYST:ERR?", '-222,"Data out of range"'),
        ("SYST:ERR?", '-221,"Settings conflict"'),
        ("SYST:ERR?", '0,"No error"'),
    ]
    with expected_protocol(CurrentRack, pairs, config=_cfg()) as rack:
        with pytest.raises(
            InstrumentError, match="refused output on: -222 Data out of range; -221"
        ):
            rack.output(True, [1, 2])


def test_rack_refuses_channels_it_does_not_have():
    with expected_protocol(CurrentRack, [], config=_cfg()) as rack:
        with pytest.raises(InstrumentError, match=r"\[9\] do not exist \(1..8\)"):
            rack.output(True, [8, 9])


def test_rack_long_lists_are_split():
    chans = list(range(1, 41))
    pairs = [
        ("OUTP? (@1:32)", ",".join(["1"] * 32)),
        ("OUTP? (@33:40)", ",".join(["0"] * 8)),
    ]
    with expected_protocol(CurrentRack, pairs, config=_cfg(channels=96)) as rack:
        assert rack.outputs(chans) == [True] * 32 + [False] * 8


def test_rack_against_simulator_outage_failure_and_faults(rig):
    rack = _rack(rig)
    try:
        fam = next(iter(rig.world.families))
        for c in (1, 2, 3):
            rig.mount(f"S{c}", family=fam, chamber=1, channel=c, case_temp_c=85, current_a=0.35)
        rack.set_current(0.35, [1, 2, 3])
        rack.output(True, [1, 2, 3])
        rig.world.advance(52 * 3600)  # channel 2 interrupted now
        assert rack.condition([1, 2, 3]) == [0, INTERRUPTED, 0]
        assert rack.measure_current([2]) == [0.0]
        rig.world.advance(200 * 3600)  # channel 3 failed open at 200 h
        assert rack.condition([1, 2, 3]) == [0, 0, OPEN_CIRCUIT]
        assert rack.interruptions(2) == [(1, 50.0, 5.0)]
        assert rack.interruptions(1) == []
        rig.inject("rack", "garbled", 1)
        assert rack.outputs([1]) == [True]
        rig.inject("rack", "timeout", 1)
        assert rack.outputs([1]) == [True]
        rig.inject("rack", "timeout", 5)
        with pytest.raises(InstrumentError, match="rack .*OUTP\\?"):
            rack.outputs([1])
    finally:
        rack.close()


@pytest.mark.parametrize(
    "path",
    sorted(
        (__import__("pathlib").Path(__file__).resolve().parents[1] / "station" / "lm80").glob(
            "*.toml"
        )
    ),
    ids=lambda p: p.name,
)
def test_rig_files_are_valid(path):
    from lightcomp.lm80.rig import load_rig

    rig = load_rig(path)
    assert {"chamber1", "rack", "tc_logger"} <= set(rig.instruments)
    assert rig.chambers == 3 and rig.channels >= 60


def test_rig_file_errors_name_the_file(tmp_path):
    from lightcomp.errors import PlanError
    from lightcomp.lm80.rig import load_rig

    p = tmp_path / "r.toml"
    p.write_text('[rig]\nchambers = 2\n[instruments.chamber1]\ndriver = "modbus-chamber"\n'
                 'resource = "modbus-tcp://h:502"\n')  # fmt: skip
    with pytest.raises(PlanError, match=r"r.toml: missing \[instruments.chamber2\]"):
        load_rig(p)
    p.write_text("[rig]\nchambres = 2\n")
    with pytest.raises(PlanError, match=r"unknown key\(s\) in \[rig\]: \['chambres'\]"):
        load_rig(p)


def test_rack_simulator_speaks_scpi_long_forms_and_queues_errors(rig):
    """The simulated rack is on the shared SCPI tree: long forms, path rule, error queue."""
    from lightcomp.simlab.lm80rig import RackSim

    sim = next(srv.sim for role, srv in rig.servers if role == "rack")
    assert isinstance(sim, RackSim)
    assert sim.handle(":SOURce:CURRent:LEVel 0.2,(@1:2);:SOUR:CURR? (@1:2)") == (
        "+2.000000E-01,+2.000000E-01"
    )
    assert sim.handle("OUTPUT ON,(@2);OUTP? (@1:2)") == "0,1"
    assert sim.handle("OUTP 1,(@9)") is None  # channel 9 of 8
    assert sim.handle("SYST:ERR?") == '-222,"Data out of range"'
    assert sim.handle("SOUR:CURR 11,(@1)") is None
    assert sim.handle("SYST:ERR?").startswith("-222")
    assert sim.handle("SYST:ERR?") == '0,"No error"'


def test_rack_setting_refused_by_the_simulator_is_an_error(rig):
    """A driver configured for more channels than the rack has: the rack's error queue says so."""
    rack = open_instrument(
        instrument_config(
            "rack",
            {
                "driver": "lm80-rack",
                "resource": rig.resources["rack"],
                "timeout_s": 0.5,
                "options": {"channels": 96},
            },
        )
    )
    try:
        with pytest.raises(InstrumentError, match="refused output on: -222"):
            rack.output(True, [8, 9])
        rack.output(True, [1])  # the queue is empty again
        assert rack.outputs([1]) == [True]
    finally:
        rack.close()
