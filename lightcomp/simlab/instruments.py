"""Simulated instruments: each answers one command line as its real counterpart does.

Every class turns a received line (terminator stripped) into a reply line (or
``None`` for commands without reply); the transport (``server.py``) adds the
terminator and applies transport faults.  Instrument-level faults
(``saturated``, ``wrong_idn``) are taken here from the shared fault queue.

Protocols served (see the driver modules for the client side):

* ``Keithley2400Sim``: SCPI subset of the Keithley 2400 SourceMeter.
* ``E36312ASim``: SCPI subset of the Keysight E36312A (channel 1 feeds the DUT).
* ``WT310ESim``: Yokogawa WT310E numeric/harmonic/status subset.
* ``Chroma61600Sim``: SCPI subset of the Chroma 61600-series AC source.
* ``CS2000Sim``: Konica Minolta CS-2000 ASCII protocol (``OK00``/``ERxx``).
* ``ArraySpectrometerSim``: the LCAS-1 line protocol of
  :mod:`lightcomp.drivers.array_spectrometer`.
* ``LS218Sim``: Lake Shore 218-style temperature monitor (``CRDG? n``).
* ``FixtureSim``: the simulation control channel (``LOAD``, ``AUX``, ``ADV``...).
"""

from __future__ import annotations

import re
import struct
import threading
from collections import deque

import numpy as np

from lightcomp.simlab import device as dev
from lightcomp.simlab import scpi
from lightcomp.simlab.world import World

TRANSPORT_FAULTS = ("timeout", "garbled", "truncated", "disconnect")
INSTRUMENT_FAULTS = ("saturated", "wrong_idn")
FAULTS = TRANSPORT_FAULTS + INSTRUMENT_FAULTS


_SCPI_EXCEPTIONS = {"NUMBER": "NUM", "NUMERIC": "NUM", "LAMBDA": "LAMB", "ORDER": "ORD"}


def scpi_header(header: str) -> str:
    """Normalise a SCPI header to short form: ``:SOURce:CURRent`` -> ``SOUR:CURR``."""
    out = []
    for node in header.strip().lstrip(":").upper().split(":"):
        m = re.fullmatch(r"([A-Z*]+)(\d*)\??", node)
        if not m:
            out.append(node)
            continue
        word, suffix = m.groups()
        if word in _SCPI_EXCEPTIONS:
            short = _SCPI_EXCEPTIONS[word]
        elif len(word) <= 4 or word.startswith("*"):
            short = word
        else:
            short = word[:3] if word[3] in "AEIOU" else word[:4]
        out.append(short + suffix)
    return ":".join(out) + ("?" if header.strip().endswith("?") else "")


class FaultQueue:
    """Faults waiting to hit the next replies of one instrument."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._q: deque[str] = deque()
        self._skip = 0

    def add(self, fault: str, count: int = 1, after: int = 0) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            self._skip = max(self._skip, after)
            self._q.extend([fault] * count)

    def take(self, kinds: tuple[str, ...]) -> str | None:
        """Pop the next fault if it is one of ``kinds`` (and no skip is pending)."""
        with self._lock:
            if self._q and self._q[0] in kinds:
                if self._skip > 0:
                    self._skip -= 1
                    return None
                return self._q.popleft()
            return None

    def __len__(self) -> int:
        return len(self._q)


class SimInstrument:
    """Base of the simulated instruments."""

    read_termination = "\n"
    write_termination = "\n"
    idn = "LIGHTCOMP,SIM,0,1.0"

    def __init__(self, world: World, faults: FaultQueue | None = None) -> None:
        self.world = world
        self.faults = faults or FaultQueue()
        self.lock = threading.Lock()

    @classmethod
    def from_options(
        cls, world: World, faults: FaultQueue, options: dict | None = None
    ) -> SimInstrument:
        """The simulator for a station's ``[instruments.<role>]`` ``options`` (wiring)."""
        return cls(world, faults)

    def identity(self) -> str:
        if self.faults.take(("wrong_idn",)):
            return "ACME,FAKE-9000,0,0.0"
        return self.idn

    def handle(self, line: str) -> str | None:
        """Answer one received line (``None``: no reply)."""
        with self.lock:
            return self._handle(line)

    def _handle(self, line: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def noisy(self, value: float, rel: float) -> float:
        return float(value * (1.0 + rel * float(self.world.noise())))


NAN = 9.91e37
"""SCPI "not a number" (SCPI-99 Vol. 1 §7.2.1.5): a value that was not measured."""


class ScpiSim(scpi.ScpiDevice, SimInstrument):
    """A simulated instrument speaking SCPI through :mod:`lightcomp.simlab.scpi`.

    New simulators derive from this (command tree, settings read back, error
    queue, status registers); ``_ScpiSim`` below is the older string-matching
    base kept for simulators not yet moved over.
    """


# Older string-matching base (lenient: unknown commands are ignored); kept so the
# simulators built on it keep working until they move to ScpiSim.
class _ScpiSim(SimInstrument):
    """Splits ``;``-joined SCPI commands and dispatches on the short-form header."""

    def _handle(self, line: str) -> str | None:
        replies = []
        for cmd in filter(None, (c.strip() for c in line.split(";"))):
            head, _, arg = cmd.partition(" ")
            reply = self.command(scpi_header(head), arg.strip())
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    def command(self, header: str, arg: str) -> str | None:
        if header == "*IDN?":
            return self.identity()
        if header in ("*RST", "*CLS", "*WAI") or header.startswith(("FORM", "SYST:BEEP")):
            return None
        if header == "*OPC?":
            return "1"
        if header == "SYST:ERR?":
            return '0,"No error"'
        return self.scpi(header, arg)

    def scpi(self, header: str, arg: str) -> str | None:
        return None  # unknown commands are ignored, as a lenient instrument would


# -- Keithley 2400 -------------------------------------------------------------------------
K2400_CURRENT_RANGES = (1.05e-6, 1.05e-5, 1.05e-4, 1.05e-3, 1.05e-2, 1.05e-1, 1.05)
K2400_VOLTAGE_RANGES = (0.21, 2.1, 21.0, 210.0)
K2400_RESISTANCE_RANGES = (2.1, 21.0, 210.0, 2.1e3, 2.1e4, 2.1e5, 2.1e6, 2.1e7, 2.1e8)
K2400_ELEMENTS = ("VOLTage", "CURRent", "RESistance", "TIME", "STATus")
K2400_FUNCTIONS = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}
K2400_OUTPUT_DISABLED = 803
"""Device error +803 "Output disabled": a reading was requested with the output off
(2400 manual, Appendix B error list *(verify the number against the owned manual)*)."""
# Status word bits of a reading (2400 manual §18, FORMat:ELEMents STATus)
K2400_STAT_FRONT, K2400_STAT_COMPLIANCE = 1 << 2, 1 << 3
K2400_STAT_VMEAS, K2400_STAT_IMEAS, K2400_STAT_RMEAS = 1 << 11, 1 << 12, 1 << 13  # (verify)
K2400_STAT_VSOUR, K2400_STAT_ISOUR = 1 << 14, 1 << 15  # (verify)

K2400_MEAS_BFL = 1 << 9
"""Measurement event register bit 9: buffer full (manual §15)."""
K2400_STB_MSB = 0x01
"""Status byte bit 0: measurement summary (manual §15)."""

_ON_OFF_ONCE = scpi.Choice(("ON", "OFF", "ONCE"), aliases=(("1", "ON"), ("0", "OFF")))
_SRC = "[:SOURce[1]]"
_SENS = "[:SENSe[1]]"


