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

    [instruments.<role>]           # role: source, ac_source (AC plans), power_analyzer, spectro,
                                   #       thermo, fixture, generator, scope (VLC modulation
                                   #       test, flicker)
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

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightcomp.drivers.base import InstrumentConfig
from lightcomp.errors import ConfigError, PlanError
from lightcomp.station.plan import _Ctx, read_toml

ROLES = (
    "source",
    "ac_source",
    "power_analyzer",
    "spectro",
    "thermo",
    "fixture",
    "generator",
    "scope",
)
"""Instrument roles a station knows."""

REQUIRED_ROLES = ("source", "spectro", "fixture")

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
    """The folder holding ``station/`` and ``calibration/`` (one rule:
    :func:`lightcomp.labpaths.lab_root`)."""
    from lightcomp.labpaths import lab_root

    return lab_root(start)


MAX_VALIDITY_DAYS = 3650.0
"""Longest calibration validity accepted (days); the lamp certificate usually limits it sooner."""

_NUMBER = (int, float)


def _finite_number(v: Any) -> bool:
    return isinstance(v, _NUMBER) and not isinstance(v, bool) and math.isfinite(v)


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# Driver options: name -> (check, what it must be). Drivers listed here accept only these
# options (a typo would silently fall back to the default); others only need a table.
_OPT_INT_POS = (lambda v: _whole(v) and v >= 1, "a whole number >= 1")
_OPT_POS = (lambda v: _finite_number(v) and v > 0, "a finite number > 0")
_OPT_BOOL = (lambda v: isinstance(v, bool), "true or false")
_OPT_STR = (lambda v: isinstance(v, str) and v != "", "a non-empty string")
DRIVER_OPTIONS: dict[str, dict[str, tuple]] = {
    "keithley2400": {},
    "e36312a": {"channel": (lambda v: _whole(v) and 1 <= v <= 3, "1, 2 or 3")},
    "wt310e": {"element": _OPT_INT_POS, "harmonics": _OPT_BOOL},
    "chroma61600": {"current_limit_a": _OPT_POS},
    "cs2000": {"poll_interval_s": _OPT_POS},
    "array-spectrometer": {
        "integration_time_s": _OPT_POS,
        "auto_range": _OPT_BOOL,
        "pixels": _OPT_INT_POS,
    },
    "ls218": {
        "tc_channel": (lambda v: _whole(v) and 1 <= v <= 8, "an input 1..8"),
        "ambient_channel": (lambda v: _whole(v) and 1 <= v <= 8, "an input 1..8"),
        "valid_range_c": (
            lambda v: (
                isinstance(v, list)
                and len(v) == 2
                and all(_finite_number(x) for x in v)
                and v[0] < v[1]
            ),
            "[low, high] in degC, low < high",
        ),
    },
    "operator": {"tty": _OPT_STR},
    "sim-fixture": {},
}

_SIMLAB_KEYS = {
    "seed": (lambda v: _whole(v) and v >= 0, "a whole number >= 0"),
    "speedup": (lambda v: _finite_number(v) and v >= 0, "a finite number >= 0"),
    "host": (lambda v: isinstance(v, str) and v != "", "a host name or address"),
    "devices": (lambda v: isinstance(v, str) and v != "", "a file path"),
}


def _check(ctx: _Ctx, section: str, table: Any, allowed: dict) -> dict:
    """The keys of ``[section]`` with known names and right types (others reported)."""
    if not isinstance(table, dict):
        ctx.report(None, section.split(".")[-1], f"'{section}' must be a table [{section}]")
        return {}
    good = {}
    for key, value in table.items():
        if key not in allowed:
            ctx.report(section, key, f"unknown key '{key}' in [{section}]")
            continue
        want = allowed[key]
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            ctx.report(section, key, f"'{key}' in [{section}] has the wrong type: {value!r}")
            continue
        if isinstance(value, float) and not math.isfinite(value):
            ctx.report(section, key, f"'{key}' in [{section}] must be finite, not {value}")
            continue
        good[key] = value
    return good


