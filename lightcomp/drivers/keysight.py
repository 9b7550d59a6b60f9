"""Keysight E36312A-style DC supply (channel 1 feeds the component).

Wraps PyMeasure's :class:`pymeasure.instruments.keysight.KeysightE36312A`
(``VOLT %g, (@1)``, ``CURR %g, (@1)``, ``OUTP %d, (@1)``, ``MEAS:VOLT? (@1)``).
A supply is a constant-voltage source with a current limit: for an LED,
:meth:`set_current` sets the limit to the drive current and the voltage above
the forward voltage, so the supply runs in its constant-current regime.
"""

from __future__ import annotations

from pymeasure.instruments.keysight import KeysightE36312A

from lightcomp.drivers.base import DCSource, ElectricalReading, InstrumentConfig
from lightcomp.drivers.transport import DriverMixin, parse_floats


class KeysightE36312ASupply(DriverMixin, KeysightE36312A, DCSource):
    """Keysight E36312A (registry name ``e36312a``); ``options.channel`` selects 1-3 (default 1)."""

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "e36312a", "source")
        super().__init__(adapter, **kwargs)
        self.channel_number = int(self.config.options.get("channel", 1))

    @property
    def _ch(self):
        return self.channels[self.channel_number]

    def identify(self) -> str:
        return self.query("*IDN?", lambda r: r.strip())

    def set_current(self, current_a: float, voltage_limit_v: float) -> None:
        """Current limit ``current_a`` (A) with the voltage set to ``voltage_limit_v`` (V)."""
        self._set(current_a, voltage_limit_v)

    def set_voltage(self, voltage_v: float, current_limit_a: float) -> None:
        self._set(current_limit_a, voltage_v)

    def _set(self, current_a: float, voltage_v: float) -> None:
        try:
            self._ch.current_limit = current_a
            self._ch.voltage_setpoint = voltage_v
        except (ValueError, TypeError) as exc:
            raise self.error(f"setting refused ({exc})") from exc
        except Exception as exc:  # noqa: BLE001
            self._recover(exc)
            raise self.error(f"write failed ({type(exc).__name__}: {exc})") from exc
        self.sync()
        self.raise_queued_errors(f"the settings {voltage_v:g} V, {current_a:g} A")

    def output(self, on: bool) -> None:
        self.send(f"OUTPut {int(bool(on))}, (@{self.channel_number})")
        self.sync()

    def sync(self) -> None:
        """``*OPC?``: wait until the previous commands are executed."""
        self.query("*OPC?", _opc)

    def measure(self) -> ElectricalReading:
        ch = self.channel_number
        v = self.query(f"MEASure:VOLTage? (@{ch})", lambda r: parse_floats(r, 1)[0])
        i = self.query(f"MEAS:CURRent? (@{ch})", lambda r: parse_floats(r, 1)[0])
        return ElectricalReading(voltage_v=v, current_a=i, power_w=v * i)


def _opc(reply: str) -> bool:
    if reply.strip() not in ("1", "+1"):
        raise ValueError("*OPC? must answer 1")
    return True