class Keithley2400Sim(ScpiSim):
    """Keithley 2400 SourceMeter (source-measure unit feeding the DUT).

    Command subset from the *Series 2400 SourceMeter User's Manual*
    (2400S-900-01 Rev. K, Sept. 2011): §16 common commands (``*IDN?``, ``*RST``,
    ``*CLS``, ``*ESE``, ``*ESR?``, ``*SRE``, ``*STB?``, ``*OPC``, ``*OPC?``, ``*WAI``,
    ``*TST?``), §15 status/error queue (``:SYSTem:ERRor[:NEXT]?``,
    ``:STATus:QUEue[:NEXT]?``), §18 SCPI reference: ``:SOURce`` (FUNCtion,
    CURRent/VOLTage level, RANGe, RANGe:AUTO, DELay, DELay:AUTO, CLEar,
    CLEar:AUTO), ``:SENSe`` (FUNCtion ON/OFF/ALL/CONCurrent, CURRent/VOLTage
    PROTection and its TRIPped?, RANGe, RANGe:AUTO, NPLCycles shared by the
    functions, RESistance MODE/RANGe, AVERage), ``:OUTPut[:STATe]`` and
    ``:OUTPut:SMODe``, ``:FORMat:ELEMents`` (V, I, R, time, status; replies always
    in that order) and ``:FORMat[:DATA] ASCii``, ``:READ?``, ``:INITiate``,
    ``:FETCh?``, ``:MEASure[:<function>]?`` (= ``:CONFigure:<function>`` + ``:READ?``,
    so it returns every ``:FORMat:ELEMents`` element, unmeasured ones 9.91e37),
    ``:CONFigure``, ``:TRIGger``/``:ARM`` COUNt, DELay, SOURce, TIMer, ``:ROUTe:TERMinals``,
    ``:SYSTem`` (AZERo, RSENse, LFRequency, BEEPer, TIME, PRESet), ``:DISPlay:ENABle``,
    ``:TRACe`` (POINts, FEED, FEED:CONTrol, CLEar, DATA?, POINts:ACTual?: the reading
    buffer), ``:CALCulate3`` FORMat/DATA? (buffer statistics) and
    ``:STATus:MEASurement`` (buffer-full bit 9, summarised in status-byte bit 0).

    ``*RST`` defaults (manual §18 tables): V-source at 0 V, output off, compliance
    21 V / 105 µA, auto ranges, NPLC 1, concurrent measurement of current only,
    all five elements.  A reading with the output off raises +803 unless
    ``:SOURce:CLEar:AUTO ON`` (the output then turns on for the reading only).
    """

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,4242424,C30   Mar 17 2006 09:29:29/A02  /K/J"
    SCPI_VERSION = "1996.0"
    SETTINGS = (
        scpi.Setting(
            f"{_SRC}:FUNCtion[:MODE]",
            scpi.Choice(("VOLTage", "CURRent")),
            "VOLT",
            on_set="_push_source",
        ),
        scpi.Setting(
            f"{_SRC}:CURRent[:LEVel][:IMMediate][:AMPLitude]",
            scpi.Num(-1.05, 1.05, 0.0),
            0.0,
            on_set="_push_source",
        ),
        scpi.Setting(
            f"{_SRC}:VOLTage[:LEVel][:IMMediate][:AMPLitude]",
            scpi.Num(-210.0, 210.0, 0.0),
            0.0,
            on_set="_push_source",
        ),
        scpi.Setting(
            f"{_SRC}:CURRent:RANGe[:UPPer]",
            scpi.Num(-1.05, 1.05, 1.05e-4, snap=K2400_CURRENT_RANGES),
            1.05e-4,
            on_set="_manual_src_curr_range",
        ),
        scpi.Setting(f"{_SRC}:CURRent:RANGe:AUTO", scpi.Bool(), True),
        scpi.Setting(
            f"{_SRC}:VOLTage:RANGe[:UPPer]",
            scpi.Num(-210.0, 210.0, 21.0, snap=K2400_VOLTAGE_RANGES),
            21.0,
            on_set="_manual_src_volt_range",
        ),
        scpi.Setting(f"{_SRC}:VOLTage:RANGe:AUTO", scpi.Bool(), True),
        scpi.Setting(f"{_SRC}:DELay", scpi.Num(0.0, 9999.999, 0.0), 0.0, on_set="_manual_delay"),
        scpi.Setting(f"{_SRC}:DELay:AUTO", scpi.Bool(), True),
        scpi.Setting(f"{_SRC}:CLEar:AUTO[:STATe]", scpi.Bool(), False),
        scpi.Setting(
            f"{_SENS}:CURRent[:DC]:PROTection[:LEVel]",
            scpi.Num(-1.05, 1.05, 1.05e-4),
            1.05e-4,
            on_set="_push_source",
        ),
        scpi.Setting(
            f"{_SENS}:VOLTage[:DC]:PROTection[:LEVel]",
            scpi.Num(-210.0, 210.0, 21.0),
            21.0,
            on_set="_push_source",
        ),
        scpi.Setting(
            f"{_SENS}:CURRent[:DC]:RANGe[:UPPer]",
            scpi.Num(-1.05, 1.05, 1.05e-4, snap=K2400_CURRENT_RANGES),
            1.05e-4,
            on_set="_manual_sens_curr_range",
        ),
        scpi.Setting(f"{_SENS}:CURRent[:DC]:RANGe:AUTO", scpi.Bool(), True),
        scpi.Setting(
            f"{_SENS}:VOLTage[:DC]:RANGe[:UPPer]",
            scpi.Num(-210.0, 210.0, 21.0, snap=K2400_VOLTAGE_RANGES),
            21.0,
            on_set="_manual_sens_volt_range",
        ),
        scpi.Setting(f"{_SENS}:VOLTage[:DC]:RANGe:AUTO", scpi.Bool(), True),
        scpi.Setting(
            f"{_SENS}:RESistance:RANGe[:UPPer]",
            scpi.Num(0.0, 2.1e8, 2.1e5, snap=K2400_RESISTANCE_RANGES),
            2.1e5,
            on_set="_manual_sens_res_range",
        ),
        scpi.Setting(f"{_SENS}:RESistance:RANGe:AUTO", scpi.Bool(), True),
        scpi.Setting(f"{_SENS}:RESistance:MODE", scpi.Choice(("MANual", "AUTO")), "MAN"),
        # NPLC is one setting for the three functions (manual §18, SENSe: NPLCycles)
        scpi.Setting(f"{_SENS}:CURRent[:DC]:NPLCycles", scpi.Num(0.01, 10.0, 1.0), 1.0, key="nplc"),
        scpi.Setting(f"{_SENS}:VOLTage[:DC]:NPLCycles", scpi.Num(0.01, 10.0, 1.0), 1.0, key="nplc"),
        scpi.Setting(f"{_SENS}:RESistance:NPLCycles", scpi.Num(0.01, 10.0, 1.0), 1.0, key="nplc"),
        scpi.Setting(f"{_SENS}:FUNCtion:CONCurrent", scpi.Bool(), True),
        scpi.Setting(f"{_SENS}:AVERage[:STATe]", scpi.Bool(), False),
        scpi.Setting(f"{_SENS}:AVERage:TCONtrol", scpi.Choice(("REPeat", "MOVing")), "REP"),
        scpi.Setting(f"{_SENS}:AVERage:COUNt", scpi.Num(1, 100, 10, integer=True), 10),
        scpi.Setting(":OUTPut[1][:STATe]", scpi.Bool(), False, on_set="_push_source"),
        scpi.Setting(
            ":OUTPut[1]:SMODe", scpi.Choice(("HIMPedance", "NORMal", "ZERO", "GUARd")), "NORM"
        ),
        scpi.Setting(":FORMat[:DATA]", scpi.Choice(("ASCii",)), "ASC"),
        scpi.Setting(":ROUTe:TERMinals", scpi.Choice(("FRONt", "REAR")), "FRON"),
        scpi.Setting(":SYSTem:RSENse", scpi.Bool(), False),
        scpi.Setting(
            ":SYSTem:LFRequency",
            scpi.Num(50, 60, 60, integer=True),
            60,
            on_set="_check_line_frequency",
        ),
        scpi.Setting(":SYSTem:LFRequency:AUTO", scpi.Bool(), False),
        scpi.Setting(":SYSTem:BEEPer:STATe", scpi.Bool(), True),
        scpi.Setting(":DISPlay:ENABle", scpi.Bool(), True),
        scpi.Setting(
            ":TRIGger[:SEQuence[1]]:COUNt",
            scpi.Num(1, 2500, 1, integer=True),
            1,
            on_set="_check_counts",
        ),
        scpi.Setting(":TRIGger[:SEQuence[1]]:DELay", scpi.Num(0.0, 999.9999, 0.0), 0.0),
        scpi.Setting(":TRIGger[:SEQuence[1]]:SOURce", scpi.Choice(("IMMediate", "TLINk")), "IMM"),
        scpi.Setting(
            ":ARM[:SEQuence[1]][:LAYer[1]]:COUNt",
            scpi.Num(1, 2500, 1, integer=True),
            1,
            on_set="_check_counts",
        ),
        scpi.Setting(
            ":ARM[:SEQuence[1]][:LAYer[1]]:SOURce",
            scpi.Choice(
                ("IMMediate", "TIMer", "MANual", "BUS", "TLINk", "NSTest", "PSTest", "BSTest")
            ),
            "IMM",
        ),
        scpi.Setting(":ARM[:SEQuence[1]][:LAYer[1]]:TIMer", scpi.Num(0.001, 99999.99, 0.1), 0.1),
        scpi.Setting(
            ":TRIGger[:SEQuence[1]]:OUTPut",
            scpi.Choice(("SOURce", "DELay", "SENSe", "NONE")),
            "NONE",
        ),
        scpi.Setting(
            ":ARM[:SEQuence[1]][:LAYer[1]]:OUTPut", scpi.Choice(("TENTer", "TEXit", "NONE")), "NONE"
        ),
        # §18 TRACe (reading buffer) and CALCulate3 (statistics of the buffer)
        scpi.Setting(":TRACe:POINts", scpi.Num(1, 2500, 100, integer=True), 100),
        scpi.Setting(
            ":TRACe:FEED",
            scpi.Choice(("SENSe", "CALCulate", "CALCulate2"), aliases=(("SENS1", "SENS"),)),
            "SENS",
        ),
        scpi.Setting(":TRACe:FEED:CONTrol", scpi.Choice(("NEXT", "NEVer")), "NEV"),
        scpi.Setting(
            ":CALCulate3:FORMat",
            scpi.Choice(("MEAN", "SDEViation", "MAXimum", "MINimum", "PKPK")),
            "MEAN",
        ),
        scpi.Setting(":TRIGger[:SEQuence[1]]:ILINe", scpi.Num(1, 4, 1, integer=True), 1),
        scpi.Setting(":TRIGger[:SEQuence[1]]:OLINe", scpi.Num(1, 4, 2, integer=True), 2),
        scpi.Setting(":ARM[:SEQuence[1]][:LAYer[1]]:ILINe", scpi.Num(1, 4, 1, integer=True), 1),
        scpi.Setting(":ARM[:SEQuence[1]][:LAYer[1]]:OLINe", scpi.Num(1, 4, 2, integer=True), 2),
    )

    def __init__(self, world: World, faults: FaultQueue | None = None) -> None:
        self.buffer: list[dict[str, float]] = []
        self.meas_event = 0
        self.meas_enable = 0
        self.functions: set[str] = {"CURR"}
        self.elements: tuple[str, ...] = tuple(scpi.mnemonic_forms(e)[0] for e in K2400_ELEMENTS)
        self.last_readings: list[dict[str, float]] | None = None
        self.time_zero = 0.0
        self.azero: str = "ON"
        super().__init__(world, faults)

    def reset(self) -> None:
        self.functions = {"CURR"}
        self.elements = tuple(scpi.mnemonic_forms(e)[0] for e in K2400_ELEMENTS)
        self.last_readings = None
        self.azero = "ON"
        super().reset()

    # -- settings side effects ---------------------------------------------------------
    def _push_source(self, _value: object = None) -> None:
        v = self.values
        mode = "current" if v[f"{_SRC}:FUNCtion[:MODE]"] == "CURR" else "voltage"
        self.world.update_source(
            mode=mode,
            current_a=float(v[f"{_SRC}:CURRent[:LEVel][:IMMediate][:AMPLitude]"]),
            voltage_v=float(v[f"{_SRC}:VOLTage[:LEVel][:IMMediate][:AMPLitude]"]),
            voltage_limit_v=abs(float(v[f"{_SENS}:VOLTage[:DC]:PROTection[:LEVel]"])),
            current_limit_a=abs(float(v[f"{_SENS}:CURRent[:DC]:PROTection[:LEVel]"])),
            output=bool(v[":OUTPut[1][:STATe]"]),
        )

    def _auto_off(self, pattern: str) -> None:
        if pattern in self.values and self._settings_ready:
            self.values[pattern] = False

    _settings_ready = False

    def _manual_src_curr_range(self, _v: object) -> None:
        self._auto_off(f"{_SRC}:CURRent:RANGe:AUTO")

    def _manual_src_volt_range(self, _v: object) -> None:
        self._auto_off(f"{_SRC}:VOLTage:RANGe:AUTO")

    def _manual_sens_curr_range(self, _v: object) -> None:
        self._auto_off(f"{_SENS}:CURRent[:DC]:RANGe:AUTO")

    def _manual_sens_volt_range(self, _v: object) -> None:
        self._auto_off(f"{_SENS}:VOLTage[:DC]:RANGe:AUTO")

    def _manual_sens_res_range(self, _v: object) -> None:
        self._auto_off(f"{_SENS}:RESistance:RANGe:AUTO")

    def _manual_delay(self, _v: object) -> None:
        self._auto_off(f"{_SRC}:DELay:AUTO")

    def _check_line_frequency(self, value: object) -> None:
        if int(value) not in (50, 60):  # type: ignore[call-overload]
            raise scpi.ScpiError(-224, "line frequency is 50 or 60")

    def _check_counts(self, _v: object) -> None:
        v = self.values
        trig, arm = v[":TRIGger[:SEQuence[1]]:COUNt"], v[":ARM[:SEQuence[1]][:LAYer[1]]:COUNt"]
        if trig * arm > 2500:  # manual §18 TRIGger:COUNt: arm x trigger count <= 2500
            raise scpi.ScpiError(-221, "arm count x trigger count > 2500")

    def _reset_settings(self) -> None:
        self._settings_ready = False
        super()._reset_settings()
        self._settings_ready = True

    # -- measurement ---------------------------------------------------------------------
    def _one_reading(self) -> dict[str, float]:
        w, v = self.world, self.values
        volts, amps, comp = w.dc_terminals()
        volts, amps = self.noisy(volts, 2e-5), self.noisy(amps, 2e-5)
        src_curr = v[f"{_SRC}:FUNCtion[:MODE]"] == "CURR"
        on = self.functions
        status = (K2400_STAT_FRONT if v[":ROUTe:TERMinals"] == "FRON" else 0) | (
            K2400_STAT_COMPLIANCE if comp else 0
        )
        status |= K2400_STAT_ISOUR if src_curr else K2400_STAT_VSOUR
        for name, bit in (
            ("VOLT", K2400_STAT_VMEAS),
            ("CURR", K2400_STAT_IMEAS),
            ("RES", K2400_STAT_RMEAS),
        ):
            status |= bit if name in on else 0
        v_src = float(v[f"{_SRC}:VOLTage[:LEVel][:IMMediate][:AMPLitude]"])
        i_src = float(v[f"{_SRC}:CURRent[:LEVel][:IMMediate][:AMPLitude]"])
        # §18 FORMat:ELEMents: the measurement, else the programmed source value, else NAN
        volt = volts if "VOLT" in on else (NAN if src_curr else v_src)
        curr = amps if "CURR" in on else (i_src if src_curr else NAN)
        res = NAN
        if "RES" in on:
            res = volts / amps if abs(amps) > 1e-12 else 9.9e37  # overflow reads +9.9E37
        return {
            "VOLT": volt,
            "CURR": curr,
            "RES": res,
            "TIME": w.now() - self.time_zero,
            "STAT": float(status),
        }

    def _acquire(self) -> list[dict[str, float]]:
        """``:INITiate``: arm count x trigger count readings (output must be on)."""
        v = self.values
        auto = bool(v[f"{_SRC}:CLEar:AUTO[:STATe]"])
        if not v[":OUTPut[1][:STATe]"]:
            if not auto:
                raise scpi.ScpiError(K2400_OUTPUT_DISABLED, "Output disabled")
            self.world.update_source(output=True)
        try:
            n = int(v[":TRIGger[:SEQuence[1]]:COUNt"]) * int(
                v[":ARM[:SEQuence[1]][:LAYer[1]]:COUNt"]
            )
            readings = [self._one_reading() for _ in range(n)]
        finally:
            if auto:  # auto output-off: the output turns off after the reading
                v[":OUTPut[1][:STATe]"] = False
                self.world.update_source(output=False)
        self.last_readings = readings
        if v[":TRACe:FEED:CONTrol"] == "NEXT":
            size = int(v[":TRACe:POINts"])
            self.buffer.extend(readings[: size - len(self.buffer)])
            if len(self.buffer) >= size:  # buffer full: BFL event, feed stops (§18 TRACe)
                self.meas_event |= K2400_MEAS_BFL
                v[":TRACe:FEED:CONTrol"] = "NEV"
        return readings

    def _format(self, readings: list[dict[str, float]]) -> str:
        order = [e for e in ("VOLT", "CURR", "RES", "TIME", "STAT") if e in self.elements]
        return ",".join(f"{r[e]:+.6E}" for r in readings for e in order)

    @scpi.command(":READ?")
    def _read(self, call: scpi.Call) -> str:
        call.no_args()
        return self._format(self._acquire())

    @scpi.command(":INITiate[:IMMediate]")
    def _init(self, call: scpi.Call) -> None:
        self._acquire()

    @scpi.command(":FETCh?")
    def _fetch(self, call: scpi.Call) -> str | None:
        return None if self.last_readings is None else self._format(self.last_readings)

    @scpi.command(":ABORt")
    def _abort(self, call: scpi.Call) -> None:
        return None

    @scpi.command(":TRIGger:CLEar")
    def _trig_clear(self, call: scpi.Call) -> None:
        return None

    def _configure(self, func: str | None) -> None:
        """``:CONFigure:<function>`` (manual §18): only that function, output on."""
        if func is not None:
            self.functions = {func}
            self.values[f"{_SENS}:FUNCtion:CONCurrent"] = False
        self.values[":OUTPut[1][:STATe]"] = True
        self._push_source()

    @scpi.command(":CONFigure:CURRent[:DC]")
    def _conf_curr(self, call: scpi.Call) -> None:
        self._configure("CURR")

    @scpi.command(":CONFigure:VOLTage[:DC]")
    def _conf_volt(self, call: scpi.Call) -> None:
        self._configure("VOLT")

    @scpi.command(":CONFigure:RESistance")
    def _conf_res(self, call: scpi.Call) -> None:
        self._configure("RES")

    @scpi.command(":CONFigure?")
    def _conf_q(self, call: scpi.Call) -> str:
        return ",".join(K2400_FUNCTIONS[f] for f in ("VOLT", "CURR", "RES") if f in self.functions)

    @scpi.command(":MEASure:CURRent[:DC]?")
    def _meas_curr(self, call: scpi.Call) -> str:
        self._configure("CURR")
        return self._format(self._acquire())

    @scpi.command(":MEASure:VOLTage[:DC]?")
    def _meas_volt(self, call: scpi.Call) -> str:
        self._configure("VOLT")
        return self._format(self._acquire())

    @scpi.command(":MEASure:RESistance?")
    def _meas_res(self, call: scpi.Call) -> str:
        self._configure("RES")
        return self._format(self._acquire())

    @scpi.command(":MEASure?")
    def _meas(self, call: scpi.Call) -> str:
        self._configure(None)
        return self._format(self._acquire())

    # -- sense functions -----------------------------------------------------------------
    def _function_names(self, call: scpi.Call) -> list[str]:
        names = []
        for arg in call.args:
            word = arg.strip().strip("'\"").upper().removesuffix(":DC")
            name = scpi.match_keyword(word, ("VOLTage", "CURRent", "RESistance"))
            if name is None:
                raise scpi.ScpiError(-224, arg)
            names.append(scpi.mnemonic_forms(name)[0])
        if not names:
            raise scpi.ScpiError(-109)
        return names

    @scpi.command(f"{_SENS}:FUNCtion[:ON]|?")
    def _func_on(self, call: scpi.Call) -> str | None:
        if call.query:
            return ",".join(
                K2400_FUNCTIONS[f] for f in ("VOLT", "CURR", "RES") if f in self.functions
            )
        names = self._function_names(call)
        if self.values[f"{_SENS}:FUNCtion:CONCurrent"]:
            self.functions |= set(names)
        else:
            self.functions = {names[-1]}
        return None

    @scpi.command(f"{_SENS}:FUNCtion:OFF|?")
    def _func_off(self, call: scpi.Call) -> str | None:
        if call.query:
            return ",".join(
                K2400_FUNCTIONS[f] for f in ("VOLT", "CURR", "RES") if f not in self.functions
            )
        self.functions -= set(self._function_names(call))
        return None

    @scpi.command(f"{_SENS}:FUNCtion[:ON]:ALL")
    def _func_all(self, call: scpi.Call) -> None:
        self.functions = {"VOLT", "CURR", "RES"}
        self.values[f"{_SENS}:FUNCtion:CONCurrent"] = True

    @scpi.command(f"{_SENS}:FUNCtion:OFF:ALL")
    def _func_off_all(self, call: scpi.Call) -> None:
        self.functions = set()

    @scpi.command(f"{_SENS}:FUNCtion[:ON]:COUNt?")
    def _func_count(self, call: scpi.Call) -> str:
        return str(len(self.functions))

    @scpi.command(f"{_SENS}:FUNCtion:STATe?")
    def _func_state(self, call: scpi.Call) -> str:
        (name,) = self._function_names(call)
        return "1" if name in self.functions else "0"

    @scpi.command(f"{_SENS}:CURRent[:DC]:PROTection:TRIPped?")
    def _curr_tripped(self, call: scpi.Call) -> str:
        _, _, comp = self.world.dc_terminals()
        return "1" if comp and self.values[f"{_SRC}:FUNCtion[:MODE]"] == "VOLT" else "0"

    @scpi.command(f"{_SENS}:VOLTage[:DC]:PROTection:TRIPped?")
    def _volt_tripped(self, call: scpi.Call) -> str:
        _, _, comp = self.world.dc_terminals()
        return "1" if comp and self.values[f"{_SRC}:FUNCtion[:MODE]"] == "CURR" else "0"

    # -- format, source, system ----------------------------------------------------------
    @scpi.command(":FORMat:ELEMents[:SENSe[1]]|?")
    def _elements(self, call: scpi.Call) -> str | None:
        if call.query:
            return ",".join(self.elements)
        chosen = set()
        for arg in call.args:
            name = scpi.match_keyword(arg, K2400_ELEMENTS)
            if name is None:
                raise scpi.ScpiError(-224 if arg else -109, arg)
            chosen.add(scpi.mnemonic_forms(name)[0])
        if not chosen:
            raise scpi.ScpiError(-109)
        self.elements = tuple(e for e in ("VOLT", "CURR", "RES", "TIME", "STAT") if e in chosen)
        return None

    @scpi.command(f"{_SRC}:CLEar[:IMMediate]")
    def _src_clear(self, call: scpi.Call) -> None:
        self.values[":OUTPut[1][:STATe]"] = False
        self._push_source()

    @scpi.command(":SYSTem:AZERo[:STATe]|?")
    def _azero(self, call: scpi.Call) -> str | None:
        if call.query:
            return "0" if self.azero == "OFF" else "1"
        value = call.arg(0, _ON_OFF_ONCE)
        if value != "ONCE":  # ONCE: one zero now, the state is kept (manual §18 SYSTem)
            self.azero = value
        return None

    @scpi.command(":SYSTem:BEEPer[:IMMediate]")
    def _beep(self, call: scpi.Call) -> None:
        call.no_args(2)
        call.arg(0, scpi.Num(65.0, 2e6))
        call.arg(1, scpi.Num(0.0, 7.9))

    @scpi.command(":SYSTem:TIME?")
    def _sys_time(self, call: scpi.Call) -> str:
        return self.format_number(self.world.now() - self.time_zero)

    @scpi.command(":SYSTem:TIME:RESet")
    def _sys_time_reset(self, call: scpi.Call) -> None:
        self.time_zero = self.world.now()

    @scpi.command(":SYSTem:PRESet")
    def _preset(self, call: scpi.Call) -> None:
        self.reset()

    @scpi.command(":SYSTem:VERSion?")
    def _version(self, call: scpi.Call) -> str:
        return str(self.SCPI_VERSION)

    @scpi.command(":SYSTem:ERRor:COUNt?")
    def _err_count(self, call: scpi.Call) -> str:
        return str(len(self.errors))

    @scpi.command(":STATus:QUEue[:NEXT]?")
    def _stat_queue(self, call: scpi.Call) -> str:
        return self._error_next(call)

    @scpi.command(":STATus:PRESet")
    def _stat_preset(self, call: scpi.Call) -> None:
        self.meas_enable = 0  # SCPI-99 §20.7: enable registers of the device cleared

    @scpi.command(":STATus:MEASurement:ENABle|?")
    def _meas_enable(self, call: scpi.Call) -> str | None:
        if call.query:
            return str(self.meas_enable)
        self.meas_enable = int(call.arg(0, scpi.Num(0, 65535, 0, integer=True)))
        return None

    @scpi.command(":STATus:MEASurement[:EVENt]?")
    def _meas_event_q(self, call: scpi.Call) -> str:
        value, self.meas_event = self.meas_event, 0
        return str(value)

    @scpi.command(":STATus:MEASurement:CONDition?")
    def _meas_condition(self, call: scpi.Call) -> str:
        full = len(self.buffer) >= int(self.values[":TRACe:POINts"])
        return str(K2400_MEAS_BFL if full else 0)

    def clear_events(self) -> None:
        self.meas_event = 0

    @scpi.command(":TRACe:CLEar")
    def _trace_clear(self, call: scpi.Call) -> None:
        self.buffer = []
        self.meas_event &= ~K2400_MEAS_BFL

    @scpi.command(":TRACe:POINts:ACTual?")
    def _trace_actual(self, call: scpi.Call) -> str:
        return str(len(self.buffer))

    @scpi.command(":TRACe:DATA?")
    def _trace_data(self, call: scpi.Call) -> str:
        if not self.buffer:
            raise scpi.ScpiError(-230, "buffer empty")  # (verify the 2400's code)
        return self._format(self.buffer)

    @scpi.command(":CALCulate3:DATA?")
    def _calc3_data(self, call: scpi.Call) -> str:
        """Statistic of the buffer for each of V, I, R in :FORM:ELEM (§18 CALCulate3)."""
        if not self.buffer:
            raise scpi.ScpiError(-230, "buffer empty")
        kind = self.values[":CALCulate3:FORMat"]
        out = []
        for e in ("VOLT", "CURR", "RES"):
            if e not in self.elements:
                continue
            x = np.array([r[e] for r in self.buffer])
            if kind == "MEAN":
                value = x.mean()
            elif kind == "SDEV":
                value = x.std(ddof=1) if x.size > 1 else 0.0  # sample deviation (verify)
            elif kind == "MAX":
                value = x.max()
            elif kind == "MIN":
                value = x.min()
            else:
                value = x.max() - x.min()
            out.append(f"{value:+.6E}")
        return ",".join(out)

    @scpi.command(":SYSTem:LOCal")
    def _local(self, call: scpi.Call) -> None:
        return None

    @scpi.command(":SYSTem:REMote")
    def _remote(self, call: scpi.Call) -> None:
        return None

    def device_status_bits(self) -> int:
        # bit 0 MSB: measurement event summary (manual §15, status byte)
        return K2400_STB_MSB if self.meas_event & self.meas_enable else 0


