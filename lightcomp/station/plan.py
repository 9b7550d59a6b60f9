"""Test plans: ``station/plans/*.toml`` — how one component family is tested.

A plan names the family, the drive conditions (DC current, DC voltage or AC
mains), the stabilisation rule, the measurement steps and the limits per
quantity.  Loading validates everything and rejects unknown keys and
impossible limits with ``file:line: message`` (:class:`~lightcomp.errors.PlanError`).
``tomllib`` gives no line numbers for keys, so the line is found by scanning
the text for the key inside its table.

Layout (every table but ``[plan]``, ``[drive]`` and ``[limits]`` is optional)::

    [plan]
    name = "LS0-COB-4000"          # plan name (stored with every test run)
    version = "1"
    family = "LS0-COB-4000"        # family name as registered (lightcomp registry)
    manufacturer = "..."           # optional, disambiguates the family name
    description = "..."

    [drive]                        # mode: "dc-current" | "dc-voltage" | "ac"
    mode = "dc-current"
    current_a = 0.350
    voltage_limit_v = 48.0         # compliance (dc-current)
    # voltage_v / current_limit_a  (dc-voltage), voltage_v / frequency_hz (ac)

    [stabilisation]                # IES LM-79-19 / CIE S 025 defaults
    interval_s = 900.0             # readings every 15 min ...
    window_s = 1800.0              # ... over 30 min ...
    max_variation = 0.005          # ... varying < 0.5 % (max-min)/mean
    min_readings = 3
    max_duration_s = 10800.0       # give up (component -> error) after 3 h
    quantities = ["flux", "power"]

    [measurement]
    dark = true                    # shutter-closed reading per component
    self_absorption = "scalar"     # "scalar" | "spectral" | "none" (auxiliary lamp)
    temperature = true             # Tc (channel tc_channel) and ambient (ambient_channel)
    tc_channel = 1
    ambient_channel = 2
    retries = 2                    # re-measure a component after an instrument fault

    [flicker]                      # light waveform for flicker (IEEE 1789-2015), scope ch 2
    enabled = true
    sample_rate_hz = 20000.0       # >= 6 kHz: IEEE 1789 judges modulation up to 3 kHz
    duration_s = 0.2               # >= 0.1 s; at most 62 500 samples (one scope record)

    [limits]                       # <quantity>_min / <quantity>_max, plus:
    flux_min = 1080.0              # lm
    ansi_quadrangle = 4000         # chromaticity inside this ANSI C78.377 7-step quadrangle

Quantities are those of :data:`QUANTITIES` (short plan name -> key in the
measured quantities, unit, physically possible range).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightcomp import quantities as catalogue
from lightcomp.errors import PlanError

INF = math.inf

QUANTITIES: dict[str, tuple[str, str, float, float]] = {
    q.plan: (q.key, q.unit, q.lo, q.hi)
    for q in catalogue.QUANTITIES
    if q.plan and q.kind == "number"
}
"""Quantities a plan may limit: plan name -> (quantity key, SI unit, min possible, max possible).

