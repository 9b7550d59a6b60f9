"""Yokogawa WT310E digital power meter at the component's AC input.

Numeric output is configured once (``:NUM:FORM ASC``, ``:NUM:NORM:NUM 8``,
``:NUM:NORM:ITEM<n> <func>,1``); a reading waits for a fresh update through the
extended event register (``:STAT:FILT1 FALL`` at start-up; ``:STAT:EESR?`` to
clear, then ``:COMM:WAIT 1`` blocks until the UPD bit falls) and reads all
items with ``:NUM:NORM:VAL?``.  With the /G5 harmonics option (``*OPT?``) the
current harmonics 1..40 are read as a list (``:NUM:LIST:ITEM1 I,1``,
``:NUM:LIST:ORD 40``, ``:NUM:LIST:VAL?``: total rms then orders 1..40).

Yokogawa reports "no data" as 9.91E+37 (NAN) and overrange as 9.9E+37 (INF):
required quantities (U, I, P) in that state raise InstrumentError; optional
ones become ``None``.  Reference: WT310E/WT332E/WT333E User's Manual
IM WT310E-17EN, communication commands (*verify against the owned revision*).
"""

from __future__ import annotations

import math

from pymeasure.instruments import Instrument, SCPIMixin

from lightcomp.drivers.base import ElectricalReading, InstrumentConfig, PowerAnalyzer
from lightcomp.drivers.transport import DriverMixin, parse_floats

NORMAL_ITEMS = ("U", "I", "P", "S", "Q", "LAMB", "FU", "ITHD")
"""Numeric items 1..8 in this order (element 1)."""
HARMONIC_ORDERS = 40
NO_DATA_THRESHOLD = 9.0e37


class YokogawaWT310E(DriverMixin, SCPIMixin, Instrument, PowerAnalyzer):
    """Yokogawa WT310E (registry name ``wt310e``).

    ``options.harmonics`` (default: whatever ``*OPT?`` says) enables the
    harmonic list; ``options.element`` selects the input element (default 1).
    """

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "wt310e", "power_analyzer")
        super().__init__(adapter, "Yokogawa WT310E", **kwargs)
        self.element = int(self.config.options.get("element", 1))
        self._configured = False
        self._harmonics: bool | None = self.config.options.get("harmonics")

    def identify(self) -> str:
        return self.query("*IDN?", lambda r: r.strip())

    @property
    def has_harmonics(self) -> bool:
        """Whether the /G5 harmonic measurement option is installed (``*OPT?``)."""
        if self._harmonics is None:
            self._harmonics = self.query("*OPT?", lambda r: "G5" in r.upper().split(","))
        return bool(self._harmonics)

    def configure(self) -> None:
        """Set up the numeric items and the update filter (done once before the first read)."""
        self.send(":NUM:FORM ASC")
        self.send(f":NUM:NORM:NUM {len(NORMAL_ITEMS)}")
        for n, func in enumerate(NORMAL_ITEMS, start=1):
            self.send(f":NUM:NORM:ITEM{n} {func},{self.element}")
        self.send(":STAT:FILT1 FALL")
        if self.has_harmonics:
            self.send(f":NUM:LIST:ITEM1 I,{self.element}")
            self.send(f":NUM:LIST:ORD {HARMONIC_ORDERS}")
        self._configured = True

    def wait_update(self) -> None:
        """Clear the extended event register and wait for the next data update."""
        self.query(":STAT:EESR?", lambda r: int(parse_floats(r, 1)[0]))
        self.send(":COMM:WAIT 1")

    def read(self) -> ElectricalReading:  # type: ignore[override]
        """Wait for a fresh update and return U, I, P, S, Q, PF, f, THD (+ harmonics)."""
        if not self._configured:
            self.configure()
        self.wait_update()
        cmd = ":NUM:NORM:VAL?"
        vals = self.query(cmd, lambda r: parse_floats(r, len(NORMAL_ITEMS), allow_nan=True))
        u, i, p, s, q, pf, f, thd = (_value_or_none(v) for v in vals)
        if u is None or i is None or p is None:
            raise self.error(
                "no valid U/I/P data (input not connected or over range)",
                cmd,
                ",".join(f"{v:.5E}" for v in vals),
            )
        harmonics = None
        if self.has_harmonics and thd is not None:
            lst = self.query(
                ":NUM:LIST:VAL?", lambda r: parse_floats(r, HARMONIC_ORDERS + 1, allow_nan=True)
            )
            if all(_value_or_none(v) is not None for v in lst):
                harmonics = tuple(lst[1:])
        return ElectricalReading(
            voltage_v=u,
            current_a=i,
            power_w=p,
            power_factor=pf,
            frequency_hz=f,
            apparent_power_va=s,
            reactive_power_var=q,
            thd_current=None if thd is None else thd / 100.0,
            harmonics_a=harmonics,
        )


def _value_or_none(v: float) -> float | None:
    """None for the WT series' "no data" (NAN, or 9.91E+37 in binary-coded form)."""
    return None if math.isnan(v) or abs(v) >= NO_DATA_THRESHOLD else v
