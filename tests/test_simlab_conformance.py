"""Conformance of every simulated instrument to its maker's manual, over the real sockets.

Table-driven: each row is a command line as a programmer would type it from the
manual, and what the instrument answers — a reply matching a pattern, no reply
(checked by a following ``*OPC?``), or an error (checked with the instrument's
own error report: ``SYST:ERR?``, ``:STAT:ERR?``, ``*ESR?``, ``ERxx``, ``ERR``).
Rows run in order on one connection per model (settings build on each other).

Manuals: Keithley Series 2400 SourceMeter User's Manual 2400S-900-01 Rev. K
(§16 common commands, §18 SCPI reference); Keysight E36300 Series Programming
Guide; Yokogawa IM WT310E-17EN (communication commands); Lake Shore Model 218
user's manual ch. 6; Konica Minolta CS-2000 communication specification; the
LCAS-1 line protocol documented in lightcomp.drivers.array_spectrometer.
"""

from __future__ import annotations

import re
import socket
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from lightcomp.simlab import SimLab

ROOT = Path(__file__).resolve().parents[1]
NUM = r"[+-]\d\.\d{6}E[+-]\d\d"  # 2400 number: +1.234560E-03
NUM8 = r"[+-]\d\.\d{8}E[+-]\d\d"  # E36312A number
WTNUM = r"-?\d\.\d{5}E[+-]\d\d"


@dataclass(frozen=True)
class Err:
    """The command is refused with this error code (no reply)."""

    code: int


NOREPLY = None


class Link:
    """A raw TCP client (what a VISA SOCKET session or a serial-over-TCP port sends)."""

    def __init__(self, resource: str, term: str = "\n") -> None:
        m = re.search(r"(?:::|//)([\d.]+)(?:::|:)(\d+)", resource)
        assert m, resource
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=5)
        self.term = term
        self.buf = b""

    def send(self, line: str) -> None:
        self.sock.sendall((line + self.term).encode())

    def readline(self) -> str:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode().rstrip("\r")

    def ask(self, line: str) -> str:
        self.send(line)
        return self.readline()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def lab():
    cfg = tomllib.loads((ROOT / "station" / "sim.toml").read_text())
    cfg["instruments"]["array"] = {"driver": "array-spectrometer", "resource": "x"}
    cfg["instruments"]["psu"] = {"driver": "e36312a", "resource": "x", "options": {"channel": 1}}
    with SimLab.start(cfg, seed=3) as lab:
        yield lab


def run_table(link: Link, rows, error_query: str, *, positive: bool = False, esr: bool = False):
    """Run ``rows``; errors are read with ``error_query`` (``positive``: codes without sign;
    ``esr``: the instrument has no queue, ``*ESR?`` must show the event bit given as code)."""
    clean = "000" if esr else r"[+]?0,.*"
    for command, expect in rows:
        if isinstance(expect, Err):
            link.send(command)
            reply = link.ask(error_query)
            if esr:
                ok = int(reply) & expect.code
            else:
                code = abs(expect.code) if positive else expect.code
                ok = re.match(rf"[+]?{code},", reply) is not None
            assert ok, f"{command!r}: expected error {expect.code}, got {reply!r}"
        elif expect is NOREPLY:
            link.send(command)
            assert link.ask("*OPC?") == "1", f"{command!r} replied"
            reply = link.ask(error_query)
            assert re.fullmatch(clean, reply), f"{command!r} queued an error: {reply!r}"
        else:
            reply = link.ask(command)
            assert re.fullmatch(expect, reply), f"{command!r} -> {reply!r} !~ {expect!r}"


