"""Fixture of the simulated lab (SIMCTL-1 control channel; simulation only).

ASCII lines ending with LF over a raw TCP socket; replies ``OK``, a value, or
``ERR <reason>``:

=========================  ===================================================
``*IDN?``                  ``LIGHTCOMP,SIMLAB-FIXTURE,0,<version>``
``LOAD serial,lot,family`` put unit ``serial`` of ``lot`` (or the standard
                           lamp ``SIM-STD-001``) in the sphere, cold
``UNLOAD``                 empty the sphere
``AUX 0|1``                auxiliary lamp off/on (self-absorption)
``UNIT?``                  ``serial,lot,family,defect`` or ``NONE``
``TIME?``                  virtual time in s
``ADV <s>``                advance virtual time by s; replies the new time
``ADVTO <t>``              advance virtual time to at least t (idempotent)
=========================  ===================================================
"""

from __future__ import annotations

from pymeasure.instruments import Instrument

from lightcomp.drivers.base import Fixture, InstrumentConfig
from lightcomp.drivers.transport import DriverMixin, parse_floats


def _ok(reply: str) -> str:
    if reply.strip() != "OK":
        raise ValueError("expected OK")
    return "OK"


class SimFixture(DriverMixin, Instrument, Fixture):
    """Fixture of the simulated lab (registry name ``sim-fixture``)."""

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "sim-fixture", "fixture")
        super().__init__(adapter, "Simlab fixture", includeSCPI=False, **kwargs)

    def _ask(self, command: str, parse, *, idempotent: bool = True):
        def checked(reply: str):
            if reply.startswith("ERR"):
                raise self.error("fixture refused", command, reply)
            return parse(reply)

        return self.query(command, checked, idempotent=idempotent)

    def identify(self) -> str:
        return self._ask("*IDN?", lambda r: r.strip())

    def load(self, serial: str, lot: str, family: str) -> None:
        for name, value in (("serial", serial), ("lot", lot), ("family", family)):
            if "," in value or "\n" in value:
                raise self.error(f"{name} {value!r} may not contain ',' or a newline")
        # loading the same unit twice is harmless: idempotent
        self._ask(f"LOAD {serial},{lot},{family}", _ok)

    def unload(self) -> None:
        self._ask("UNLOAD", _ok)

    def set_aux_lamp(self, on: bool) -> None:
        self._ask(f"AUX {int(bool(on))}", _ok)

    def loaded(self) -> str:
        """What is in the sphere: ``serial,lot,family,defect`` or ``NONE``."""
        return self._ask("UNIT?", lambda r: r.strip())

    def time_s(self) -> float:
        return self._ask("TIME?", lambda r: parse_floats(r, 1)[0])

    def advance_s(self, seconds: float) -> float:
        return self._ask(
            f"ADV {float(seconds)!r}", lambda r: parse_floats(r, 1)[0], idempotent=False
        )

    def advance_to_s(self, time_s: float) -> float:
        """Advance virtual time to at least ``time_s`` (safe to retry)."""
        return self._ask(f"ADVTO {float(time_s)!r}", lambda r: parse_floats(r, 1)[0])


class SimVlcFixture(SimFixture):
    """Fixture of the simulated VLC bench (``sim-vlc-fixture``): SIMCTL-1 plus
    ``FILTER BLUE|NONE`` (the blue filter in front of the photoreceiver)."""

    def set_filter(self, name: str | None) -> None:
        arg = "NONE" if not name else str(name).upper()
        self._ask(f"FILTER {arg}", _ok)