# -- Keysight E36312A ----------------------------------------------------------------------
E36312A_LIMITS = {1: (6.18, 5.15), 2: (25.75, 1.03), 3: (25.75, 1.03)}
"""Programmable maximum (V, A) per channel: 6 V/5 A and 2 x 25 V/1 A, +3 % (E36300 data sheet)."""
E36312A_RST_CURRENT = {1: 5.0, 2: 1.0, 3: 1.0}
"""Current setting after ``*RST`` per channel, A *(verify against the programming guide)*."""


class E36312ASim(ScpiSim):
    """Keysight E36312A triple supply; the DUT is wired to channel ``dut_channel``.

    Command subset from the *Keysight E36300 Series Programming Guide*
    (9018-04577), "SCPI Command Reference": ``[SOURce:]VOLTage[:LEVel][:IMMediate]
    [:AMPLitude]`` and ``[SOURce:]CURRent[...]`` with ``MIN|MAX|DEF`` and an
    optional ``(@chanlist)``, their queries (one value per listed channel),
    ``OUTPut[:STATe]`` (per channel), ``INSTrument[:SELect] CH1|CH2|CH3`` and
    ``INSTrument:NSELect 1..3`` (the channel used without a list),
    ``MEASure[:SCALar]:VOLTage[:DC]?`` / ``CURRent[:DC]?``, ``SYSTem:ERRor?``,
    ``SYSTem:VERSion?`` and the IEEE 488.2 common commands.  Numbers are answered
    as ``+1.50000000E+00`` *(verify the digit count on the owned unit)*.  ``*RST``
    switches the outputs off and sets 0 V.  Channels not wired to the DUT see an
    open circuit.
    """

    idn = "Keysight Technologies,E36312A,MY12345678,2.1.0-1.0.4-1.12"
    NUMBER_FORMAT = "{:+.8E}"
    ERROR_FORMAT = '{code:+d},"{message}"'

    def __init__(
        self, world: World, faults: FaultQueue | None = None, *, dut_channel: int = 1
    ) -> None:
        self.dut_channel = dut_channel
        self.selected = 1
        self.channels = {
            n: {"volt": 0.0, "curr": E36312A_RST_CURRENT[n], "outp": False} for n in E36312A_LIMITS
        }
        super().__init__(world, faults)

    @classmethod
    def from_options(
        cls, world: World, faults: FaultQueue, options: dict | None = None
    ) -> E36312ASim:
        """The DUT hangs on the channel the station's driver uses (``options.channel``)."""
        return cls(world, faults, dut_channel=int((options or {}).get("channel", 1)))

    def reset(self) -> None:
        super().reset()
        self.selected = 1
        for n, ch in self.channels.items():
            ch.update(volt=0.0, curr=E36312A_RST_CURRENT[n], outp=False)
        self._push(self.dut_channel)

    def _reset_settings(self) -> None:
        super()._reset_settings()
        if hasattr(self, "world"):
            self._push(self.dut_channel)

    def _push(self, channel: int) -> None:
        if channel != self.dut_channel:
            return
        ch = self.channels[channel]
        self.world.update_source(
            mode="voltage", voltage_v=ch["volt"], current_limit_a=ch["curr"], output=ch["outp"]
        )

    def _chanlist(self, call: scpi.Call, index: int) -> list[int]:
        if len(call.args) <= index:
            return [self.selected]
        chans = scpi.parse_channels(call.args[index])
        for c in chans:
            if c not in self.channels:
                raise scpi.ScpiError(-222, f"channel {c}")
        call.no_args(index + 1)
        return chans

    def _level(self, call: scpi.Call, key: str, limit_index: int) -> str | None:
        if call.query:
            # VOLT? [MIN|MAX] [, (@list)]
            first = call.args[0] if call.args else ""
            special = first and not first.startswith("(")
            chans = self._chanlist(call, 1 if special else 0)
            out = []
            for c in chans:
                hi = E36312A_LIMITS[c][limit_index]
                value = scpi.Num(0.0, hi, 0.0).special(first) if special else self.channels[c][key]
                out.append(self.format_number(value))
            return ",".join(out)
        chans = self._chanlist(call, 1)
        for c in chans:  # all-or-nothing: check every channel before changing any
            hi = E36312A_LIMITS[c][limit_index]
            default = 0.0 if key == "volt" else E36312A_RST_CURRENT[c]
            value = call.arg(0, scpi.Num(0.0, hi, default))
            self.channels[c][key] = value
        for c in chans:
            self._push(c)
        return None

    @scpi.command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]|?")
    def _volt(self, call: scpi.Call) -> str | None:
        return self._level(call, "volt", 0)

    @scpi.command("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]|?")
    def _curr(self, call: scpi.Call) -> str | None:
        return self._level(call, "curr", 1)

    @scpi.command(":OUTPut[:STATe]|?")
    def _outp(self, call: scpi.Call) -> str | None:
        if call.query:
            return ",".join(
                "1" if self.channels[c]["outp"] else "0" for c in self._chanlist(call, 0)
            )
        on = call.arg(0, scpi.Bool())
        chans = self._chanlist(call, 1)
        for c in chans:
            self.channels[c]["outp"] = on
            self._push(c)
        return None

    @scpi.command(":INSTrument[:SELect]|?")
    def _inst(self, call: scpi.Call) -> str | None:
        if call.query:
            return f"CH{self.selected}"
        name = call.arg(0, scpi.Choice(("CH1", "CH2", "CH3")))
        self.selected = int(name[-1])
        return None

    @scpi.command(":INSTrument:NSELect|?")
    def _nsel(self, call: scpi.Call) -> str | None:
        if call.query:
            return str(self.selected)
        self.selected = int(call.arg(0, scpi.Num(1, 3, 1, integer=True)))
        return None

    def _measure(self, call: scpi.Call, index: int) -> str:
        out = []
        for c in self._chanlist(call, 0):
            ch = self.channels[c]
            if c == self.dut_channel:
                v, i, _ = self.world.dc_terminals()
            else:  # open circuit
                v, i = (ch["volt"] if ch["outp"] else 0.0), 0.0
            out.append(self.format_number(self.noisy((v, i)[index], 5e-5)))
        return ",".join(out)

    @scpi.command(":MEASure[:SCALar]:VOLTage[:DC]?")
    def _meas_volt(self, call: scpi.Call) -> str:
        return self._measure(call, 0)

    @scpi.command(":MEASure[:SCALar]:CURRent[:DC]?")
    def _meas_curr(self, call: scpi.Call) -> str:
        return self._measure(call, 1)

    @scpi.command(":SYSTem:VERSion?")
    def _version(self, call: scpi.Call) -> str:
        return str(self.SCPI_VERSION)