# -- Keithley 2400 (2400S-900-01 Rev. K) ------------------------------------------------------
K2400_ROWS = [
    ("*RST", NOREPLY),  # §16: defaults; output off
    ("*CLS", NOREPLY),
    ("*IDN?", r"KEITHLEY INSTRUMENTS INC\.,MODEL 2400,[^,]+,.+"),
    ("OUTP?", "0"),
    (":SOUR:FUNC?", "VOLT"),  # *RST: V-source
    (":SENS:FUNC?", '"CURR:DC"'),  # *RST: measure current
    (":SENS:VOLT:PROT?", NUM),
    (":SENS:CURR:PROT?", r"\+1\.050000E-04"),
    (":FORM:ELEM?", "VOLT,CURR,RES,TIME,STAT"),
    (":SOURce:FUNCtion:MODE CURRent", NOREPLY),  # long form, optional node
    (":sour:func?", "CURR"),  # any case
    (":SOUR:CURR 0.35", NOREPLY),
    (":SOUR:CURR?", r"\+3\.500000E-01"),  # the read-back the client stalled on
    ("SOURCE1:CURRENT:LEVEL:IMMEDIATE:AMPLITUDE?", r"\+3\.500000E-01"),
    ("CURR?", r"\+3\.500000E-01"),  # SOURce is optional
    (":SOUR:CURR 1.06", Err(-222)),  # ±1.05 A
    (":SOUR:CURR? MAX", r"\+1\.050000E\+00"),
    (":SENS:VOLT:PROT 45", NOREPLY),
    (":SENS:VOLT:PROT?", r"\+4\.500000E\+01"),
    ("VOLT:PROT:LEV?", r"\+4\.500000E\+01"),  # SENSe optional
    (":SENS:VOLT:PROT 211", Err(-222)),
    (":SENS:CURR:NPLC 0.1", NOREPLY),
    (":SENS:VOLT:NPLC?", r"\+1\.000000E-01"),  # one NPLC for all functions
    (":SENS:CURR:NPLC 11", Err(-222)),
    (":SENS:CURR:RANG 0.02", NOREPLY),
    (":SENS:CURR:RANG?", r"\+1\.050000E-01"),  # the range holding 20 mA
    (":SENS:CURR:RANG:AUTO?", "0"),  # a fixed range switches auto off
    (":SOUR:VOLT:RANG:AUTO 0", NOREPLY),
    (":SOUR:VOLT:RANG:AUTO?", "0"),
    (":SOUR:DEL 0.1", NOREPLY),
    (":SOUR:DEL?", r"\+1\.000000E-01"),
    (":SOUR:DEL:AUTO?", "0"),
    (":SOUR:CLE:AUTO?", "0"),
    (":OUTP:SMOD HIMP", NOREPLY),
    (":OUTP:SMOD?", "HIMP"),
    (":ROUT:TERM REAR", NOREPLY),
    (":ROUT:TERM?", "REAR"),
    (":ROUT:TERM FRON", NOREPLY),
    (":SYST:RSEN ON", NOREPLY),
    (":SYST:RSEN?", "1"),
    (":SYST:AZER:STAT ONCE", NOREPLY),
    (":SYST:AZER:STAT?", "1"),
    (":SYST:LFR 50", NOREPLY),
    (":SYST:LFR?", "50"),
    (":SYST:LFR 55", Err(-224)),
    (":DISP:ENAB 0", NOREPLY),
    (":DISP:ENAB?", "0"),
    (":TRIG:COUN 5", NOREPLY),
    (":TRIG:COUN?", "5"),
    (":TRIG:COUN 1", NOREPLY),
    (":ARM:SOUR TIM;:ARM:TIM 0.5", NOREPLY),
    (":ARM:SOUR?", "TIM"),
    (":ARM:TIM?", r"\+5\.000000E-01"),
    (":ARM:SOUR IMM", NOREPLY),
    (":SENS:AVER:COUN 20;:SENS:AVER:TCON MOV", NOREPLY),
    (":SENS:AVER:COUN?;:SENS:AVER:TCON?", "20;MOV"),
    (":READ?", Err(803)),  # output off: no reading
    (":FETC?", Err(-420)),  # nothing measured yet: nothing to say
    (":SENS:FUNC 'VOLT:DC','CURR:DC'", NOREPLY),
    (":SENS:FUNC?", '"VOLT:DC","CURR:DC"'),
    (":SENS:FUNC:STAT? 'VOLT'", "1"),
    ("OUTP ON", NOREPLY),
    ("OUTP?", "1"),
    (":READ?", rf"{NUM},{NUM},\+9\.910000E\+37,{NUM},{NUM}"),  # R not measured: NAN
    (":FETC?", rf"{NUM},{NUM},\+9\.910000E\+37,{NUM},{NUM}"),
    (":FORM:ELEM CURR, VOLT", NOREPLY),
    (":FORM:ELEM?", "VOLT,CURR"),  # replies keep the V, I, R, time, status order
    (":READ?", rf"{NUM},{NUM}"),
    (":FORM:ELEM STAT", NOREPLY),
    (":READ?", NUM),
    (":FORM:ELEM VOLT,CURR,RES,TIME,STAT", NOREPLY),
    (":MEAS:VOLT?", rf"{NUM},{NUM},\+9\.910000E\+37,{NUM},{NUM}"),  # every element
    (":SENS:FUNC?", '"VOLT:DC"'),  # CONFigure:VOLT: that function only
    (":SENS:FUNC:CONC?", "0"),
    (":TRAC:CLE;:TRAC:POIN 3;:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT", NOREPLY),
    (":TRAC:POIN?;:TRAC:FEED?;:TRAC:FEED:CONT?", "3;SENS;NEXT"),
    (":TRAC:DATA?", Err(-230)),  # empty buffer
    (":TRIG:COUN 3;:INIT", NOREPLY),
    (":TRAC:POIN:ACT?;:TRAC:FEED:CONT?", "3;NEV"),  # full: the feed stops
    # after :MEAS:VOLT? only V is measured: I is the programmed source value, R is NAN
    (
        ":TRAC:DATA?",
        ",".join([rf"{NUM},\+3\.5{'0' * 5}E-01,\+9\.91{'0' * 4}E\+37,{NUM},{NUM}"] * 3),
    ),
    (":CALC3:FORM MAX;:CALC3:DATA?", rf"{NUM},\+3\.5{'0' * 5}E-01,\+9\.91{'0' * 4}E\+37"),
    (":STAT:MEAS?", "512"),  # buffer-full event (bit 9)
    (":TRIG:COUN 1;:TRAC:CLE", NOREPLY),
    (":FORM:ELEM BOGUS", Err(-224)),
    (":FORM:DATA REAL", Err(-224)),  # ASCII only in the simulator
    (":BOGus:HEADer 1", Err(-113)),
    (":SOUR:CURRENTS 1", Err(-113)),
    (":SOUR:CURR", Err(-109)),
    ("*ESE 60", NOREPLY),
    ("*ESE?", "60"),
    ("*SRE 32", NOREPLY),
    ("*SRE?", "32"),
    ("*OPC", NOREPLY),
    ("*WAI", NOREPLY),
    ("*TST?", "0"),
    (":SYST:ERR:COUN?", "0"),
    ("*RST", NOREPLY),
    ("OUTP?", "0"),  # *RST: output off
    (":SOUR:CURR?", r"\+0\.000000E\+00"),
    ("*ESE?", "60"),  # *RST keeps the enable registers
]


