"""The simulated lab: one World, one simulated instrument per configured role.

``SimLab.start(station_config)`` reads ``[instruments.<role>]`` (which driver
each role uses) and the ``[simlab]`` table, starts one TCP server thread per
instrument and returns the actual resource strings in ``.resources`` (with
ephemeral ports these replace the configured ones).  ``[simlab]`` keys:

* ``seed`` (int, default 0), ``speedup`` (virtual s per real s, default 0:
  virtual time moves only through the clock), ``host`` (default 127.0.0.1),
  ``devices`` (path of the family profiles, default station/simlab/devices.toml);
* ``[simlab.faults.<role>]`` ``fault``, ``count`` (default 1), ``after``
  (replies to let through first, default 0) — or a list of such tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lightcomp.errors import PlanError
from lightcomp.simlab.instruments import (
    FAULTS,
    SERIAL_DRIVERS,
    SIMULATORS,
    FaultQueue,
    FixtureSim,
    SimInstrument,
)
from lightcomp.simlab.server import InstrumentServer
from lightcomp.simlab.vlc import VLC_SIMULATORS
from lightcomp.simlab.world import World

ALL_SIMULATORS: dict[str, type[SimInstrument]] = {**SIMULATORS, **VLC_SIMULATORS}
"""Every simulated instrument: the photometry lab's and the VLC bench's."""


def _port_of(resource: str) -> int | None:
    m = re.fullmatch(r"TCPIP\d*::[^:]+::(\d+)::SOCKET", resource.strip(), flags=re.I)
    if m:
        return int(m.group(1))
    m = re.fullmatch(r"socket://[^:]+:(\d+)", resource.strip(), flags=re.I)
    return int(m.group(1)) if m else None


def resource_string(driver: str, host: str, port: int) -> str:
    """How a client reaches a simulated instrument served on ``host:port``."""
    if driver in SERIAL_DRIVERS:
        return f"socket://{host}:{port}"
    return f"TCPIP0::{host}::{port}::SOCKET"


class SimLab:
    """Running simulated lab (context manager).

    :ivar resources: role -> resource string to put in the station config; the
        key ``"clock"`` is the control channel for :class:`SimlabClock`.
    :ivar world: the shared physical state (for tests and diagnostics).
    """

    def __init__(
        self, world: World, servers: dict[str, InstrumentServer], resources: dict[str, str]
    ):
        self.world = world
        self.servers = servers
        self.resources = resources

    @property
    def simulators(self) -> dict[str, SimInstrument]:
        return {role: s.sim for role, s in self.servers.items()}

    @classmethod
    def start(
        cls,
        station_config: Mapping[str, Any],
        *,
        ephemeral_ports: bool = True,
        seed: int | None = None,
        speedup: float | None = None,
    ) -> SimLab:
        """Start every simulated instrument of ``station_config`` (the parsed station TOML)."""
        sim_cfg = dict(station_config.get("simlab", {}))
        instruments = station_config.get("instruments")
        if not isinstance(instruments, Mapping) or not instruments:
            raise PlanError("station config has no [instruments.<role>] tables to simulate")
        seed = sim_cfg.get("seed", 0) if seed is None else seed
        speedup = sim_cfg.get("speedup", 0.0) if speedup is None else speedup
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise PlanError(f"[simlab] seed must be a whole number >= 0, not {seed!r}")
        if isinstance(speedup, bool) or not isinstance(speedup, int | float) or not speedup >= 0:
            raise PlanError(f"[simlab] speedup must be a number >= 0, not {speedup!r}")
        world = World(
            seed=seed,
            speedup=float(speedup),
            devices_path=sim_cfg.get("devices"),
            lamps_folder=sim_cfg.get("lamps"),
        )
        host = str(sim_cfg.get("host", "127.0.0.1"))
        servers: dict[str, InstrumentServer] = {}
        resources: dict[str, str] = {}
        try:
            for role, table in instruments.items():
                driver = table.get("driver")
                if driver not in ALL_SIMULATORS:
                    raise PlanError(
                        f"[instruments.{role}]: no simulator for driver {driver!r} "
                        f"(simulated: {', '.join(sorted(ALL_SIMULATORS))})"
                    )
                port = 0
                if not ephemeral_ports:
                    port = _port_of(str(table.get("resource", "")))
                    if port is None:
                        raise PlanError(
                            f"[instruments.{role}]: resource {table.get('resource')!r} has no "
                            "TCP port; use TCPIP0::host::port::SOCKET or socket://host:port"
                        )
                sim = ALL_SIMULATORS[driver].from_options(world, FaultQueue(), table.get("options"))
                try:
                    server = InstrumentServer(sim, host, port).start()
                except OSError as exc:
                    raise PlanError(
                        f"simlab cannot listen on {host}:{port} for {role}: {exc}"
                    ) from exc
                servers[role] = server
                resources[role] = resource_string(driver, host, server.port)
                if isinstance(sim, FixtureSim):
                    resources.setdefault("clock", resources[role])
            lab = cls(world, servers, resources)
            for role, spec in dict(sim_cfg.get("faults", {})).items():
                for item in spec if isinstance(spec, list) else [spec]:
                    lab.inject(
                        role,
                        item.get("fault"),
                        int(item.get("count", 1)),
                        after=int(item.get("after", 0)),
                    )
        except BaseException:
            for s in servers.values():
                s.stop()
            raise
        return lab

    def inject(self, role: str, fault: str, count: int = 1, *, after: int = 0) -> None:
        """Make the next ``count`` replies of ``role`` fail with ``fault`` (after ``after`` good ones).

        Faults: ``timeout`` (no reply), ``garbled`` (non-protocol bytes),
        ``truncated`` (half a reply, no terminator), ``disconnect`` (connection
        closed), ``saturated`` (spectrometers: full-scale scan / CS-2000 ER10),
        ``wrong_idn`` (a foreign identity).  Faults of one instrument fire in
        the order injected; transport faults hit replies only (a command without
        reply is never dropped).
        """
        if role not in self.servers:
            raise PlanError(
                f"no simulated instrument for role {role!r} (have {sorted(self.servers)})"
            )
        if fault not in FAULTS:
            raise PlanError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self.servers[role].sim.faults.add(fault, count, after)

    def stop(self) -> None:
        """Stop every server (idempotent)."""
        for server in self.servers.values():
            server.stop()
        self.servers = {}

    def __enter__(self) -> SimLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def station_config(self, station_config: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``station_config`` whose instrument (and clock) resources point at this lab."""
        out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in station_config.items()}
        out["instruments"] = {
            role: {**dict(table), "resource": self.resources.get(role, table.get("resource"))}
            for role, table in station_config.get("instruments", {}).items()
        }
        if "clock" in self.resources:
            out["clock"] = {
                **dict(station_config.get("clock", {"kind": "simlab"})),
                "resource": self.resources["clock"],
            }
        return out