# -- Yokogawa WT310E -----------------------------------------------------------------------
WT_NAN = 9.91e37
WT_FUNCTIONS = ("U", "I", "P", "S", "Q", "LAMBda", "PHI", "FU", "FI", "UTHD", "ITHD", "NONE")
WT_VOLTAGE_RANGES = (15.0, 30.0, 60.0, 150.0, 300.0, 600.0)
WT_CURRENT_RANGES = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0)


class WT310ESim(ScpiSim):
    """Yokogawa WT310E with the /G5 harmonics option (element 1 only).

    Command subset from the *WT310E/WT310EH/WT332E/WT333E User's Manual,
    Communication Interface* (IM WT310E-17EN), chapter 6 "Commands":
    ``:NUMeric:FORMat`` (ASCii only), ``:NUMeric[:NORMal]:NUMber``,
    ``:NUMeric[:NORMal]:ITEM<x> <function>,<element>`` and queries,
    ``:NUMeric[:NORMal]:VALue?``, ``:NUMeric:LIST:ITEM<x>``, ``:NUMeric:LIST:ORDer``,
    ``:NUMeric:LIST:VALue?``, ``:INPut:VOLTage|CURRent:RANGe`` and ``:AUTO``,
    ``:INPut:MODE``, ``:RATE``, ``:STATus:EESR?`` (read and clear),
    ``:STATus:FILTer<x>``, ``:STATus:ERRor?``, ``:COMMunicate:WAIT`` and the common
    commands incl. ``*OPT?``.  The error queue is read with ``:STATus:ERRor?``
    and reports positive codes (``113,"Undefined header"``) *(verify)*; the
    instrument has no ``SYSTem`` subsystem, so ``:SYST:ERR?`` is undefined.
    Numeric data are ``{:.5E}`` *(verify the ASCII digit count)*; "no data" is 9.91E+37.
    """

    idn = "YOKOGAWA,WT310E,C3A123456,F1.03"
    NUMBER_FORMAT = "{:.5E}"
    ERROR_QUERY = ":STATus:ERRor"
    ERROR_FORMAT = '{abs_code},"{message}"'
    SETTINGS = (
        scpi.Setting(":NUMeric:FORMat", scpi.Choice(("ASCii",)), "ASC"),
        scpi.Setting(":NUMeric[:NORMal]:NUMber", scpi.Num(1, 255, 10, integer=True), 10),
        scpi.Setting(":NUMeric:LIST:ORDer", scpi.Num(1, 50, 50, integer=True), 50),
        scpi.Setting(":NUMeric:LIST:SELect", scpi.Choice(("EVEN", "ODD", "ALL")), "ALL"),
        scpi.Setting(
            ":INPut:VOLTage:RANGe",
            scpi.Num(15.0, 600.0, 600.0, snap=WT_VOLTAGE_RANGES),
            600.0,
            on_set="_manual_voltage_range",
        ),
        scpi.Setting(":INPut:VOLTage:AUTO", scpi.Bool(), True),
        scpi.Setting(
            ":INPut:CURRent:RANGe",
            scpi.Num(0.5, 20.0, 20.0, snap=WT_CURRENT_RANGES),
            20.0,
            on_set="_manual_current_range",
        ),
        scpi.Setting(":INPut:CURRent:AUTO", scpi.Bool(), True),
        scpi.Setting(":INPut:MODE", scpi.Choice(("RMS", "VMEan", "DC")), "RMS"),
        scpi.Setting(":RATE", scpi.Num(0.1, 5.0, 0.25), 0.25),
        scpi.Setting(":HOLD", scpi.Bool(), False),
        scpi.Setting(":HARMonics:ORDer", scpi.Num(1, 50, 50, integer=True), 50),
        scpi.Setting(":COMMunicate:HEADer", scpi.Choice(("OFF",), aliases=(("0", "OFF"),)), "OFF"),
    )

    def __init__(self, world: World, faults: FaultQueue | None = None) -> None:
        self.items: dict[int, tuple[str, int]] = {}
        self.list_items: dict[int, tuple[str, int]] = {1: ("I", 1)}
        self.filters: dict[int, str] = {}
        self.eesr = 0
        super().__init__(world, faults)

    def reset(self) -> None:
        super().reset()
        self.items, self.list_items, self.filters = {}, {1: ("I", 1)}, {}

    def _manual_voltage_range(self, _v: object) -> None:
        self.values[":INPut:VOLTage:AUTO"] = False

    def _manual_current_range(self, _v: object) -> None:
        self.values[":INPut:CURRent:AUTO"] = False

    def _values(self) -> dict[str, float]:
        ac = self.world.ac_input()
        if ac is None:
            v, i, _ = self.world.dc_terminals()
            return {
                "U": v,
                "I": i,
                "P": v * i,
                "S": v * i,
                "Q": 0.0,
                "LAMB": 1.0 if i > 0 else WT_NAN,
            }
        return {k: self.noisy(val, 1e-4) for k, val in ac.items() if k != "harmonics"}

    def _item(self, call: scpi.Call, table: dict[int, tuple[str, int]], top: int) -> str | None:
        n = call.suffix
        if not 1 <= n <= top:
            raise scpi.ScpiError(-114, f"item {n}")
        if call.query:
            func, elem = table.get(n, ("NONE", 1))
            return "NONE" if func == "NONE" else f"{func},{elem}"
        func = scpi.match_keyword(call.arg(0), WT_FUNCTIONS)
        if func is None:
            raise scpi.ScpiError(-224, call.args[0])
        short = scpi.mnemonic_forms(func)[0]
        if short == "NONE":
            table.pop(n, None)
            return None
        elem = int(call.arg(1, scpi.Num(1, 1, 1, integer=True), optional=True) or 1)
        table[n] = (short, elem)
        return None

    @scpi.command(":NUMeric[:NORMal]:ITEM<n>|?")
    def _norm_item(self, call: scpi.Call) -> str | None:
        return self._item(call, self.items, 255)

    @scpi.command(":NUMeric:LIST:ITEM<n>|?")
    def _list_item(self, call: scpi.Call) -> str | None:
        return self._item(call, self.list_items, 32)

    @scpi.command(":NUMeric[:NORMal]:VALue?")
    def _norm_value(self, call: scpi.Call) -> str:
        vals = self._values()
        count = int(self.values[":NUMeric[:NORMal]:NUMber"])
        picks = range(1, count + 1)
        if call.args:
            picks = [int(call.arg(0, scpi.Num(1, 255, 1, integer=True)))]
        return ",".join(
            self.format_number(vals.get(self.items.get(n, ("NONE", 1))[0], WT_NAN)) for n in picks
        )

    @scpi.command(":NUMeric:LIST:VALue?")
    def _list_value(self, call: scpi.Call) -> str:
        n = int(self.values[":NUMeric:LIST:ORDer"])
        ac = self.world.ac_input()
        if ac is None or self.list_items.get(1, ("NONE", 1))[0] != "I":
            return ",".join([self.format_number(WT_NAN)] * (n + 1))
        h = ac["harmonics"][:n] * (1 + 1e-4 * np.asarray(self.world.noise(n)))
        return ",".join(self.format_number(v) for v in [ac["I"], *h])

    @scpi.command(":STATus:EESR?")
    def _eesr(self, call: scpi.Call) -> str:
        # bit 0 UPD: a data update happened since the last read (always, in the simulation)
        value, self.eesr = self.eesr | 1, 0
        return str(value)

    @scpi.command(":STATus:FILTer<n>|?")
    def _filter(self, call: scpi.Call) -> str | None:
        if not 1 <= call.suffix <= 16:
            raise scpi.ScpiError(-114, f"filter {call.suffix}")
        if call.query:
            return self.filters.get(call.suffix, "NEV")
        self.filters[call.suffix] = call.arg(0, scpi.Choice(("RISE", "FALL", "BOTH", "NEVer")))
        return None

    @scpi.command(":COMMunicate:WAIT")
    def _wait(self, call: scpi.Call) -> None:
        call.arg(0, scpi.Num(0, 65535, 0, integer=True))  # updates are instantaneous here

    @scpi.command("*OPT?")
    def _opt(self, call: scpi.Call) -> str:
        return "G5"