def test_keithley2400_conformance(lab):
    link = Link(lab.resources["source"])
    try:
        run_table(link, K2400_ROWS, "SYST:ERR?")
    finally:
        link.close()


def test_keithley2400_status_and_error_queue(lab):
    link = Link(lab.resources["source"])
    try:
        link.send("*CLS")
        link.send(":NOPE")
        link.send(":SOUR:VOLT 500")
        assert int(link.ask("*STB?")) & 0x04  # EAV: errors queued
        assert link.ask(":SYST:ERR:COUN?") == "2"
        assert link.ask("*ESR?") == str(0x20 | 0x10)  # CME + EXE
        assert link.ask(":STAT:QUE?").startswith("-113,")  # the same queue, oldest first
        assert link.ask("SYST:ERR?") == '-222,"Data out of range"'
        assert link.ask("SYST:ERR?") == '0,"No error"'
        link.send(":NOPE")
        link.send("*CLS")
        assert link.ask("SYST:ERR?") == '0,"No error"'
        assert link.ask("*ESR?") == "0"
        link.send("*OPC")
        assert link.ask("*ESR?") == "1"
    finally:
        link.close()


def test_keithley2400_settings_persist_across_connections(lab):
    a = Link(lab.resources["source"])
    a.send("*RST;:SOUR:FUNC CURR;:SOUR:CURR 0.123;:SENS:VOLT:PROT 33")
    assert a.ask("*OPC?") == "1"
    a.close()
    b = Link(lab.resources["source"])
    try:
        assert b.ask(":SOUR:CURR?;:SENS:VOLT:PROT?") == "+1.230000E-01;+3.300000E+01"
        b.send("*RST")
    finally:
        b.close()


