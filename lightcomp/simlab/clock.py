"""Virtual clock of the simulated lab (implements :class:`lightcomp.drivers.base.Clock`)."""

from __future__ import annotations

import math

from lightcomp.drivers.base import Clock, InstrumentConfig
from lightcomp.errors import InstrumentError


class SimlabClock(Clock):
    """Clock whose :meth:`sleep` advances the lab's virtual time instantly.

    A 30-minute LM-79 stabilisation therefore takes milliseconds; the device's
    warm-up follows this clock since power-on.  ``resource`` is the lab's control
    channel (``SimLab.resources["clock"]``, the fixture's port).
    """

    def __init__(self, resource: str, *, timeout_s: float = 5.0, retries: int = 2) -> None:
        from lightcomp.drivers import open_instrument

        self.config = InstrumentConfig(
            role="clock",
            driver="sim-fixture",
            resource=resource,
            identity="SIMLAB",
            timeout_s=timeout_s,
            retries=retries,
        )
        self._fixture = open_instrument(self.config)

    def now(self) -> float:
        """Virtual seconds since the lab started."""
        return self._fixture.time_s()

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of device time pass (instantly)."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise InstrumentError(f"clock at {self.config.resource}: cannot sleep {seconds!r} s")
        if seconds:
            self._fixture.advance_to_s(self.now() + seconds)

    def close(self) -> None:
        self._fixture.close()
