"""Multi-channel constant-current source rack for LM-80 ageing (SCPI over a raw socket).

SCPI-1999 style with channel lists, as multi-output supplies use them (e.g.
Keysight N6700 ``(@1:4)``); lightcomp's rack dialect (*verify* against a
specific rack's manual):

* ``*IDN?`` -> ``maker,model,serial,firmware``
* ``SOUR:CURR <A>,(@list)`` / ``SOUR:CURR? (@list)`` -> ``A,A,...``
* ``OUTP <0|1>,(@list)`` / ``OUTP? (@list)`` -> ``0,1,...``
* ``MEAS:CURR? (@list)`` / ``MEAS:VOLT? (@list)`` -> one value per channel
* ``STAT:QUES:COND? (@list)`` -> bits per channel: 1 open circuit (the LED
  failed open), 2 in compliance, 4 output interrupted now
* ``OUTP:INT:COUN? (@ch)`` -> interruptions logged on a channel (monotonic);
  ``OUTP:INT:DATA? <ch>,<k>`` -> ``start_h,duration_h`` of the k-th one
* ``SYST:ERR?`` -> ``0,"No error"`` (read after every write: a refused setting is an error)

Channel lists are written ``(@1:20)`` or ``(@1,3,5)``; the driver sends at most
``MAX_LIST`` channels per command.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymeasure.instruments import Instrument, SCPIMixin

from lightcomp.drivers.base import Instrument as LcInstrument
from lightcomp.drivers.base import InstrumentConfig
from lightcomp.drivers.transport import DriverMixin, parse_floats

MAX_LIST = 32

OPEN_CIRCUIT = 1
COMPLIANCE = 2
INTERRUPTED = 4


def channel_list(channels: Sequence[int]) -> str:
    """``(@1:4,7)`` for channels 1, 2, 3, 4, 7."""
    chans = sorted({int(c) for c in channels})
    if not chans or chans[0] < 1:
        raise ValueError(f"channels must be >= 1, got {list(channels)}")
    parts, start, prev = [], chans[0], chans[0]
    for c in chans[1:] + [None]:
        if c is not None and c == prev + 1:
            prev = c
            continue
        parts.append(f"{start}:{prev}" if prev > start else f"{start}")
        if c is not None:
            start = prev = c
    return "(@" + ",".join(parts) + ")"


def parse_channel_list(text: str) -> list[int]:
    """Inverse of :func:`channel_list` (``(@1:3,5)`` -> [1, 2, 3, 5])."""
    t = text.strip()
    if not (t.startswith("(@") and t.endswith(")")):
        raise ValueError(f"{text!r} is not a channel list (@...)")
    out: list[int] = []
    for part in filter(None, t[2:-1].split(",")):
        a, _, b = part.partition(":")
        lo, hi = int(a), int(b or a)
        if lo < 1 or hi < lo:
            raise ValueError(f"bad channel range {part!r}")
        out.extend(range(lo, hi + 1))
    return out


def _chunks(channels: Sequence[int]) -> list[list[int]]:
    chans = sorted({int(c) for c in channels})
    return [chans[i : i + MAX_LIST] for i in range(0, len(chans), MAX_LIST)]


class CurrentRack(DriverMixin, SCPIMixin, Instrument, LcInstrument):
    """Multi-channel LED current-source rack (registry name ``lm80-rack``)."""

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "lm80-rack", "rack")
        super().__init__(adapter, "LM-80 current rack", **kwargs)
        self.channels = int(self.config.options.get("channels", 96))

    def identify(self) -> str:
        return self.query("*IDN?", lambda r: r.strip())

    def _check(self, channels: Sequence[int]) -> None:
        bad = [c for c in channels if not 1 <= int(c) <= self.channels]
        if bad:
            raise self.error(f"channel(s) {bad} do not exist (1..{self.channels})")

    def _per_channel(self, header: str, channels: Sequence[int], *, as_int: bool = False) -> list:
        self._check(channels)
        out: list = []
        for chunk in _chunks(channels):
            cmd = f"{header} {channel_list(chunk)}"

            def parse(reply: str, n=len(chunk)) -> list:
                vals = parse_floats(reply, n)
                if as_int and any(v != int(v) or v < 0 for v in vals):
                    raise ValueError("status words must be non-negative integers")
                return [int(v) for v in vals] if as_int else vals

            out.extend(self.query(cmd, parse))
        return out

    def check_errors(self, after: str) -> None:
        """Read the SCPI error queue (``SYST:ERR?``) after writes: a setting the rack refused
        (channel out of range, value out of range) is an error, not a silent no-op."""
        errors = []
        for _ in range(10):  # the queue holds at most a few entries
            reply = self.query("SYST:ERR?", lambda r: r.strip())
            code_text, _, msg = reply.partition(",")
            try:
                code = int(code_text)
            except ValueError:
                raise self.error(
                    "SYST:ERR? reply is not <code>,<message>", "SYST:ERR?", reply
                ) from None
            if code == 0:
                break
            errors.append(f"{code} {msg.strip().strip(chr(34))}")
        if errors:
            raise self.error(f"refused {after}: {'; '.join(errors)}")

    def set_current(self, current_a: float, channels: Sequence[int]) -> None:
        """Program the same current (A) on ``channels`` and read it back."""
        if not 0 <= current_a <= 10:
            raise self.error(f"current {current_a} A out of range 0..10 A")
        self._check(channels)
        for chunk in _chunks(channels):
            self.send(f"SOUR:CURR {current_a:.6g},{channel_list(chunk)}")
        self.check_errors(f"current {current_a:g} A")
        back = self._per_channel("SOUR:CURR?", channels)
        wrong = [
            c
            for c, v in zip(sorted(set(channels)), back, strict=True)
            if abs(v - current_a) > 1e-6 + 1e-4 * current_a
        ]
        if wrong:
            raise self.error(f"channel(s) {wrong} did not take {current_a} A")

    def output(self, on: bool, channels: Sequence[int]) -> None:
        self._check(channels)
        for chunk in _chunks(channels):
            self.send(f"OUTP {1 if on else 0},{channel_list(chunk)}")
        self.check_errors(f"output {'on' if on else 'off'}")

    def outputs(self, channels: Sequence[int]) -> list[bool]:
        return [bool(v) for v in self._per_channel("OUTP?", channels, as_int=True)]

    def measure_current(self, channels: Sequence[int]) -> list[float]:
        return self._per_channel("MEAS:CURR?", channels)

    def measure_voltage(self, channels: Sequence[int]) -> list[float]:
        return self._per_channel("MEAS:VOLT?", channels)

    def condition(self, channels: Sequence[int]) -> list[int]:
        """Questionable-condition bits per channel (OPEN_CIRCUIT | COMPLIANCE | INTERRUPTED)."""
        return self._per_channel("STAT:QUES:COND?", channels, as_int=True)

    def interruptions(self, channel: int, first: int = 1) -> list[tuple[int, float, float]]:
        """(k, start_h, duration_h) of the channel's logged interruptions from ``first``."""
        self._check([channel])
        (count,) = self._per_channel("OUTP:INT:COUN?", [channel], as_int=True)
        out = []
        for k in range(max(first, 1), count + 1):
            start, dur = self.query(f"OUTP:INT:DATA? {channel},{k}", lambda r: parse_floats(r, 2))
            if start < 0 or dur < 0:
                raise self.error(f"interruption {k} of channel {channel}: negative time")
            out.append((k, start, dur))
        return out

    def safe_state(self) -> None:
        """A rack is left as it is: switching ageing samples off would spoil the campaign."""
