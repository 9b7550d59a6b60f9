"""Station configuration: ``station/<name>.toml`` — instruments, sphere, calibration set.

Tables read here (others, e.g. ``[simlab]`` for the simulated lab, are left to
their owners and passed through in :attr:`StationConfig.raw`)::

    [station]
    name = "SIM-1"                 # station name (stored with runs, calibrations, instruments)
    description = "..."
    sphere = "2 m sphere, ..."     # free text

    [calibration]
    lamp = "calibration/lamps/SIM-STD-001.toml"   # standard-lamp certificate (relative to the lab root)
    validity_days = 30             # a calibration is valid this long (never beyond the certificate)
    warmup_s = 900                 # standard-lamp warm-up before its reading

    [clock]                        # "system" (real time) or "simlab" (virtual time of the simulated lab)
    kind = "simlab"
    resource = "TCPIP0::..."       # simlab: the control channel (default: the fixture's resource)

    [instruments.<role>]           # role: source, power_analyzer, spectro, thermo, fixture
    driver = "keithley2400"        # lightcomp.drivers registry name
    resource = "TCPIP0::127.0.0.1::5025::SOCKET"
    identity = "MODEL 2400"        # expected substring of the identity reply
    model = "2400"                 # free text (kept in the options)
    timeout_s = 5.0
    retries = 2                    # driver-level retries of idempotent queries
    options = { ... }              # driver options

Relative paths (``lamp``) are resolved against the *lab root*: the folder that
holds ``station/`` and ``calibration/`` (see :func:`find_lab_root`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightcomp.drivers import instrument_config
from lightcomp.drivers.base import InstrumentConfig
from lightcomp.errors import ConfigError, PlanError
from lightcomp.station.plan import _Ctx, read_toml

ROLES = ("source", "power_analyzer", "spectro", "thermo", "fixture")
"""Instrument roles a station knows."""

REQUIRED_ROLES = ("source", "spectro", "fixture")

LAB_ROOT_ENV = "LIGHTCOMP_LAB"

_STATION_KEYS = {"name": str, "description": str, "sphere": str, "lab": str, "lab_address": str}
_CALIBRATION_KEYS = {
    "lamp": str,
    "line_lamp": str,  # fixture id of an Hg-Ar lamp: wavelength-scale check at calibration
    "validity_days": (int, float),
    "warmup_s": (int, float),
}
_INSTRUMENT_KEYS = ("driver", "resource", "identity", "timeout_s", "retries", "options", "model")


@dataclass(frozen=True)
class StationConfig:
    """A validated station configuration."""

    name: str
    path: str
    instruments: dict[str, InstrumentConfig]
    lamp: str | None = None
    line_lamp: str | None = None
    validity_days: float = 30.0
    warmup_s: float = 900.0
    clock: dict = field(default_factory=dict)
    description: str | None = None
    sphere: str | None = None
    lab: str | None = None  # laboratory name, printed on certificates
    lab_address: str | None = None
    lab_root: Path | None = None
    raw: dict = field(default_factory=dict)

    @property
    def is_simulated(self) -> bool:
        """True when the station is the simulated lab (has a ``[simlab]`` table)."""
        return "simlab" in self.raw

    def lamp_path(self) -> Path | None:
        if self.lamp is None:
            return None
        p = Path(self.lamp)
        if not p.is_absolute() and self.lab_root is not None:
            p = self.lab_root / p
        return p

    def with_resources(self, resources: dict[str, str]) -> StationConfig:
        """A copy with the instruments' resource strings replaced (e.g. the simlab's ports)."""
        inst = {}
        for role, cfg in self.instruments.items():
            res = resources.get(role, cfg.resource)
            inst[role] = InstrumentConfig(
                role=cfg.role,
                driver=cfg.driver,
                resource=res,
                identity=cfg.identity,
                timeout_s=cfg.timeout_s,
                retries=cfg.retries,
                options=dict(cfg.options),
            )
        clock = dict(self.clock)
        if "clock" in resources:
            clock["resource"] = resources["clock"]
        elif "fixture" in resources and self.clock.get("kind") == "simlab":
            clock["resource"] = resources["fixture"]
        return StationConfig(**{**self.__dict__, "instruments": inst, "clock": clock})

    def make_clock(self):
        """The station's clock: real time, or the simulated lab's virtual time."""
        if self.clock.get("kind") == "simlab":
            from lightcomp.simlab import SimlabClock

            resource = self.clock.get("resource") or self.instruments["fixture"].resource
            return SimlabClock(resource)
        from lightcomp.drivers.base import SystemClock

        return SystemClock()


def find_lab_root(start: str | Path | None = None) -> Path:
    """The folder holding ``station/`` and ``calibration/``.

    ``$LIGHTCOMP_LAB`` if set, else ``start`` (default: the current directory)
    or the nearest parent that has both folders.  Raises :class:`ConfigError`
    saying where it looked.
    """
    env = os.environ.get(LAB_ROOT_ENV)
    if env:
        root = Path(env).expanduser().resolve()
        if (root / "station").is_dir():
            return root
        raise ConfigError(f"{LAB_ROOT_ENV}={env} has no station/ folder")
    here = Path(start or Path.cwd()).resolve()
    for cand in (here, *here.parents):
        if (cand / "station").is_dir() and (cand / "calibration").is_dir():
            return cand
    raise ConfigError(
        f"cannot find the lab folders station/ and calibration/ in {here} or its parents: "
        f"run from the lightcomp repository root or set {LAB_ROOT_ENV}=/path/to/it"
    )


def _check(ctx: _Ctx, section: str, table: Any, allowed: dict, *, extra_ok: bool = False) -> dict:
    if not isinstance(table, dict):
        raise ctx.error(None, section.split(".")[-1], f"'{section}' must be a table [{section}]")
    for key, value in table.items():
        if key not in allowed:
            if extra_ok:
                continue
            raise ctx.error(section, key, f"unknown key '{key}' in [{section}]")
        want = allowed[key]
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            raise ctx.error(section, key, f"'{key}' in [{section}] has the wrong type: {value!r}")
    return table


def load_station(path: str | Path, lab_root: str | Path | None = None) -> StationConfig:
    """Read and validate a station file; raise :class:`PlanError` ``file:line: ...`` on errors."""
    data, text = read_toml(path)
    ctx = _Ctx(str(path), text)
    st = _check(ctx, "station", data.get("station", {}), _STATION_KEYS)
    cal = _check(ctx, "calibration", data.get("calibration", {}), _CALIBRATION_KEYS)
    for key in ("validity_days",):
        if key in cal and not cal[key] > 0:
            raise ctx.error("calibration", key, f"'{key}' in [calibration] must be > 0")
    if "warmup_s" in cal and cal["warmup_s"] < 0:
        raise ctx.error("calibration", "warmup_s", "'warmup_s' in [calibration] must be >= 0")
    clock = data.get("clock", {})
    if not isinstance(clock, dict):
        raise ctx.error(None, "clock", "'clock' must be a table [clock]")
    kind = clock.get("kind", "simlab" if "simlab" in data else "system")
    if kind not in ("system", "simlab"):
        raise ctx.error("clock", "kind", f"unknown clock kind {kind!r} in [clock] (system, simlab)")
    insts = data.get("instruments")
    if not isinstance(insts, dict) or not insts:
        raise ctx.error(None, "instruments", "station defines no [instruments.<role>] table")
    instruments: dict[str, InstrumentConfig] = {}
    for role, t in insts.items():
        section = f"instruments.{role}"
        if role not in ROLES:
            raise ctx.error(
                section, None, f"unknown instrument role '{role}' (known: {', '.join(ROLES)})"
            )
        if not isinstance(t, dict):
            raise ctx.error(None, role, f"[{section}] must be a table")
        table = dict(t)
        model = table.pop("model", None)
        try:
            cfg = instrument_config(role, table)
        except PlanError as exc:
            bad = next((k for k in table if k not in _INSTRUMENT_KEYS), None)
            raise ctx.error(section, bad, str(exc)) from None
        if model is not None:
            cfg = InstrumentConfig(**{**cfg.__dict__, "options": {**cfg.options, "model": model}})
        instruments[role] = cfg
    for role in REQUIRED_ROLES:
        if role not in instruments:
            raise ctx.error(None, "instruments", f"station has no [instruments.{role}]")
    if lab_root is None:
        p = Path(path).resolve()
        lab_root = p.parent.parent if p.parent.name == "station" else p.parent
    name = st.get("name") or Path(path).stem
    return StationConfig(
        name=name,
        path=str(path),
        instruments=instruments,
        lamp=cal.get("lamp"),
        line_lamp=cal.get("line_lamp"),
        validity_days=float(cal.get("validity_days", 30.0)),
        warmup_s=float(cal.get("warmup_s", 900.0)),
        clock={**clock, "kind": kind},
        description=st.get("description"),
        sphere=st.get("sphere"),
        lab=st.get("lab"),
        lab_address=st.get("lab_address"),
        lab_root=Path(lab_root),
        raw=data,
    )


def resolve_file(path: str | Path, folder: str, lab_root: Path | None = None) -> Path:
    """Find ``path`` as given, else under ``<lab root>/<folder>/`` (``.toml`` optional).

    Lets a user write ``--plan LS0-COB-4000`` or ``--station sim``.
    """
    p = Path(path)
    if p.is_file():
        return p
    roots = [lab_root] if lab_root else []
    try:
        roots.append(find_lab_root())
    except ConfigError:
        pass
    for root in roots:
        for cand in (root / folder / p, root / folder / p.with_suffix(".toml"), root / p):
            if cand.is_file():
                return cand
    raise PlanError(f"{path}: no such file (looked in . and {folder}/ of the lab folder)")
