"""The station's instrument set: open by role, recover after faults, leave safe.

Shared by the batch runner and the calibration procedure (:mod:`lightcomp.station.lab`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lightcomp.drivers import open_instrument
from lightcomp.errors import InstrumentError
from lightcomp.station.config import StationConfig

__all__ = ["BatchStopped", "StationInstruments"]


class BatchStopped(InstrumentError):
    """The batch stopped before its end (dead instrument, too many errors); it is resumable."""


class StationInstruments:
    """The opened instruments of a station, by role, with recovery and safe state."""

    def __init__(self, station: StationConfig, opener: Callable | None = None) -> None:
        self.station = station
        self._open = opener or open_instrument
        self.inst: dict[str, Any] = {}
        self.identities: dict[str, str] = {}

    def open_all(self, attempts: int = 2) -> StationInstruments:
        """Open every instrument (each up to ``attempts`` times) and read its identity."""
        try:
            for role, cfg in self.station.instruments.items():
                for attempt in range(attempts):
                    try:
                        self.inst[role] = self._open(cfg)
                        self.identities[role] = self.inst[role].identify()
                        break
                    except InstrumentError:
                        self.inst.pop(role, None)
                        if attempt + 1 == attempts:
                            raise
        except BaseException:
            self.close_all()
            raise
        return self

    def __getitem__(self, role: str):
        return self.inst[role]

    def get(self, role: str):
        return self.inst.get(role)

    def __contains__(self, role: str) -> bool:
        return role in self.inst

    def recover(self) -> None:
        """Check every instrument; re-open the ones that do not answer or answer wrongly.

        Raises :class:`BatchStopped` naming the instrument that cannot be brought back.
        """
        for role, cfg in self.station.instruments.items():
            inst = self.inst.get(role)
            try:
                if inst is None:
                    raise InstrumentError("not open")
                inst.check_identity()
                continue
            except Exception:  # noqa: BLE001 - any failure means re-open
                pass
            if inst is not None:
                try:
                    inst.close()
                except Exception:  # noqa: BLE001
                    pass
            last: Exception | None = None
            for _ in range(2):
                try:
                    self.inst[role] = self._open(cfg)
                    self.identities[role] = self.inst[role].identify()
                    last = None
                    break
                except Exception as exc:  # noqa: BLE001
                    last = exc
                    self.inst.pop(role, None)
            if last is not None:
                raise BatchStopped(
                    f"instrument {role} ({cfg.driver}) at {cfg.resource} is not responding ({last})"
                ) from last

    def safe_all(self) -> None:
        """Every instrument to its safe state (outputs off, aux lamp off); never raises."""
        for role, inst in list(self.inst.items()):
            try:
                inst.safe_state()
            except Exception:  # noqa: BLE001
                pass
            if role == "fixture":
                try:
                    inst.set_aux_lamp(False)
                except Exception:  # noqa: BLE001
                    pass

    def close_all(self) -> None:
        self.safe_all()
        for inst in self.inst.values():
            try:
                inst.close()
            except Exception:  # noqa: BLE001
                pass
        self.inst = {}
