"""Keysight/Agilent 33500 and 33600 series function generators (channel 1 -> bias-T).

Wraps PyMeasure's :class:`pymeasure.instruments.agilent.Agilent33500` (same SCPI
tree on the 33500B and the 120 MHz 33600A): ``FUNC SIN|SQU``, ``FREQ``,
``VOLT`` (Vpp), ``VOLT:OFFS``, ``FUNC:SQU:DCYC``, ``OUTP``, ``OUTP:LOAD``.
Settings are written with PyMeasure's properties (whose validators hold the
instrument's ranges), then ``SYST:ERR?`` is read until ``+0``: a refused value
(``-222,"Data out of range"``) becomes an InstrumentError naming the command.
"""

from __future__ import annotations

from pymeasure.instruments.agilent import Agilent33500

from lightcomp.drivers.base import FunctionGenerator, InstrumentConfig
from lightcomp.drivers.transport import DriverMixin


class Keysight33500Generator(DriverMixin, Agilent33500, FunctionGenerator):
    """33500/33600 series generator (registry name ``keysight33500``).

    ``options.channel`` (default 1) is the output wired to the bias-T; the
    output load is set to 50 ohm (the bias-T's RF port), so amplitudes are
    volts peak-to-peak across 50 ohm.
    """

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "keysight33500", "generator")
        super().__init__(adapter, **kwargs)
        self.channel_number = int(self.config.options.get("channel", 1))

    @property
    def _ch(self):
        return self.channels[self.channel_number]

    def identify(self) -> str:
        return self.query("*IDN?", lambda r: r.strip())

    def _apply(self, settings: list[tuple[str, object]]) -> None:
        for name, value in settings:
            try:
                setattr(self._ch, name, value)
            except (ValueError, TypeError) as exc:
                raise self.error(f"{name} = {value!r} refused ({exc})") from exc
            except Exception as exc:  # noqa: BLE001 - transport errors
                self._recover(exc)
                raise self.error(f"write failed ({type(exc).__name__}: {exc})", name) from exc
            self.check_errors(f"{name} = {value!r}")

    def check_errors(self, after: str = "") -> None:
        """Read ``SYST:ERR?`` until ``+0``; the first error raises (naming ``after``)."""
        for _ in range(20):
            code, text = self.query("SYSTem:ERRor?", _error_reply)
            if code == 0:
                return
            raise self.error(f"instrument error {code} {text} after {after}", "SYSTem:ERRor?")
        raise self.error("error queue does not empty", "SYSTem:ERRor?")

    def sine(self, frequency_hz: float, amplitude_vpp: float, offset_v: float = 0.0) -> None:
        self._apply(
            [
                ("output_load", 50),
                ("shape", "SIN"),
                ("frequency", float(frequency_hz)),
                ("amplitude", float(amplitude_vpp)),
                ("offset", float(offset_v)),
            ]
        )

    def square(
        self, frequency_hz: float, amplitude_vpp: float, offset_v: float = 0.0, duty_pct=50.0
    ) -> None:
        self._apply(
            [
                ("output_load", 50),
                ("shape", "SQU"),
                ("frequency", float(frequency_hz)),
                ("amplitude", float(amplitude_vpp)),
                ("offset", float(offset_v)),
                ("square_dutycycle", float(duty_pct)),
            ]
        )

    def output(self, on: bool) -> None:
        self._apply([("output", bool(on))])


def _error_reply(reply: str) -> tuple[int, str]:
    code, sep, text = reply.strip().partition(",")
    if not sep:
        raise ValueError("SYST:ERR? must answer <code>,<text>")
    return int(code), text.strip().strip('"')