def test_keithley2400_compliance_in_the_status_word(lab):
    fx, src = Link(lab.resources["fixture"]), Link(lab.resources["source"])
    try:
        assert fx.ask("LOAD B1,LOT-C,LS0-COB-4000") == "OK"
        src.send('*RST;:SENS:FUNC "VOLT","CURR";:SOUR:FUNC CURR;:SOUR:CURR 0.35')
        src.send(":SENS:VOLT:PROT 20;:OUTP ON")  # 20 V is below the board's forward voltage
        v, i, _r, _t, status = (float(x) for x in src.ask(":READ?").split(","))
        assert int(status) & 0x08 and v == pytest.approx(20.0, rel=1e-3) and i < 0.35
        assert src.ask(":SENS:VOLT:PROT:TRIP?") == "1"
        src.send(":SENS:VOLT:PROT 60")
        v, i, _r, _t, status = (float(x) for x in src.ask(":READ?").split(","))
        assert not int(status) & 0x08 and i == pytest.approx(0.35, rel=1e-3) and v < 60
        src.send("*RST")
        assert src.ask("OUTP?") == "0"
    finally:
        fx.ask("UNLOAD")
        fx.close()
        src.close()


# -- Keysight E36312A (E36300 Series Programming Guide) ---------------------------------------
E36312A_ROWS = [
    ("*CLS", NOREPLY),
    ("*RST", NOREPLY),
    ("*IDN?", r"Keysight Technologies,E36312A,[^,]+,.+"),
    ("OUTP? (@1:3)", "0,0,0"),  # *RST: outputs off
    ("VOLT? (@1)", r"\+0\.0+E\+00"),
    ("VOLT 1.5, (@1)", NOREPLY),
    ("VOLT? (@1)", r"\+1\.50000000E\+00"),
    ("SOURce:VOLTage:LEVel:IMMediate:AMPLitude 12,(@2,3)", NOREPLY),
    ("volt? (@1:3)", rf"\+1\.5{'0' * 7}E\+00,\+1\.2{'0' * 7}E\+01,\+1\.2{'0' * 7}E\+01"),
    ("CURR 0.5, (@3)", NOREPLY),
    ("CURR? (@3)", r"\+5\.00000000E-01"),
    ("CURR 2, (@2)", Err(-222)),  # channel 2: 1 A (+3 %)
    ("VOLT 7, (@1)", Err(-222)),  # channel 1: 6 V (+3 %)
    ("VOLT? MAX, (@1)", r"\+6\.18000000E\+00"),
    ("VOLT 1, (@4)", Err(-222)),
    ("INST CH2", NOREPLY),
    ("INST?", "CH2"),
    ("INST:NSEL?", "2"),
    ("VOLT 5", NOREPLY),  # no list: the selected channel
    ("VOLT? (@2)", r"\+5\.00000000E\+00"),
    ("INST:NSEL 1", NOREPLY),
    ("OUTP ON, (@1)", NOREPLY),
    ("OUTP? (@1,2)", "1,0"),
    ("MEAS:VOLT? (@1)", NUM8),
    ("MEASure:SCALar:CURRent:DC? (@1)", NUM8),
    ("MEAS:VOLT? (@2)", r"\+0\.0+E\+00"),  # output off
    ("OUTP 0, (@1)", NOREPLY),
    ("APPL:BOGUS 1", Err(-113)),
    ("VOLT", Err(-109)),
    ("*RST", NOREPLY),
    ("OUTP? (@1)", "0"),
]


