"""The LM-80 rig file and the (optionally simulated) lab a campaign command works on.

A rig file (``station/lm80/sim.toml`` for the simulated lab) names the ageing
instruments; the sphere station of the interval readings is an ordinary station
file (``--station``)::

    [rig]
    name = "LM80-RIG-SIM"
    chambers = 3              # one chamber per case temperature
    channels = 96             # rack channels (samples)
    tc_tolerance_c = 2.0      # case temperature tolerance (IES LM-80-20 *verify*)
    sphere_voltage_limit_v = 60.0
    [instruments.chamber1] ... driver = "modbus-chamber"   (chamber k: role chamber<k>)
    [instruments.rack]         driver = "lm80-rack"
    [instruments.tc_logger]    driver = "ls218"            (input k: chamber k's Tc point)
    [simlab] ...               (see lightcomp.simlab.lm80rig)
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightcomp.drivers.base import InstrumentConfig
from lightcomp.errors import PlanError

RIG_KEYS = {"name", "chambers", "channels", "tc_tolerance_c", "sphere_voltage_limit_v"}


@dataclass(frozen=True)
class RigConfig:
    """A validated rig file."""

    name: str
    path: str
    chambers: int
    channels: int
    tc_tolerance_c: float
    sphere_voltage_limit_v: float
    instruments: dict[str, InstrumentConfig]
    raw: dict = field(default_factory=dict)

    def chamber_role(self, k: int) -> str:
        return f"chamber{k}"

    def with_resources(self, resources: dict[str, str]) -> RigConfig:
        inst = {
            role: InstrumentConfig(
                **{**cfg.__dict__, "resource": resources.get(role, cfg.resource)}
            )
            for role, cfg in self.instruments.items()
        }
        return RigConfig(**{**self.__dict__, "instruments": inst})


def load_rig(path: str | Path) -> RigConfig:
    """Read and check a rig file; errors name the file and what is wrong."""
    from lightcomp.drivers import instrument_config

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"rig file {path} not found") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PlanError(f"rig file {path}: {exc}") from None
    unknown = set(data) - {"rig", "instruments", "simlab"}
    if unknown:
        raise PlanError(f"rig file {path}: unknown table(s) {sorted(unknown)}")
    rig = dict(data.get("rig", {}))
    bad = set(rig) - RIG_KEYS
    if bad:
        raise PlanError(f"rig file {path}: unknown key(s) in [rig]: {sorted(bad)}")
    try:
        chambers = int(rig.get("chambers", 3))
        channels = int(rig.get("channels", 96))
        tol = float(rig.get("tc_tolerance_c", 2.0))
        vlim = float(rig.get("sphere_voltage_limit_v", 60.0))
    except (TypeError, ValueError) as exc:
        raise PlanError(f"rig file {path}: [rig] {exc}") from None
    if chambers < 1 or channels < 1 or tol <= 0 or vlim <= 0:
        raise PlanError(f"rig file {path}: chambers, channels, tolerances must be > 0")
    instruments = {
        role: instrument_config(role, table)
        for role, table in dict(data.get("instruments", {})).items()
    }
    need = [f"chamber{k}" for k in range(1, chambers + 1)] + ["rack", "tc_logger"]
    missing = [r for r in need if r not in instruments]
    if missing:
        raise PlanError(f"rig file {path}: missing [instruments.{missing[0]}]")
    return RigConfig(
        name=str(rig.get("name") or path.stem),
        path=str(path),
        chambers=chambers,
        channels=channels,
        tc_tolerance_c=tol,
        sphere_voltage_limit_v=vlim,
        instruments=instruments,
        raw=data,
    )


class RigInstruments:
    """The rig's opened instruments: ``chambers[k]``, ``rack``, ``logger``."""

    def __init__(self, rig: RigConfig) -> None:
        from lightcomp.drivers import open_instrument

        self.rig = rig
        self.chambers: dict[int, Any] = {}
        self.rack = None
        self.logger = None
        opened = []
        try:
            for k in range(1, rig.chambers + 1):
                self.chambers[k] = open_instrument(rig.instruments[rig.chamber_role(k)])
                opened.append(self.chambers[k])
            self.rack = open_instrument(rig.instruments["rack"])
            opened.append(self.rack)
            self.logger = open_instrument(rig.instruments["tc_logger"])
        except BaseException:
            for inst in opened:
                inst.close()
            raise

    def close(self) -> None:
        for inst in [*self.chambers.values(), self.rack, self.logger]:
            if inst is not None:
                inst.close()


@dataclass
class Lab:
    """What a campaign command works with: the sphere station, the rig, and (simulated
    lab only) the running simulators."""

    station: Any  # StationConfig with live resources
    rig: RigConfig
    sim_rig: Any = None  # lightcomp.simlab.lm80rig.Lm80Rig when simulated


@contextmanager
def open_lab(station, rig: RigConfig, *, simulated: bool, seed: int | None = None) -> Iterator[Lab]:
    """The lab for the block: on hardware as configured, or the simulated lab with the
    sphere station and the rig sharing one world (one virtual clock)."""
    if not simulated:
        yield Lab(station, rig)
        return
    from lightcomp.simlab import SimLab
    from lightcomp.simlab.lm80rig import Lm80Rig
    from lightcomp.station.lab import simlab_config

    raw = simlab_config(station)
    rig_raw = dict(rig.raw)
    if seed is not None:
        rig_raw["simlab"] = {**dict(rig_raw.get("simlab", {})), "seed": seed}
    with SimLab.start(raw, ephemeral_ports=True, seed=seed) as lab:
        rig_raw["rig"] = {"chambers": rig.chambers, "channels": rig.channels}
        with Lm80Rig.start(lab.world, rig_raw) as sim_rig:
            yield Lab(
                station.with_resources(lab.resources),
                rig.with_resources(sim_rig.resources),
                sim_rig,
            )
