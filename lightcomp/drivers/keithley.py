"""Keithley 2400 SourceMeter as the DC source of a level-0 light source.

Wraps PyMeasure's tested :class:`pymeasure.instruments.keithley.Keithley2400`
(its properties write the SCPI commands ``:SOUR:FUNC CURR``, ``:SOUR:CURR``,
``:SENS:VOLT:PROT``, ``OUTP 1``) and adds the lightcomp :class:`DCSource`
interface: retried ``:READ?`` parsed strictly (voltage, current, resistance,
time, status as set by ``:FORMAT:ELEMENTS`` at start-up) and InstrumentError on
compliance or garbage.
"""

from __future__ import annotations

from pymeasure.instruments.keithley import Keithley2400

from lightcomp.drivers.base import DCSource, ElectricalReading, InstrumentConfig
from lightcomp.drivers.transport import DriverMixin, parse_floats

NAN_THRESHOLD = 9.0e37
"""The 2400 sends 9.91e37 for an element it did not measure (manual §18, FORMat:ELEMents)."""
COMPLIANCE_BIT = 0x0008
"""Status word bit 3: the source is in compliance (Keithley 2400 manual, :FORM:ELEM STAT)."""


class Keithley2400Source(DriverMixin, Keithley2400, DCSource):
    """Keithley 2400 SourceMeter driving the component (registry name ``keithley2400``).

    :param adapter: a PyMeasure adapter (see :func:`lightcomp.drivers.open_instrument`).
    :param config: the station's ``[instruments.<role>]`` entry.
    """

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "keithley2400", "source")
        super().__init__(adapter, **kwargs)

    def identify(self) -> str:
        return self.query("*IDN?", lambda r: r.strip())

    def set_current(self, current_a: float, voltage_limit_v: float) -> None:
        """Source ``current_a`` (A) with compliance ``voltage_limit_v`` (V)."""
        self._guard(self._set_current, current_a, voltage_limit_v)
        self.sync()
        self.raise_queued_errors(f"the settings {current_a:g} A, compliance {voltage_limit_v:g} V")

    def _measure_v_and_i(self) -> None:
        # After *RST the 2400 measures current only (manual §18, SENSe:FUNCtion); a
        # reading's voltage element would be NAN (9.91e37) when sourcing current.
        self.write(':SENS:FUNC:CONC ON;:SENS:FUNC "VOLT:DC","CURR:DC"')

    def _set_current(self, current_a: float, voltage_limit_v: float) -> None:
        self._measure_v_and_i()
        self.source_mode = "current"
        self.compliance_voltage = voltage_limit_v
        self.source_current = current_a

    def set_voltage(self, voltage_v: float, current_limit_a: float) -> None:
        """Source ``voltage_v`` (V) with compliance ``current_limit_a`` (A)."""
        self._guard(self._set_voltage, voltage_v, current_limit_a)
        self.sync()
        self.raise_queued_errors(f"the settings {voltage_v:g} V, compliance {current_limit_a:g} A")

    def _set_voltage(self, voltage_v: float, current_limit_a: float) -> None:
        self._measure_v_and_i()
        self.source_mode = "voltage"
        self.compliance_current = current_limit_a
        self.source_voltage = voltage_v

    def output(self, on: bool) -> None:
        self._guard(setattr, self, "source_enabled", bool(on))
        self.sync()

    def sync(self) -> None:
        """``*OPC?``: wait until the previous commands are executed."""
        self.query("*OPC?", lambda r: _opc(r))

    def measure(self) -> ElectricalReading:
        """One ``:READ?``: voltage (V), current (A); raises if the source is in compliance."""
        v, i, _r, _t, status = self.query(":READ?", _parse_read)
        if int(status) & COMPLIANCE_BIT:
            raise self.error(
                "source in compliance (the component does not take the set current; "
                "check contact or the voltage limit)",
                ":READ?",
                f"{v:+.6E},{i:+.6E},...,{status:+.6E}",
            )
        return ElectricalReading(voltage_v=v, current_a=i, power_w=v * i)

    def _guard(self, func, *args) -> None:
        try:
            func(*args)
        except (ValueError, TypeError) as exc:
            raise self.error(f"setting refused ({exc})") from exc
        except Exception as exc:  # noqa: BLE001 - transport errors
            self._recover(exc)
            raise self.error(f"write failed ({type(exc).__name__}: {exc})") from exc


def _parse_read(reply: str) -> list[float]:
    """V, I, R, time, status; V or I at 9.91e37 (NAN: not measured) is not a reading."""
    values = parse_floats(reply, 5)
    if max(abs(values[0]), abs(values[1])) >= NAN_THRESHOLD:
        raise ValueError("voltage or current not measured (9.91e37)")
    return values


def _opc(reply: str) -> bool:
    if reply.strip() not in ("1", "+1"):
        raise ValueError("*OPC? must answer 1")
    return True
