"""Chroma 61600-series programmable AC source (61601 ... 61605) supplying AC-mains components.

An AC plan's supply is the plan's voltage and frequency, not whatever the grid
delivers (IES LM-79-19 §5: AC supply of the rated voltage and frequency, low
distortion), so the station drives the module from a programmable AC source.

SCPI subset used (Chroma *Programmable AC Source 61601/61602/61603/61604/61605
User's Manual*, chapter "Remote Operation" — *verify against the owned revision*;
the same commands are used by libsigrok's ``scpi-pps`` profile of the 61604,
``src/hardware/scpi-pps/profiles.c``)::

    :SOUR:VOLT:LIM:AC <V>      upper limit of the AC voltage setting (refuses higher settings)
    :SOUR:VOLT:AC <V>          output voltage, V rms            (:SOUR:VOLT:AC? reads it back)
    :SOUR:FREQ <Hz>            output frequency                 (:SOUR:FREQ?)
    :SOUR:CURR:LIM <A>         over-current protection, A rms   (:SOUR:CURR:LIM?)
    :OUTP ON | OFF             output relay                     (:OUTP?)
    :FETC:VOLT:ACDC?  :FETC:CURR:AC?  :FETC:POW:AC?  :FETC:FREQ?   read-back of the output
    SYST:ERR?                  error queue (SCPI-99 §21.8) *(verify the 61600's queue format)*

Ranges of the 61604 (2 kVA): 0-300 V, 15-1000 Hz, 0-16 A *(verify against the data sheet
of the owned model; other models of the series have other current ranges)*.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_range

from lightcomp.drivers.base import ACSource, ElectricalReading, InstrumentConfig
from lightcomp.drivers.transport import DriverMixin, parse_floats

VOLTAGE_MAX_V = 300.0
FREQUENCY_RANGE_HZ = (15.0, 1000.0)
CURRENT_MAX_A = 16.0
DEFAULT_CURRENT_LIMIT_A = 2.0
"""Over-current protection when the station file sets none (a module of some 10-100 W)."""
VOLTAGE_LIMIT_HEADROOM = 1.10
"""The voltage-setting limit sits this factor above the plan's voltage: a mistyped
setting (2300 V for 230 V) is refused by the source itself."""


class Chroma61600Source(DriverMixin, SCPIMixin, Instrument, ACSource):
    """Chroma 61600-series AC source (registry name ``chroma61600``).

    ``options.current_limit_a`` sets the over-current protection (A rms, default 2 A).
    """

    voltage_limit_ac = Instrument.control(
        ":SOUR:VOLT:LIM:AC?",
        ":SOUR:VOLT:LIM:AC %.1f",
        "Upper limit of the AC voltage setting (V rms).",
        validator=strict_range,
        values=[0.0, VOLTAGE_MAX_V],
    )
    voltage_ac = Instrument.control(
        ":SOUR:VOLT:AC?",
        ":SOUR:VOLT:AC %.1f",
        "AC output voltage setting (V rms).",
        validator=strict_range,
        values=[0.0, VOLTAGE_MAX_V],
    )
    frequency = Instrument.control(
        ":SOUR:FREQ?",
        ":SOUR:FREQ %.2f",
        "Output frequency setting (Hz).",
        validator=strict_range,
        values=list(FREQUENCY_RANGE_HZ),
    )
    current_limit = Instrument.control(
        ":SOUR:CURR:LIM?",
        ":SOUR:CURR:LIM %.2f",
        "Over-current protection (A rms).",
        validator=strict_range,
        values=[0.0, CURRENT_MAX_A],
    )
    output_enabled = Instrument.control(
        ":OUTP?",
        ":OUTP %d",
        "Output relay on (True) or off (False); the query answers 1 or 0 (SCPI-99 §7.3).",
        cast=int,
        map_values=True,
        values={True: 1, False: 0},
    )

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "chroma61600", "ac_source")
        super().__init__(adapter, "Chroma 61600 AC source", **kwargs)
        self.current_limit_a = float(
            self.config.options.get("current_limit_a", DEFAULT_CURRENT_LIMIT_A)
        )

    def identify(self) -> str:
        return self.query("*IDN?", lambda r: r.strip())

    def sync(self) -> None:
        """``*OPC?``: wait until the previous commands are executed."""
        self.query("*OPC?", _opc)

    def set_ac(self, voltage_v: float, frequency_hz: float) -> None:
        """Over-current protection, voltage limit, then voltage and frequency; the error
        queue is read afterwards so a setting the source refused is an error here.  A
        voltage or frequency beyond the model's range is refused before anything is sent."""
        try:
            strict_range(voltage_v, [0.0, VOLTAGE_MAX_V])
            strict_range(frequency_hz, list(FREQUENCY_RANGE_HZ))
            self.current_limit = self.current_limit_a
            self.voltage_limit_ac = min(round(voltage_v * VOLTAGE_LIMIT_HEADROOM, 1), VOLTAGE_MAX_V)
            self.voltage_ac = voltage_v
            self.frequency = frequency_hz
        except (ValueError, TypeError) as exc:
            raise self.error(f"setting refused ({exc})") from exc
        except Exception as exc:  # noqa: BLE001 - transport failure mid-settings
            self._recover(exc)
            raise self.error(f"write failed ({type(exc).__name__}: {exc})") from exc
        self.sync()
        self.raise_queued_errors(f"the settings {voltage_v:g} V, {frequency_hz:g} Hz")

    def output(self, on: bool) -> None:
        self.send(f":OUTP {'ON' if on else 'OFF'}")
        self.sync()

    def measure(self) -> ElectricalReading:
        v, i, p, f = (
            self.query(cmd, lambda r: parse_floats(r, 1)[0])
            for cmd in (":FETC:VOLT:ACDC?", ":FETC:CURR:AC?", ":FETC:POW:AC?", ":FETC:FREQ?")
        )
        return ElectricalReading(voltage_v=v, current_a=i, power_w=p, frequency_hz=f)


def _opc(reply: str) -> bool:
    if reply.strip() not in ("1", "+1"):
        raise ValueError("*OPC? must answer 1")
    return True