# -- Chroma 61600 AC source ----------------------------------------------------------------
CHROMA_VOLTAGE_MAX_V = 300.0  # 61604 *(verify the model's range)*
CHROMA_FREQUENCY_HZ = (15.0, 1000.0)
CHROMA_CURRENT_MAX_A = 16.0


class Chroma61600Sim(ScpiSim):
    """Chroma 61604 programmable AC source (61600 series) feeding an AC module.

    Command subset of the 61600 user's manual, chapter "Remote Operation" *(verify)*:
    ``[:SOURce]:VOLTage:AC``, ``[:SOURce]:VOLTage:LIMit:AC`` (a voltage setting above
    the limit is refused with -222 and leaves the voltage as it was),
    ``[:SOURce]:FREQuency``, ``[:SOURce]:CURRent:LIMit``, ``:OUTPut[:STATe] ON|OFF``
    and the read-back queries ``:FETCh|:MEASure[:SCALar]:VOLTage:ACDC?``,
    ``...:CURRent:AC?``, ``...:POWer:AC[:REAL]?``, ``...:FREQuency?``; error queue
    ``:SYSTem:ERRor?``, ``:SYSTem:REMote|LOCal``.  The output's voltage and frequency
    reach the module in the sphere (:meth:`World.update_mains`).
    """

    idn = "Chroma ATE,61604,616040001234,1.10"
    NUMBER_FORMAT = "{:.4f}"
    SETTINGS = (
        scpi.Setting(
            "[:SOURce]:VOLTage:LIMit:AC",
            scpi.Num(0.0, CHROMA_VOLTAGE_MAX_V, CHROMA_VOLTAGE_MAX_V),
            CHROMA_VOLTAGE_MAX_V,
        ),
        scpi.Setting(
            "[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]:AC",
            scpi.Num(0.0, CHROMA_VOLTAGE_MAX_V, 0.0),
            0.0,
            on_set="_set_voltage",
        ),
        scpi.Setting(
            "[:SOURce]:FREQuency[:IMMediate]",
            scpi.Num(*CHROMA_FREQUENCY_HZ, 60.0),
            60.0,
            on_set="_push",
        ),
        scpi.Setting(
            "[:SOURce]:CURRent:LIMit",
            scpi.Num(0.0, CHROMA_CURRENT_MAX_A, CHROMA_CURRENT_MAX_A),
            CHROMA_CURRENT_MAX_A,
            on_set="_push",
        ),
        scpi.Setting(":OUTPut[:STATe]", scpi.Bool(), False, on_set="_push"),
    )

    def _set_voltage(self, value: object) -> None:
        limit = self.values.get("[:SOURce]:VOLTage:LIMit:AC", CHROMA_VOLTAGE_MAX_V)
        if float(value) > limit:
            raise scpi.ScpiError(-222, f"voltage above the limit {limit:g} V")
        self._push()

    def _push(self, _value: object = None) -> None:
        if not hasattr(self, "world"):  # settings are restored before the world is wired
            return
        v = self.values
        self.world.update_mains(
            output=bool(v[":OUTPut[:STATe]"]),
            voltage_v=float(v["[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]:AC"]),
            frequency_hz=float(v["[:SOURce]:FREQuency[:IMMediate]"]),
            current_limit_a=float(v["[:SOURce]:CURRent:LIMit"]),
        )

    def _readback(self) -> dict[str, float]:
        if not self.values[":OUTPut[:STATe]"]:
            return {"U": 0.0, "I": 0.0, "P": 0.0, "F": 0.0}
        ac = self.world.ac_input() or {"I": 0.0, "P": 0.0}
        return {
            "U": self.noisy(self.world.mains.voltage_v, 2e-4),
            "I": self.noisy(ac["I"], 1e-3),
            "P": self.noisy(ac["P"], 1e-3),
            "F": self.world.mains.frequency_hz,
        }

    @scpi.command(":FETCh[:SCALar]:VOLTage:ACDC?")
    @scpi.command(":MEASure[:SCALar]:VOLTage:ACDC?")
    def _fetch_volt(self, call: scpi.Call) -> str:
        return self.format_number(self._readback()["U"])

    @scpi.command(":FETCh[:SCALar]:CURRent:AC?")
    @scpi.command(":MEASure[:SCALar]:CURRent:AC?")
    def _fetch_curr(self, call: scpi.Call) -> str:
        return self.format_number(self._readback()["I"])

    @scpi.command(":FETCh[:SCALar]:POWer:AC[:REAL]?")
    @scpi.command(":MEASure[:SCALar]:POWer:AC[:REAL]?")
    def _fetch_pow(self, call: scpi.Call) -> str:
        return self.format_number(self._readback()["P"])

    @scpi.command(":FETCh[:SCALar]:FREQuency?")
    @scpi.command(":MEASure[:SCALar]:FREQuency?")
    def _fetch_freq(self, call: scpi.Call) -> str:
        return self.format_number(self._readback()["F"])

    @scpi.command(":SYSTem:REMote")
    @scpi.command(":SYSTem:LOCal")
    def _remote(self, call: scpi.Call) -> None:
        call.no_args()


