"""Simulated instruments: each answers one command line as its real counterpart does.

Every class turns a received line (terminator stripped) into a reply line (or
``None`` for commands without reply); the transport (``server.py``) adds the
terminator and applies transport faults.  Instrument-level faults
(``saturated``, ``wrong_idn``) are taken here from the shared fault queue.

Protocols served (see the driver modules for the client side):

* ``Keithley2400Sim``: SCPI subset of the Keithley 2400 SourceMeter.
* ``E36312ASim``: SCPI subset of the Keysight E36312A (channel 1 feeds the DUT).
* ``WT310ESim``: Yokogawa WT310E numeric/harmonic/status subset.
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


def _num(text: str) -> float:
    return float(text.split(",")[0])


class Keithley2400Sim(_ScpiSim):
    """Keithley 2400 SourceMeter; ``:READ?`` returns V, I, R, time, status."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,4242424,C30   Mar 17 2006 09:29:29/A02  /K/J"

    def scpi(self, header: str, arg: str) -> str | None:
        w = self.world
        if header == "SOUR:FUNC":
            w.update_source(mode="current" if arg.upper().startswith("CURR") else "voltage")
        elif header == "SOUR:CURR":
            w.update_source(current_a=_num(arg))
        elif header == "SOUR:VOLT":
            w.update_source(voltage_v=_num(arg))
        elif header == "SENS:VOLT:PROT":
            w.update_source(voltage_limit_v=_num(arg))
        elif header == "SENS:CURR:PROT":
            w.update_source(current_limit_a=_num(arg))
        elif header == "OUTP":
            w.update_source(output=arg.strip().upper() in ("1", "ON"))
        elif header == "OUTP?":
            return "1" if w.source.output else "0"
        elif header == "SOUR:FUNC?":
            return "CURR" if w.source.mode == "current" else "VOLT"
        elif header in ("READ?", "MEAS?"):
            v, i, comp = w.dc_terminals()
            v, i = self.noisy(v, 2e-5), self.noisy(i, 2e-5)
            status = 0x0001 | (0x0008 if comp else 0)  # OFLO-free, compliance bit 3
            return f"{v:+.6E},{i:+.6E},{9.91e37:+.6E},{w.now():+.6E},{float(status):+.6E}"
        elif header in ("MEAS:VOLT?", "MEAS:CURR?"):
            v, i, _ = w.dc_terminals()
            return f"{self.noisy(v if 'VOLT' in header else i, 2e-5):+.6E}"
        return None


class E36312ASim(_ScpiSim):
    """Keysight E36312A triple supply; the DUT is wired to the channel the driver uses."""

    idn = "Keysight Technologies,E36312A,MY12345678,2.1.0-1.0.4-1.12"

    def scpi(self, header: str, arg: str) -> str | None:
        w = self.world
        value = arg.partition(",")[0]  # the DUT is wired to whichever channel is addressed
        if header == "VOLT":
            w.update_source(mode="voltage", voltage_v=_num(value))
        elif header == "CURR":
            w.update_source(mode="voltage", current_limit_a=_num(value))
        elif header == "OUTP":
            w.update_source(output=value.strip().upper() in ("1", "ON"))
        elif header == "OUTP?":
            return "1" if w.source.output else "0"
        elif header == "VOLT?":
            return f"{w.source.voltage_v:+.6E}"
        elif header == "CURR?":
            return f"{w.source.current_limit_a:+.6E}"
        elif header in ("MEAS:VOLT?", "MEAS:CURR?"):
            v, i, _ = w.dc_terminals()
            return f"{self.noisy(v if 'VOLT' in header else i, 5e-5):+.6E}"
        return None


WT_NAN = 9.91e37


class WT310ESim(_ScpiSim):
    """Yokogawa WT310E with the /G5 harmonics option (element 1 only)."""

    idn = "YOKOGAWA,WT310E,C3A123456,F1.03"

    def __init__(self, world: World, faults: FaultQueue | None = None) -> None:
        super().__init__(world, faults)
        self.items: dict[int, tuple[str, int]] = {}
        self.count = 10
        self.list_item: tuple[str, int] = ("I", 1)
        self.list_order = 40

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
                "FU": WT_NAN,
                "FI": WT_NAN,
                "ITHD": WT_NAN,
                "UTHD": WT_NAN,
            }
        return {k: self.noisy(val, 1e-4) for k, val in ac.items() if k != "harmonics"}

    def scpi(self, header: str, arg: str) -> str | None:
        if header == "*OPT?":
            return "G5"
        if header.startswith("NUM:NORM:ITEM"):
            n = int(header.removeprefix("NUM:NORM:ITEM").rstrip("?"))
            func, _, elem = arg.partition(",")
            self.items[n] = (scpi_header(func), int(elem or 1))
        elif header == "NUM:NORM:NUM":
            self.count = int(_num(arg))
        elif header == "NUM:NORM:VAL?":
            vals = self._values()
            out = []
            for n in range(1, self.count + 1):
                func, _ = self.items.get(n, ("NONE", 1))
                out.append(vals.get(func, WT_NAN))
            return ",".join(f"{v:.5E}" for v in out)
        elif header == "NUM:LIST:ITEM1":
            func, _, elem = arg.partition(",")
            self.list_item = (scpi_header(func), int(elem or 1))
        elif header == "NUM:LIST:ORD":
            self.list_order = int(_num(arg))
        elif header == "NUM:LIST:VAL?":
            ac = self.world.ac_input()
            n = self.list_order
            if ac is None or self.list_item[0] != "I":
                return ",".join(["9.91E+37"] * (n + 1))
            h = ac["harmonics"][:n] * (1 + 1e-4 * np.asarray(self.world.noise(n)))
            return ",".join(f"{v:.5E}" for v in [ac["I"], *h])
        elif header == "STAT:EESR?":
            return "1"
        return None


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
            self.shutter_closed = arg.strip() == "1"
            return "OK"
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


class LS218Sim(_ScpiSim):
    """Lake Shore 218-style monitor: channel 1 = DUT Tc point, 2 = ambient, 3-8 ambient."""

    idn = "LSCI,MODEL218S,LSA1B2C,1.3"
    read_termination = "\r\n"
    write_termination = "\r\n"

    def _temp(self, arg: str) -> float | None:
        try:
            ch = int(arg)
        except ValueError:
            return None
        if not 1 <= ch <= 8:
            return None
        tc = self.world.temperatures_c()[1] if ch == 1 else self.world.ambient_c
        return tc + 0.02 * float(self.world.noise())

    def scpi(self, header: str, arg: str) -> str | None:
        if header in ("CRDG?", "KRDG?"):
            t = self._temp(arg)
            if t is None:
                return "+0.0000"  # the real monitor answers zero for a bad channel
            return f"{t + (273.15 if header == 'KRDG?' else 0.0):+09.3f}"
        return None


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
    "cs2000": CS2000Sim,
    "array-spectrometer": ArraySpectrometerSim,
    "ls218": LS218Sim,
    "sim-fixture": FixtureSim,
}
"""Driver registry name -> simulated instrument."""

SERIAL_DRIVERS = frozenset({"cs2000", "ls218", "array-spectrometer"})
"""Simulators served as a serial stream (``socket://`` URL); the rest as raw SCPI sockets."""