def test_e36312a_conformance(lab):
    link = Link(lab.resources["psu"])
    try:
        run_table(link, E36312A_ROWS, "SYST:ERR?")
    finally:
        link.close()


# -- Yokogawa WT310E (IM WT310E-17EN) ---------------------------------------------------------
WT310E_ROWS = [
    ("*CLS", NOREPLY),
    ("*RST", NOREPLY),
    ("*IDN?", r"YOKOGAWA,WT310E,[^,]+,.+"),
    ("*OPT?", r".*G5.*"),
    (":NUM:FORM ASC", NOREPLY),
    (":NUMeric:FORMat?", "ASC"),
    (":NUM:NORM:NUM 3", NOREPLY),
    (":NUM:NUM?", "3"),  # NORMal is optional
    (":NUM:NORM:ITEM1 U,1", NOREPLY),
    (":NUM:ITEM2 I,1", NOREPLY),
    (":numeric:normal:item3 lambda,1", NOREPLY),
    (":NUM:NORM:ITEM1?", "U,1"),
    (":NUM:NORM:ITEM3?", "LAMB,1"),
    (":NUM:NORM:ITEM4?", "NONE"),
    (":NUM:NORM:VAL?", rf"{WTNUM},{WTNUM},{WTNUM}"),
    (":NUM:NORM:ITEM1 BOGUS,1", Err(-224)),
    (":NUM:NORM:NUM 256", Err(-222)),
    (":NUM:LIST:ITEM1 I,1", NOREPLY),
    (":NUM:LIST:ORD 40", NOREPLY),
    (":NUM:LIST:ORD?", "40"),
    (":NUM:LIST:VAL?", ",".join([WTNUM] * 41)),
    (":INP:VOLT:RANG 150", NOREPLY),
    (":INP:VOLT:RANG?", r"1\.50000E\+02"),
    (":INP:VOLT:AUTO?", "0"),
    (":INP:CURR:RANG 0.6", NOREPLY),
    (":INP:CURR:RANG?", r"1\.00000E\+00"),
    (":INP:CURR:RANG 0.4", Err(-222)),
    (":INP:MODE DC", NOREPLY),
    (":INP:MODE?", "DC"),
    (":RATE 0.5", NOREPLY),
    (":RATE?", r"5\.00000E-01"),
    (":STAT:FILT1 FALL", NOREPLY),
    (":STAT:FILT1?", "FALL"),
    (":STAT:EESR?", r"\d+"),
    (":COMM:WAIT 1", NOREPLY),
    (":SYST:ERR?", Err(-113)),  # no SYSTem subsystem on the WT310E
    (":BOGUS", Err(-113)),
]


def test_wt310e_conformance(lab):
    link = Link(lab.resources["power_analyzer"])
    try:
        run_table(link, WT310E_ROWS, ":STAT:ERR?", positive=True)
        # the WT reports the codes as positive numbers
        link.send(":BOGUS")
        assert link.ask(":STAT:ERR?") == '113,"Undefined header"'
        assert link.ask(":STAT:ERR?") == '0,"No error"'
    finally:
        link.close()


