"""Keysight InfiniiVision DSOX1102G oscilloscope: records read as IEEE 488.2 blocks.

Wraps PyMeasure's :class:`pymeasure.instruments.keysight.KeysightDSOX1102G` for
the channel, acquisition and preamble commands.  PyMeasure reads waveforms in
ASCII and formats the timebase with ``%f`` (``0.000000`` for a 20 ns screen),
so this driver writes the timebase in ``%E`` and reads records as unsigned
16-bit big-endian words in definite-length binary blocks (programmer's guide:
``:WAVeform:FORMat WORD``, ``:WAVeform:BYTeorder MSBFirst``,
``:WAVeform:UNSigned 1``, ``:WAVeform:DATA?``), scaled with the preamble:
``V = (code - yreference) * yincrement + yorigin``,
``t = (i - xreference) * xincrement + xorigin``.

A garbled or truncated block (or a preamble that does not match the block) is
retried like any idempotent query, then raised as an InstrumentError naming the
scope and ``:WAVeform:DATA?``.
"""

from __future__ import annotations

import warnings

import numpy as np
from pymeasure.instruments.keysight import KeysightDSOX1102G

from lightcomp.drivers.base import InstrumentConfig, Oscilloscope, Waveform
from lightcomp.drivers.ieee488 import BlockError, read_definite_block
from lightcomp.drivers.transport import DriverMixin, _describe, parse_floats

_WORD_MAX = 65535


class KeysightDSOX1102GScope(DriverMixin, KeysightDSOX1102G, Oscilloscope):
    """DSOX1102G (registry name ``dsox1102g``)."""

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "dsox1102g", "scope")
        self._averages = 1
        with warnings.catch_warnings():  # the DSOX1102G does speak SCPI (IEEE 488.2 common set)
            warnings.filterwarnings("ignore", "It is not known whether", FutureWarning)
            super().__init__(adapter, **kwargs)

    # Instrument API
    def identify(self) -> str:
        return self.query("*IDN?", lambda r: r.strip())

    def sync(self) -> None:
        self.query("*OPC?", _opc)

    def configure(self, time_range_s, channels, averages: int = 1) -> None:
        """Timebase centred on the trigger, channels, and averaging (``:ACQuire:TYPE``)."""
        if not time_range_s > 0:
            raise self.error(f"time range {time_range_s!r} s must be > 0")
        cmds = [
            ":TIMebase:MODE MAIN",
            ":TIMebase:REFerence CENTer",
            f":TIMebase:RANGe {float(time_range_s):.6E}",
            ":TIMebase:POSition 0",
        ]
        for ch, (vdiv, offset, coupling) in sorted(channels.items()):
            if coupling.upper() not in ("AC", "DC"):
                raise self.error(f"channel {ch}: coupling {coupling!r} is not AC or DC")
            cmds += [
                f":CHANnel{ch}:DISPlay 1",
                f":CHANnel{ch}:COUPling {coupling.upper()}",
                f":CHANnel{ch}:SCALe {float(vdiv):.6E}",
                f":CHANnel{ch}:OFFSet {float(offset):.6E}",
            ]
        n = int(averages)
        if n > 1:
            cmds += [":ACQuire:TYPE AVERage", f":ACQuire:COUNt {n}"]
        else:
            cmds += [":ACQuire:TYPE NORMal"]
        for c in cmds:
            self.send(c)
        self.sync()
        self._averages = max(n, 1)

    def set_channel_scale(self, channel: int, volts_per_div: float, offset_v: float) -> None:
        self.send(f":CHANnel{int(channel)}:SCALe {float(volts_per_div):.6E}")
        self.send(f":CHANnel{int(channel)}:OFFSet {float(offset_v):.6E}")
        self.sync()

    def acquire(self, channels=(1, 2), points: int = 2000) -> dict[int, Waveform]:
        srcs = ",".join(f"CHANnel{int(c)}" for c in channels)
        self.send(f":DIGitize {srcs}")
        self.sync()  # :DIGitize blocks the parser until the acquisition is complete
        out = {}
        for ch in channels:
            for c in (
                f":WAVeform:SOURce CHANnel{int(ch)}",
                ":WAVeform:FORMat WORD",
                ":WAVeform:BYTeorder MSBFirst",
                ":WAVeform:UNSigned 1",
                ":WAVeform:POINts:MODE RAW",
                f":WAVeform:POINts {int(points)}",
            ):
                self.send(c)
            pre = self.query(":WAVeform:PREamble?", _preamble)
            codes = self.query_block(":WAVeform:DATA?", pre["points"])
            i = np.arange(codes.size)
            t = (i - pre["xreference"]) * pre["xincrement"] + pre["xorigin"]
            v = (codes - pre["yreference"]) * pre["yincrement"] + pre["yorigin"]
            clipped = bool((codes == 0).any() or (codes == _WORD_MAX).any())
            out[int(ch)] = Waveform(t, v, clipped, self._averages)
        return out

    def query_block(self, command: str, points: int) -> np.ndarray:
        """Ask ``command`` and read a block of ``points`` big-endian uint16 words.

        Garbled, truncated or wrong-length blocks are retried ``config.retries``
        times, then raised as an InstrumentError naming the scope and command.
        """
        attempts = 1 + max(int(self.config.retries), 0)
        reason = "no attempt"
        for _ in range(attempts):
            try:
                self.adapter.write(command)
                data = read_definite_block(self._read_bytes_checked)
                if len(data) != 2 * points:
                    raise BlockError(
                        f"block holds {len(data)} bytes, the preamble announced {points} words"
                    )
                return np.frombuffer(data, dtype=">u2").astype(float)
            except BlockError as exc:
                reason, err = f"bad binary block ({exc})", exc
            except Exception as exc:  # noqa: BLE001 - pyvisa/socket errors
                reason, err = _describe(exc), exc
            self._recover(err)
        raise self.error(f"{reason} after {attempts} attempt(s)", command)

    def _read_bytes_checked(self, count: int) -> bytes:
        try:
            return self.adapter.read_bytes(count)
        except Exception as exc:  # noqa: BLE001 - a time-out mid-block is a truncation
            if "timeout" in f"{type(exc).__name__} {exc}".lower():
                return b""
            raise


def _opc(reply: str) -> bool:
    if reply.strip() not in ("1", "+1"):
        raise ValueError("*OPC? must answer 1")
    return True


_PRE_KEYS = (
    "format",
    "type",
    "points",
    "count",
    "xincrement",
    "xorigin",
    "xreference",
    "yincrement",
    "yorigin",
    "yreference",
)


def _preamble(reply: str) -> dict[str, float]:
    vals = dict(zip(_PRE_KEYS, parse_floats(reply, 10), strict=True))
    if vals["format"] != 1:
        raise ValueError(f"preamble format {vals['format']:g} is not WORD (1)")
    if vals["points"] < 1 or vals["xincrement"] <= 0 or vals["yincrement"] <= 0:
        raise ValueError("preamble has no points or a non-positive increment")
    vals["points"] = int(vals["points"])
    return vals