Derived from the quantity catalogue (:mod:`lightcomp.quantities`); a limit may also
name a quantity by an accepted alias (``luminous_flux_min``, ``CCT_max``), which is
stored under the plan name."""

ANSI_NOMINAL_CCTS = (2200, 2500, 2700, 3000, 3500, 4000, 4500, 5000, 5700, 6500)
"""Nominal CCTs of the ANSI C78.377-2017 quadrangles (K)."""

DRIVE_MODES = ("dc-current", "dc-voltage", "ac")
STABILISATION_QUANTITIES = ("flux", "power")

_SECTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "plan": {
        "name": str,
        "version": (str, int),
        "family": str,
        "manufacturer": str,
        "description": str,
    },
    "drive": {
        "mode": str,
        "current_a": (int, float),
        "voltage_limit_v": (int, float),
        "voltage_v": (int, float),
        "current_limit_a": (int, float),
        "frequency_hz": (int, float),
    },
    "stabilisation": {
        "interval_s": (int, float),
        "window_s": (int, float),
        "max_variation": (int, float),
        "min_readings": int,
        "max_duration_s": (int, float),
        "quantities": list,
    },
    "uncertainty": {  # issue 19, read by lightcomp.uncertainty.station
        "model": str,
        "required": bool,
        "decision_rule": str,
        "trials": int,
        "max_trials": int,
        "budget_trials": int,
    },
    "measurement": {
        "dark": bool,
        "self_absorption": str,
        "temperature": bool,
        "tc_channel": int,
        "ambient_channel": int,
        "retries": int,
    },
    "flicker": {"enabled": bool, "sample_rate_hz": (int, float), "duration_s": (int, float)},
    "limits": {},  # checked against QUANTITIES
    "modulation": {},  # VLC test, checked by lightcomp.station.modulation.modulation_settings
}
_REQUIRED = {"plan": ("name", "family"), "drive": ("mode",)}


@dataclass(frozen=True)
class Drive:
    """Drive conditions of the component under test (SI units)."""

    mode: str  # dc-current | dc-voltage | ac
    current_a: float | None = None
    voltage_limit_v: float | None = None
    voltage_v: float | None = None
    current_limit_a: float | None = None
    frequency_hz: float | None = None


@dataclass(frozen=True)
class StabilisationRule:
    """LM-79 stabilisation: ``min_readings`` readings ``interval_s`` apart over ``window_s``
    varying by less than ``max_variation`` ((max - min) / mean) in every quantity."""

    interval_s: float = 900.0
    window_s: float = 1800.0
    max_variation: float = 0.005
    min_readings: int = 3
    max_duration_s: float = 10800.0
    quantities: tuple[str, ...] = ("flux", "power")


@dataclass(frozen=True)
class MeasurementSteps:
    """Optional steps of one component measurement."""

    dark: bool = True
    self_absorption: str = "scalar"  # scalar | spectral | none
    temperature: bool = True
    tc_channel: int = 1
    ambient_channel: int = 2
    retries: int = 2


FLICKER_MAX_MODULATION_HZ = 3000.0
"""IEEE 1789-2015 exempts modulation above 3 kHz; a flicker record must resolve up to it."""
FLICKER_MIN_DURATION_S = 0.1
"""Shortest light record: ten ripple periods of 50 Hz mains (100 Hz ripple)."""
FLICKER_MAX_SAMPLES = 62_500
"""Longest record: one acquisition of the station's scope (DSOX1102G, RAW points)."""


@dataclass(frozen=True)
class FlickerSettings:
    """``[flicker]``: record the light waveform (photoreceiver on the scope) once the unit
    is stable, for percent flicker, flicker index and the IEEE 1789-2015 verdict."""

    sample_rate_hz: float = 20_000.0
    duration_s: float = 0.2

    @property
    def points(self) -> int:
        return round(self.sample_rate_hz * self.duration_s)


@dataclass(frozen=True)
class Limit:
    """Limit on one quantity: ``min <= value <= max`` (either side optional)."""

    name: str  # plan name, e.g. "flux"
    quantity: str  # key in the quantities, e.g. "luminous_flux"
    unit: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class TestPlan:
    """A validated test plan."""

    __test__ = False  # not a pytest class

    name: str
    family: str
    drive: Drive
    stabilisation: StabilisationRule
    measurement: MeasurementSteps
    limits: tuple[Limit, ...]
    ansi_quadrangle: int | None = None
    version: str | None = None
    manufacturer: str | None = None
    description: str | None = None
    path: str | None = None
    sha256: str | None = None
    raw: dict = field(default_factory=dict)
    modulation: Any = None  # ModulationSettings of a [modulation] table (VLC test)
    flicker: FlickerSettings | None = None  # [flicker] enabled: light waveform recorded

    def snapshot(self) -> dict:
        """The plan as stored with a test run (the parsed TOML plus its origin)."""
        return {"path": self.path, "sha256": self.sha256, **self.raw}