# -- Lake Shore 218 (user's manual ch. 6) -----------------------------------------------------
LS218_ROWS = [
    ("*CLS", NOREPLY),
    ("*RST", NOREPLY),
    ("*IDN?", r"LSCI,MODEL218S?,[^,]+,.+"),
    ("CRDG? 1", r"[+-]\d{3}\.\d{3}"),
    ("crdg? 2", r"[+-]\d{3}\.\d{3}"),  # any case
    ("KRDG? 2", r"\+\d{3}\.\d{3}"),
    ("CRDG? 0", ",".join([r"[+-]\d{3}\.\d{3}"] * 8)),
    ("INPUT 5,0", NOREPLY),
    ("INPUT? 5", "0"),
    ("CRDG? 5", r"\+0\.0000"),  # disabled input
    ("INPUT 5,1", NOREPLY),
    ("FILTER 3,1,10,5", NOREPLY),
    ("FILTER? 3", "1,10,05"),
    ("CRDG? 9", Err(0x10)),  # EXE bit 4 (execution error) in *ESR
    ("BOGUS 1", Err(0x20)),  # CME bit 5, no reply
    ("*ESE 32", NOREPLY),
    ("*ESE?", "32"),
    ("*OPC?", "1"),
]


def test_ls218_conformance(lab):
    link = Link(lab.resources["thermo"], term="\r\n")
    try:
        run_table(link, LS218_ROWS, "*ESR?", esr=True)
    finally:
        link.close()


def test_ls218_replies_end_with_crlf(lab):
    link = Link(lab.resources["thermo"], term="\r\n")
    try:
        link.send("*IDN?")
        while b"\n" not in link.buf:
            link.buf += link.sock.recv(4096)
        assert link.buf.endswith(b"\r\n")
    finally:
        link.close()


# -- Konica Minolta CS-2000 (communication specification) -------------------------------------
CS2000_ROWS = [
    ("RMTS,0", "OK00"),
    ("IDDR", "ER20"),  # not in remote mode
    ("RMTS,1", "OK00"),
    ("IDDR", r"OK00,CS-2000A?,\d+,\d+"),
    ("MEDR,0,0,1", "ER05|OK00,0"),  # no data yet (or data of an earlier test)
    ("MEAS,1", r"OK00,\d+"),
    ("MEDR,0,0,1", "ER02"),  # measuring
    ("MEDR,0,0,1", "OK00,0"),
    ("MEDR,1,1,1", r"OK00(,[0-9A-F]{8}){100}"),
    ("MEDR,1,1,4", r"OK00(,[0-9A-F]{8}){101}"),
    ("MEDR,1,1,5", "ER17"),  # parameter error
    ("BOGUS", "ER00"),  # command error
    ("RMTS,0", "OK00"),
]


def test_cs2000_conformance(lab):
    link = Link(lab.resources["spectro"])
    try:
        for command, expect in CS2000_ROWS:
            reply = link.ask(command)
            assert re.fullmatch(expect, reply), f"{command!r} -> {reply[:60]!r}"
    finally:
        link.close()


# -- LCAS-1 array spectrometer (lightcomp.drivers.array_spectrometer) -------------------------
ARRAY_ROWS = [
    ("*IDN?", r"[^,]+,[^,]+,[^,]+,.+"),
    ("INT 20000", "OK"),
    ("INT?", "20000"),
    ("int?", "20000"),
    ("INT 999", r"ERR .*"),
    ("INT x", r"ERR .*"),
    ("SHUT 1", "OK"),
    ("SHUT?", "1"),
    ("SHUT 2", r"ERR .*"),
    ("SHUT 0", "OK"),
    ("SHUT?", "0"),
    ("MAX?", r"\d+"),
    ("WAVE?", r"\d+\.\d{4}(,\d+\.\d{4}){1023}"),
    ("SPEC?", r"\d+(,\d+){1023}"),
    ("BOGUS", r"ERR .*"),
]


def test_array_spectrometer_conformance(lab):
    link = Link(lab.resources["array"])
    try:
        for command, expect in ARRAY_ROWS:
            reply = link.ask(command)
            assert re.fullmatch(expect, reply), f"{command!r} -> {reply[:60]!r}"
    finally:
        link.close()