def _hex_f32(values: np.ndarray) -> str:
    return ",".join(struct.pack(">f", float(v)).hex().upper() for v in values)


class CS2000Sim(SimInstrument):
    """Konica Minolta CS-2000 spectroradiometer looking at the sphere port.

    Spectral radiance = sphere spectral flux x ``CS2000_RESPONSIVITY`` (smooth,
    W/(sr m2 nm) per W/nm) x (1 + 0.1 % noise).  After ``MEAS,1`` the first
    ``busy_polls`` polls of ``MEDR,0,0,1`` answer ``ER02`` (measuring).
    Error codes used: ER00 command error, ER02 measuring, ER05 no data,
    ER10 over measuring range, ER17 parameter error, ER20 not in remote mode.
    """

    idn = "OK00,CS-2000,0,20003001"
    busy_polls = 1

    def __init__(self, world: World, faults: FaultQueue | None = None) -> None:
        super().__init__(world, faults)
        self.remote = False
        self.busy = 0
        self.data: np.ndarray | None = None
        self.over_range = False

    def identity(self) -> str:
        if self.faults.take(("wrong_idn",)):
            return "OK00,CS-100A,0,1"
        return self.idn

    def _handle(self, line: str) -> str | None:
        parts = line.strip().upper().split(",")
        cmd, args = parts[0], parts[1:]
        if cmd == "RMTS":
            self.remote = args == ["1"]
            return "OK00"
        if not self.remote:
            return "ER20"
        if cmd == "IDDR":
            return self.identity()
        if cmd == "MEAS" and args == ["1"]:
            self.busy = self.busy_polls
            sat = bool(self.faults.take(("saturated",)))
            flux = self.world.seen_flux_w_nm(dev.WAVELENGTHS_NM)
            noise = 1.0 + 1e-3 * np.asarray(self.world.noise(flux.size))
            self.data = flux * CS2000_RESPONSIVITY * noise
            self.over_range = sat
            return "OK00,3"
        if cmd == "MEDR" and args == ["0", "0", "1"]:
            if self.data is None:
                return "ER05"
            if self.busy > 0:
                self.busy -= 1
                return "ER02"
            return "ER10" if self.over_range else "OK00,0"
        if cmd == "MEDR" and args[:2] == ["1", "1"] and len(args) == 3:
            if self.data is None or self.busy > 0:
                return "ER05"
            try:
                block = int(args[2])
            except ValueError:
                return "ER17"
            if not 1 <= block <= 4:
                return "ER17"
            start = (block - 1) * 100
            stop = start + (101 if block == 4 else 100)
            return "OK00," + _hex_f32(self.data[start:stop])
        return "ER00"