def find_key_line(text: str, section: str | None, key: str | None) -> int:
    """1-based line of ``key`` inside table ``[section]`` of TOML ``text`` (best effort).

    Falls back to the table header, then to the first occurrence of the key
    anywhere, then to line 1.
    """
    lines = text.splitlines()
    header_re = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]\s*(#.*)?$")
    current = None
    header_line = None
    first_any = None
    key_re = (
        re.compile(rf"^\s*(\"{re.escape(key)}\"|'{re.escape(key)}'|{re.escape(key)})\s*=")
        if key
        else None
    )
    for i, line in enumerate(lines, start=1):
        m = header_re.match(line)
        if m:
            current = m.group(1).strip()
            if section is not None and current == section and header_line is None:
                header_line = i
            continue
        if key_re and key_re.match(line):
            if current == section or (section is None and current is None):
                return i
            if first_any is None:
                first_any = i
    return header_line or first_any or 1


class FileErrors(PlanError):
    """Every problem found in one station file or plan (``errors``: ``file:line: msg`` each).

    Its message is the first error plus how many more there are, so a command still
    prints one line; ``lightcomp station check`` prints them all.
    """

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        more = len(self.errors) - 1
        super().__init__(
            self.errors[0]
            + (f" (and {more} more: `lightcomp station check` lists them)" if more else "")
        )


class _Ctx:
    """Error reporting with file:line for one TOML file; collects every error."""

    def __init__(self, path: str, text: str, error_cls: type[Exception] = PlanError):
        self.path = path
        self.text = text
        self.error_cls = error_cls
        self.errors: list[str] = []

    def where(self, section: str | None, key: str | None) -> str:
        return f"{self.path}:{find_key_line(self.text, section, key)}"

    def error(self, section: str | None, key: str | None, message: str) -> Exception:
        return self.error_cls(f"{self.where(section, key)}: {message}")

    def report(self, section: str | None, key: str | None, message: str) -> None:
        """Record an error and go on checking the rest of the file."""
        msg = f"{self.where(section, key)}: {message}"
        if msg not in self.errors:
            self.errors.append(msg)

    def raise_if_any(self) -> None:
        if self.errors:
            n = len(self.path) + 1
            self.errors.sort(key=lambda e: int(e[n:].split(":", 1)[0] or 0))
            if self.error_cls is PlanError:
                raise FileErrors(self.errors)
            raise self.error_cls(self.errors[0])


def read_toml(path: str | Path, error_cls: type[Exception] = PlanError) -> tuple[dict, str]:
    """Parse a TOML file; raise ``error_cls`` naming the file (and line) when unreadable."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise error_cls(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error_cls(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}; TOML files are UTF-8): "
            "save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc.args[0] if exc.args else exc)
        line = getattr(exc, "lineno", None)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        if line is None and m:
            line = int(m.group(1))
        where = f"{path}:{line}" if line else str(path)
        raise error_cls(f"{where}: invalid TOML: {msg}") from exc


def _type_names(want) -> str:
    return " or ".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))


def _check_types(ctx: _Ctx, section: str, table: Any) -> dict:
    """The keys of ``[section]`` that have a known name and the right type (others reported)."""
    if not isinstance(table, dict):
        ctx.report(None, section, f"'{section}' must be a table [{section}]")
        return {}
    allowed = _SECTIONS[section]
    good = {}
    for key, value in table.items():
        if key not in allowed:
            ctx.report(section, key, f"unknown key '{key}' in [{section}]")
            continue
        want = allowed[key]
        ok = isinstance(value, want) and not (isinstance(value, bool) and want is not bool)
        if not ok:
            ctx.report(
                section, key, f"'{key}' in [{section}] must be {_type_names(want)}, not {value!r}"
            )
            continue
        if isinstance(value, float) and not math.isfinite(value):
            ctx.report(section, key, f"'{key}' in [{section}] must be finite, not {value}")
            continue
        good[key] = value
    for key in _REQUIRED.get(section, ()):
        if key not in table:
            ctx.report(section, None, f"missing required key '{key}' in [{section}]")
    return good


def _positive(ctx: _Ctx, section: str, table: dict, *keys: str) -> bool:
    ok = True
    for key in keys:
        if key in table and not table[key] > 0:
            ctx.report(section, key, f"'{key}' in [{section}] must be > 0, not {table[key]}")
            ok = False
    return ok


def _parse_drive(ctx: _Ctx, t: dict, present: Any = ()) -> Drive | None:
    if "mode" not in t:
        return None
    mode = t["mode"]
    if mode not in DRIVE_MODES:
        ctx.report(
            "drive",
            "mode",
            f"unknown drive mode {mode!r} in [drive] (use {', '.join(DRIVE_MODES)})",
        )
        return None
    needed = {
        "dc-current": ("current_a", "voltage_limit_v"),
        "dc-voltage": ("voltage_v", "current_limit_a"),
        "ac": ("voltage_v", "frequency_hz"),
    }[mode]
    ok = True
    for key in needed:
        if key not in t:
            if key not in present:  # (a key given with a wrong type is reported already)
                ctx.report("drive", "mode", f"drive mode {mode!r} needs '{key}' in [drive]")
            ok = False
    keys = ("current_a", "voltage_limit_v", "voltage_v", "current_limit_a", "frequency_hz")
    if not _positive(ctx, "drive", t, *keys) or not ok:
        return None
    return Drive(mode=mode, **{k: float(v) for k, v in t.items() if k != "mode"})


def _parse_stabilisation(ctx: _Ctx, t: dict) -> StabilisationRule:
    keys = ("interval_s", "window_s", "max_variation", "max_duration_s")
    ok = _positive(ctx, "stabilisation", t, *keys)
    kw: dict[str, Any] = {}
    for key, value in t.items():
        if key == "quantities":
            bad = [q for q in value if q not in STABILISATION_QUANTITIES]
            if bad or not value:
                ctx.report(
                    "stabilisation",
                    key,
                    f"'quantities' in [stabilisation] must list some of "
                    f"{', '.join(STABILISATION_QUANTITIES)}, not {value!r}",
                )
                ok = False
                continue
            kw[key] = tuple(value)
        elif key == "min_readings":
            if value < 2:
                ctx.report("stabilisation", key, "'min_readings' in [stabilisation] must be >= 2")
                ok = False
                continue
            kw[key] = int(value)
        else:
            kw[key] = float(value)
    if not ok:
        return StabilisationRule()
    rule = StabilisationRule(**kw)
    if rule.max_variation >= 1:
        ctx.report(
            "stabilisation",
            "max_variation",
            "'max_variation' in [stabilisation] is a fraction (0.005 = 0.5 %), must be < 1",
        )
    if rule.window_s < rule.interval_s:
        ctx.report(
            "stabilisation", "window_s", "'window_s' in [stabilisation] must be >= 'interval_s'"
        )
    if rule.max_duration_s < rule.window_s:
        ctx.report(
            "stabilisation",
            "max_duration_s",
            "'max_duration_s' in [stabilisation] must be >= 'window_s'",
        )
    return rule


def _parse_measurement(ctx: _Ctx, t: dict) -> MeasurementSteps:
    t = dict(t)
    sa = t.get("self_absorption", "scalar")
    if sa not in ("scalar", "spectral", "none"):
        ctx.report(
            "measurement",
            "self_absorption",
            f"'self_absorption' in [measurement] must be scalar, spectral or none, not {sa!r}",
        )
        t.pop("self_absorption")
    for key in ("tc_channel", "ambient_channel"):
        if key in t and t[key] < 1:
            ctx.report("measurement", key, f"'{key}' in [measurement] must be >= 1")
            t.pop(key)
    if "retries" in t and not 0 <= t["retries"] <= 10:
        ctx.report("measurement", "retries", "'retries' in [measurement] must be 0..10")
        t.pop("retries")
    return MeasurementSteps(**t)


def _parse_flicker(ctx: _Ctx, t: dict) -> FlickerSettings | None:
    """``[flicker]`` checked: positive numbers, a record that resolves IEEE 1789's range
    (sample rate >= 2 x 3 kHz), lasts >= 0.1 s and fits one scope record."""
    if not _positive(ctx, "flicker", t, "sample_rate_hz", "duration_s"):
        return None
    kw = {k: float(v) for k, v in t.items() if k != "enabled"}
    f = FlickerSettings(**kw)
    ok = True
    if f.sample_rate_hz < 2 * FLICKER_MAX_MODULATION_HZ:
        ctx.report(
            "flicker",
            "sample_rate_hz",
            f"'sample_rate_hz' in [flicker] must be >= {2 * FLICKER_MAX_MODULATION_HZ:g} Hz "
            f"(IEEE 1789-2015 judges modulation up to {FLICKER_MAX_MODULATION_HZ:g} Hz), "
            f"not {f.sample_rate_hz:g}",
        )
        ok = False
    if f.duration_s < FLICKER_MIN_DURATION_S:
        ctx.report(
            "flicker",
            "duration_s",
            f"'duration_s' in [flicker] must be >= {FLICKER_MIN_DURATION_S:g} s, "
            f"not {f.duration_s:g}",
        )
        ok = False
    if ok and f.points > FLICKER_MAX_SAMPLES:
        ctx.report(
            "flicker",
            "duration_s",
            f"[flicker] asks for {f.points} samples (sample_rate_hz x duration_s); one scope "
            f"record holds at most {FLICKER_MAX_SAMPLES}",
        )
        ok = False
    return f if ok and t.get("enabled", True) else None


def _parse_limits(ctx: _Ctx, t: Any) -> tuple[tuple[Limit, ...], int | None]:
    if not isinstance(t, dict):
        ctx.report(None, "limits", "'limits' must be a table [limits]")
        return (), None
    bounds: dict[str, dict[str, float]] = {}
    quadrangle = None
    for key, value in t.items():
        if key in ("ansi_quadrangle", "cct_category"):
            if isinstance(value, str) and value.rstrip("Kk").isdigit():
                value = int(value.rstrip("Kk"))
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value not in ANSI_NOMINAL_CCTS
            ):
                ctx.report(
                    "limits",
                    key,
                    f"'{key}' in [limits] must be an ANSI C78.377 nominal CCT "
                    f"({', '.join(map(str, ANSI_NOMINAL_CCTS))}), not {value!r}",
                )
                continue
            quadrangle = int(value)
            continue
        m = re.fullmatch(r"(.+)_(min|max)", key)
        known = catalogue.by_plan_name(m.group(1)) if m else None
        if known is None or known.plan not in QUANTITIES:
            ctx.report("limits", key, f"unknown key '{key}' in [limits]")
            continue
        name, side = known.plan, m.group(2)
        if side in bounds.get(name, {}):
            ctx.report("limits", key, f"'{key}' in [limits] repeats the {name}_{side} limit")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            ctx.report("limits", key, f"'{key}' in [limits] must be a number, not {value!r}")
            continue
        if not math.isfinite(value):
            ctx.report("limits", key, f"'{key}' in [limits] must be finite, not {value}")
            continue
        _, unit, lo, hi = QUANTITIES[name]
        if not lo <= value <= hi:
            u = f" {unit}" if unit else ""
            rng = (
                f">= {lo:g}{u}"
                if hi == INF
                else f"<= {hi:g}{u}"
                if lo == -INF
                else f"between {lo:g} and {hi:g}{u}"
            )
            ctx.report(
                "limits", key, f"impossible limit '{key}' = {value} in [limits]: {name} is {rng}"
            )
            continue
        bounds.setdefault(name, {})[side] = float(value)
    limits = []
    for name, b in bounds.items():
        if "min" in b and "max" in b and b["min"] > b["max"]:
            ctx.report(
                "limits",
                f"{name}_min",
                f"impossible limits in [limits]: {name}_min = {b['min']:g} > {name}_max = {b['max']:g}",
            )
            continue
        q, unit, _, _ = QUANTITIES[name]
        limits.append(Limit(name, q, unit, b.get("min"), b.get("max")))
    if not t:
        ctx.report(None, "limits", "[limits] sets no limit")
    return tuple(limits), quadrangle


def load_plan(path: str | Path) -> TestPlan:
    """Read and validate the test plan at ``path``.

    Raises :class:`FileErrors` (a :class:`PlanError`) listing every problem as
    ``"<path>:<line>: <what is wrong>"``: unknown tables or keys, wrong types,
    missing required keys, impossible limits (min > max, outside the quantity's
    possible range such as negative flux or Ra > 100, unknown quantity), and
    limits the plan cannot measure or that cannot all hold
    (:mod:`lightcomp.station.feasibility`).
    """
    data, text = read_toml(path)
    return parse_plan(data, text, str(path))


def plan_from_snapshot(snapshot: dict) -> TestPlan:
    """The plan a test run stored (:meth:`TestPlan.snapshot`), for re-analysis.

    The limits are those the components were judged against when they were measured;
    feasibility rules added since are not applied again (they guard new plans).
    """
    data = {k: v for k, v in snapshot.items() if k not in ("path", "sha256")}
    plan = parse_plan(data, "", str(snapshot.get("path") or "<stored plan>"), feasibility=False)
    return dataclasses.replace(plan, sha256=snapshot.get("sha256"))


def _check_uncertainty(ctx: _Ctx, section: dict, drive) -> None:
    """The plan's ``[uncertainty]`` section and its model file, read as the station
    reads them (:func:`lightcomp.uncertainty.station.plan_uncertainty`): a bad model
    file (missing or negative uncertainty, unknown input, correlation outside
    [−1, 1]) is reported at the plan's ``model`` line with the model file's line."""
    from lightcomp.labpaths import lab_root
    from lightcomp.uncertainty.model import UncertaintyModelError
    from lightcomp.uncertainty.station import plan_uncertainty

    try:
        plan_uncertainty(
            section, lab_root(), drive_mode=drive.mode if drive is not None else "dc-current"
        )
    except UncertaintyModelError as exc:
        ctx.report("uncertainty", getattr(exc, "key", None), str(exc))


def parse_plan(data: dict, text: str, path: str, *, feasibility: bool = True) -> TestPlan:
    """Validate a plan's parsed TOML ``data`` (``text`` for line numbers in errors)."""
    ctx = _Ctx(str(path), text)
    for section in data:
        if section not in _SECTIONS:
            ctx.report(section, None, f"unknown table [{section}] in test plan")
    for section in ("plan", "drive", "limits"):
        if section not in data:
            ctx.errors.append(f"{path}:1: missing table [{section}]")
    tables = {
        section: _check_types(ctx, section, data[section])
        for section in ("plan", "drive", "stabilisation", "measurement", "uncertainty", "flicker")
        if section in data
    }
    p = tables.get("plan", {})
    raw_drive = data.get("drive")
    drive = _parse_drive(
        ctx, tables.get("drive", {}), raw_drive if isinstance(raw_drive, dict) else ()
    )
    if feasibility and isinstance(data.get("uncertainty", {}), dict):
        _check_uncertainty(ctx, tables.get("uncertainty", {}), drive)
    stab = _parse_stabilisation(ctx, tables.get("stabilisation", {}))
    steps = _parse_measurement(ctx, tables.get("measurement", {}))
    limits, quadrangle = (
        _parse_limits(ctx, data.get("limits", {})) if "limits" in data else ((), None)
    )
    if drive is not None and feasibility:
        from lightcomp.station.feasibility import check_plan_limits

        for key, message in check_plan_limits(drive, steps, limits, quadrangle):
            ctx.report("limits", key, message)
    modulation = None
    if "modulation" in data:
        from lightcomp.station.modulation import modulation_settings

        try:
            modulation = modulation_settings(data["modulation"])
        except PlanError as exc:
            ctx.report("modulation", None, str(exc))
    flicker = _parse_flicker(ctx, tables["flicker"]) if "flicker" in tables else None
    ctx.raise_if_any()
    return TestPlan(
        name=p["name"],
        family=p["family"],
        drive=drive,
        stabilisation=stab,
        measurement=steps,
        limits=limits,
        ansi_quadrangle=quadrangle,
        version=str(p["version"]) if "version" in p else None,
        manufacturer=p.get("manufacturer"),
        description=p.get("description"),
        path=str(path),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        raw=data,
        modulation=modulation,
        flicker=flicker,
    )
