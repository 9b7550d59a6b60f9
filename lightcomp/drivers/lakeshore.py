"""Lake Shore 218-style temperature monitor for the Tc point and the ambient.

Protocol (Lake Shore Model 218 user's manual, chapter 6, serial interface):
ASCII, 9600 baud, 7 data bits, odd parity, 1 stop bit, commands and replies end
with CR LF.  ``*IDN?`` -> ``LSCI,MODEL218S,<serial>,<firmware>``;
``CRDG? <n>`` -> temperature of input n (1..8) in degC, e.g. ``+025.123``;
``KRDG? <n>`` -> the same in kelvin.  Lightcomp wiring convention: input 1 is
the thermocouple at the component's Tc point, input 2 the ambient probe
(``options.tc_channel`` / ``options.ambient_channel`` change it).

The real monitor answers ``+0.0000`` for an open or unconfigured input; this
driver treats a reading outside ``options.valid_range_c`` (default -50..250
degC, exclusive of exactly 0.0 K / 0 degC sentinels) as an error, never as a
temperature.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument, SCPIMixin

from lightcomp.drivers.base import InstrumentConfig, TemperatureLogger
from lightcomp.drivers.transport import DriverMixin, parse_floats

SERIAL_SETTINGS = {"baudrate": 9600, "bytesize": 7, "parity": "O", "stopbits": 1}


class LakeShore218(DriverMixin, SCPIMixin, Instrument, TemperatureLogger):
    """Lake Shore 218-style monitor (registry name ``ls218``)."""

    read_termination = "\r\n"
    write_termination = "\r\n"
    serial_settings = SERIAL_SETTINGS

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "ls218", "thermo")
        super().__init__(adapter, "Lake Shore 218", **kwargs)
        lo, hi = self.config.options.get("valid_range_c", (-50.0, 250.0))
        self.valid_range_c = (float(lo), float(hi))

    def identify(self) -> str:
        return self.query("*IDN?", lambda r: r.strip())

    def read_c(self, channel: int = 1) -> float:
        """Temperature of input ``channel`` (1..8) in degC."""
        if not 1 <= int(channel) <= 8:
            raise self.error(f"input {channel} does not exist (1..8)")
        cmd = f"CRDG? {int(channel)}"

        def parse(reply: str) -> float:
            (t,) = parse_floats(reply, 1)
            lo, hi = self.valid_range_c
            if reply.strip() in ("+0.0000", "+000.000") or not lo <= t <= hi:
                raise self.error(
                    f"input {channel} reads {t} degC: open sensor or outside {lo}..{hi} degC",
                    cmd,
                    reply,
                )
            return t

        return self.query(cmd, parse)

    def read_tc_c(self) -> float:
        """Tc-point temperature (input ``options.tc_channel``, default 1), degC."""
        return self.read_c(int(self.config.options.get("tc_channel", 1)))

    def read_ambient_c(self) -> float:
        """Ambient temperature (input ``options.ambient_channel``, default 2), degC."""
        return self.read_c(int(self.config.options.get("ambient_channel", 2)))