CS2000_RESPONSIVITY = 0.05 * (0.92 + 0.08 * np.exp(-(((dev.WAVELENGTHS_NM - 560.0) / 180.0) ** 2)))
"""Simulated CS-2000 + sphere port: radiance per spectral flux, W/(sr m2 nm) per W/nm."""

ARRAY_PIXELS = 1024
ARRAY_WAVELENGTHS_NM = (
    340.0 + 0.4629 * np.arange(ARRAY_PIXELS) - 4.0e-6 * np.arange(ARRAY_PIXELS) ** 2
)
ARRAY_RESPONSIVITY = 2.0e7 * np.exp(-(((ARRAY_WAVELENGTHS_NM - 600.0) / 260.0) ** 2))
"""Counts per second per (W/nm) reaching the sphere wall, per pixel."""
ARRAY_DARK_OFFSET = 1000.0
ARRAY_DARK_RATE = 800.0  # counts/s
ARRAY_FULL_SCALE = 65535


class ArraySpectrometerSim(SimInstrument):
    """CCD array spectrometer on the sphere speaking LCAS-1 (see the driver module)."""

    idn = "LIGHTCOMP,LCAS-ARRAY,AS0001,1.0"

    def __init__(self, world: World, faults: FaultQueue | None = None) -> None:
        super().__init__(world, faults)
        self.integration_us = 100_000
        self.shutter_closed = False

    def _handle(self, line: str) -> str | None:
        cmd, _, arg = line.strip().partition(" ")
        cmd = cmd.upper()
        if cmd == "*IDN?":
            return self.identity()
        if cmd == "INT":
            try:
                value = int(arg)
            except ValueError:
                return f"ERR bad integration time {arg!r}"
            if not 1_000 <= value <= 10_000_000:
                return f"ERR integration time {value} us outside 1000..10000000"
            self.integration_us = value
            return "OK"
        if cmd == "INT?":
            return str(self.integration_us)
        if cmd == "SHUT":
            if arg.strip() not in ("0", "1"):
                return f"ERR shutter state {arg.strip()!r} is not 0 or 1"
            self.shutter_closed = arg.strip() == "1"
            return "OK"
        if cmd == "SHUT?":
            return "1" if self.shutter_closed else "0"
        if cmd == "MAX?":
            return str(ARRAY_FULL_SCALE)
        if cmd == "WAVE?":
            return ",".join(f"{v:.4f}" for v in ARRAY_WAVELENGTHS_NM)
        if cmd == "SPEC?":
            t = self.integration_us * 1e-6
            signal = np.zeros(ARRAY_PIXELS)
            if not self.shutter_closed:
                flux = self.world.seen_flux_w_nm(ARRAY_WAVELENGTHS_NM)
                signal = flux * ARRAY_RESPONSIVITY * t
            if self.faults.take(("saturated",)):
                signal = signal * 50 + ARRAY_FULL_SCALE
            mean = signal + ARRAY_DARK_OFFSET + ARRAY_DARK_RATE * t
            noise = np.asarray(self.world.noise(ARRAY_PIXELS)) * np.sqrt(mean + 25.0)
            counts = np.clip(np.rint(mean + noise), 0, ARRAY_FULL_SCALE).astype(int)
            return ",".join(map(str, counts))
        return f"ERR unknown command {cmd!r}"