def _instrument(ctx: _Ctx, role: str, t: Any) -> InstrumentConfig | None:
    """One ``[instruments.<role>]`` table, every key checked (errors reported)."""
    from lightcomp.drivers import DRIVERS

    section = f"instruments.{role}"
    if role not in ROLES:
        ctx.report(section, None, f"unknown instrument role '{role}' (known: {', '.join(ROLES)})")
        return None
    if not isinstance(t, dict):
        ctx.report(None, role, f"[{section}] must be a table")
        return None
    n = len(ctx.errors)
    for key in t:
        if key not in _INSTRUMENT_KEYS:
            ctx.report(
                section,
                key,
                f"unknown key '{key}' in [{section}] (known: {', '.join(_INSTRUMENT_KEYS)})",
            )
    driver = t.get("driver")
    if not isinstance(driver, str) or not driver:
        ctx.report(
            section, "driver" if "driver" in t else None, f"[{section}] needs 'driver' (a string)"
        )
    elif driver not in DRIVERS:
        ctx.report(
            section,
            "driver",
            f"unknown instrument driver {driver!r} in [{section}] "
            f"(known: {', '.join(sorted(DRIVERS))})",
        )
    resource = t.get("resource")
    if not isinstance(resource, str) or not resource.strip():
        ctx.report(
            section,
            "resource" if "resource" in t else None,
            f"[{section}] needs 'resource' (a VISA resource or socket:// URL string)",
        )
    for key, (ok, what) in {
        "identity": _OPT_STR,
        "model": _OPT_STR,
        "timeout_s": _OPT_POS,
        "retries": (lambda v: _whole(v) and 0 <= v <= 10, "a whole number 0..10"),
    }.items():
        if key in t and not ok(t[key]):
            ctx.report(section, key, f"'{key}' in [{section}] must be {what}, not {t[key]!r}")
    options = t.get("options", {})
    if not isinstance(options, dict):
        ctx.report(
            section,
            "options",
            f"'options' in [{section}] must be a table {{ ... }}, not {options!r}",
        )
    elif isinstance(driver, str) and driver in DRIVER_OPTIONS:
        schema = DRIVER_OPTIONS[driver]
        for key, value in options.items():
            if key not in schema:
                known = ", ".join(schema) or "none"
                ctx.report(
                    section,
                    "options",
                    f"unknown option '{key}' for driver {driver} in [{section}] (known: {known})",
                )
            elif not schema[key][0](value):
                ctx.report(
                    section,
                    "options",
                    f"option '{key}' in [{section}] must be {schema[key][1]}, not {value!r}",
                )
    if len(ctx.errors) > n:
        return None
    return InstrumentConfig(
        role=role,
        driver=driver,
        resource=resource,
        identity=t.get("identity"),
        timeout_s=float(t.get("timeout_s", 5.0)),
        retries=int(t.get("retries", 2)),
        options={**options, **({"model": t["model"]} if "model" in t else {})},
    )


def load_station(path: str | Path, lab_root: str | Path | None = None) -> StationConfig:
    """Read and validate a station file.

    Raises :class:`~lightcomp.station.plan.FileErrors` (a :class:`PlanError`) listing
    every problem as ``file:line: ...``: unknown tables/keys, wrong types, non-finite
    numbers, unknown drivers and driver options, missing roles, bad ``[simlab]`` values.
    """
    data, text = read_toml(path)
    ctx = _Ctx(str(path), text)
    st = _check(ctx, "station", data.get("station", {}), _STATION_KEYS)
    cal = _check(ctx, "calibration", data.get("calibration", {}), _CALIBRATION_KEYS)
    if "validity_days" in cal and not 0 < cal["validity_days"] <= MAX_VALIDITY_DAYS:
        ctx.report(
            "calibration",
            "validity_days",
            f"'validity_days' in [calibration] must be > 0 and at most {MAX_VALIDITY_DAYS:g}",
        )
    if "warmup_s" in cal and cal["warmup_s"] < 0:
        ctx.report("calibration", "warmup_s", "'warmup_s' in [calibration] must be >= 0")
    clock = data.get("clock", {})
    kind = "system"
    if not isinstance(clock, dict):
        ctx.report(None, "clock", "'clock' must be a table [clock]")
        clock = {}
    else:
        kind = clock.get("kind", "simlab" if "simlab" in data else "system")
        if kind not in ("system", "simlab"):
            ctx.report("clock", "kind", f"unknown clock kind {kind!r} in [clock] (system, simlab)")
        for key in clock:
            if key not in ("kind", "resource"):
                ctx.report("clock", key, f"unknown key '{key}' in [clock]")
    simlab = data.get("simlab")
    if simlab is not None:
        if not isinstance(simlab, dict):
            ctx.report(None, "simlab", "'simlab' must be a table [simlab]")
        else:
            for key, value in simlab.items():
                # other keys belong to the simulated lab's own modules (faults, ageing ...)
                if key in _SIMLAB_KEYS and not _SIMLAB_KEYS[key][0](value):
                    ctx.report(
                        "simlab",
                        key,
                        f"'{key}' in [simlab] must be {_SIMLAB_KEYS[key][1]}, not {value!r}",
                    )
    insts = data.get("instruments")
    instruments: dict[str, InstrumentConfig] = {}
    if not isinstance(insts, dict) or not insts:
        ctx.report(None, "instruments", "station defines no [instruments.<role>] table")
    else:
        for role, t in insts.items():
            cfg = _instrument(ctx, role, t)
            if cfg is not None:
                instruments[role] = cfg
        for role in REQUIRED_ROLES:
            if role not in insts:
                ctx.report(None, "instruments", f"station has no [instruments.{role}]")
    ctx.raise_if_any()
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