class LS218Sim(ScpiSim):
    """Lake Shore 218-style monitor: input 1 = DUT Tc point, 2-8 = ambient.

    Commands from the *Model 218 Temperature Monitor User's Manual* (Lake Shore),
    §6.3 command summary and §6.4 command list: the IEEE 488.2 common commands
    (``*IDN?``, ``*RST``, ``*CLS``, ``*ESE``, ``*ESR?``, ``*OPC``, ``*OPC?``,
    ``*SRE``, ``*STB?``, ``*TST?``, ``*WAI``), ``CRDG? <input>`` (°C, ``0`` = all
    eight), ``KRDG?`` (K), ``INPUT <input>,<0|1>`` / ``INPUT? <input>``,
    ``FILTER <input>,<off/on>,<points>,<window>`` / ``FILTER? <input>``.  The
    218 has no error queue (§6.1.4): an unknown or malformed command gets no
    reply and sets the command-error bit (CME, bit 5) of the standard event
    register, a query with nothing to say the query-error bit (QYE, bit 2);
    ``*ESR?`` reads and clears them.  A disabled input reads ``+0.0000``.
    """

    idn = "LSCI,MODEL218S,LSA1B2C,1.3"
    read_termination = "\r\n"
    write_termination = "\r\n"
    ERROR_QUERY = None
    SCPI_VERSION = None

    def __init__(self, world: World, faults: FaultQueue | None = None) -> None:
        self.enabled = dict.fromkeys(range(1, 9), True)
        self.filters = {n: (True, 8, 2) for n in range(1, 9)}
        super().__init__(world, faults)

    def reset(self) -> None:
        super().reset()
        self.enabled = dict.fromkeys(range(1, 9), True)
        self.filters = {n: (True, 8, 2) for n in range(1, 9)}

    def _input(self, call: scpi.Call, *, allow_all: bool = False) -> int:
        return int(call.arg(0, scpi.Num(0 if allow_all else 1, 8, 1, integer=True)))

    def _temp(self, arg: str) -> float | None:
        """Temperature of input ``arg`` in degC (None: nothing connected); a rig overrides it."""
        ch = int(arg)
        tc = self.world.temperatures_c()[1] if ch == 1 else self.world.ambient_c
        return tc + 0.02 * float(self.world.noise())

    def _reading(self, call: scpi.Call, offset: float) -> str:
        call.no_args(1)
        ch = self._input(call, allow_all=True)
        chans = range(1, 9) if ch == 0 else [ch]
        out = []
        for c in chans:
            t = self._temp(str(c)) if self.enabled[c] else None
            out.append("+0.0000" if t is None else f"{t + offset:+08.3f}")
        return ",".join(out)

    @scpi.command("CRDG?")
    def _crdg(self, call: scpi.Call) -> str:
        return self._reading(call, 0.0)

    @scpi.command("KRDG?")
    def _krdg(self, call: scpi.Call) -> str:
        return self._reading(call, 273.15)

    @scpi.command("INPUT|?")
    def _inp(self, call: scpi.Call) -> str | None:
        ch = self._input(call)
        if call.query:
            call.no_args(1)
            return "1" if self.enabled[ch] else "0"
        call.no_args(2)
        self.enabled[ch] = bool(call.arg(1, scpi.Bool()))
        return None

    @scpi.command("FILTER|?")
    def _filter(self, call: scpi.Call) -> str | None:
        ch = self._input(call)
        if call.query:
            call.no_args(1)
            on, points, window = self.filters[ch]
            return f"{int(on)},{points:02d},{window:02d}"
        call.no_args(4)
        self.filters[ch] = (
            bool(call.arg(1, scpi.Bool())),
            int(call.arg(2, scpi.Num(2, 64, 8, integer=True))),
            int(call.arg(3, scpi.Num(1, 10, 2, integer=True))),
        )
        return None

    @scpi.command("*ESR?")
    def _esr(self, call: scpi.Call) -> str:
        value, self.esr = self.esr, 0
        return f"{value:03d}"

    @scpi.command("*STB?")
    def _stb(self, call: scpi.Call) -> str:
        return f"{self.status_byte():03d}"


class FixtureSim(SimInstrument):
    """Simulation control channel: fixture and virtual clock (SIMCTL-1 protocol).

    ``LOAD serial,lot,family`` / ``UNLOAD`` / ``AUX 0|1`` / ``TIME?`` /
    ``ADV seconds`` / ``ADVTO time`` / ``UNIT?``; replies ``OK`` (or a value) or ``ERR <reason>``.
    """

    idn = "LIGHTCOMP,SIMLAB-FIXTURE,0,1.0"

    def _handle(self, line: str) -> str | None:
        cmd, _, arg = line.strip().partition(" ")
        cmd = cmd.upper()
        w = self.world
        if cmd == "*IDN?":
            return self.identity()
        if cmd == "LOAD":
            fields = [f.strip() for f in arg.split(",")]
            if len(fields) != 3 or not fields[0]:
                return "ERR LOAD needs serial,lot,family"
            try:
                w.load(*fields)
            except KeyError as exc:
                return f"ERR {exc.args[0]}"
            return "OK"
        if cmd == "UNLOAD":
            w.unload()
            return "OK"
        if cmd == "AUX":
            w.set_aux(arg.strip() == "1")
            return "OK"
        if cmd == "TIME?":
            return f"{w.now():.6f}"
        if cmd == "ADV":
            try:
                return f"{w.advance(float(arg)):.6f}"
            except ValueError as exc:
                return f"ERR {exc}"
        if cmd == "ADVTO":
            try:
                target = float(arg)
                return f"{w.advance(max(target - w.now(), 0.0)):.6f}"
            except ValueError as exc:
                return f"ERR {exc}"
        if cmd == "UNIT?":
            u = w.unit
            if w.lamp_loaded:
                return "SIM-STD-001,,lamp,none"
            return (
                "NONE" if u is None else f"{u.serial},{u.lot},{u.family.name},{u.defect or 'none'}"
            )
        return f"ERR unknown command {cmd!r}"


SIMULATORS: dict[str, type[SimInstrument]] = {
    "keithley2400": Keithley2400Sim,
    "e36312a": E36312ASim,
    "wt310e": WT310ESim,
    "chroma61600": Chroma61600Sim,
    "cs2000": CS2000Sim,
    "array-spectrometer": ArraySpectrometerSim,
    "ls218": LS218Sim,
    "sim-fixture": FixtureSim,
}
"""Driver registry name -> simulated instrument."""

SERIAL_DRIVERS = frozenset({"cs2000", "ls218", "array-spectrometer"})
"""Simulators served as a serial stream (``socket://`` URL); the rest as raw SCPI sockets."""
