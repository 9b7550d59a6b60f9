"""The uncertainty model of a spectral total-flux measurement: inputs, their
distributions and the model file that sets them.

Measurement model (IES LM-79-19 §9, CIE S 025:2015 §6.3; substitution method with
a standard lamp of certified spectral flux Φ_cert):

    Φλ(λ) = (S_DUT(λ) − D(λ)) / R(λ) / α,    R(λ) = (S_lamp(λ) − D(λ)) / Φ_cert(λ)

plus the electrical readings (voltage, current, power) and the temperature
probe. The Monte Carlo (:mod:`lightcomp.uncertainty.montecarlo`) perturbs the
measured spectral flux by every input below, one *group* of inputs per budget
line. Every figure is documented with its source in ``docs/uncertainty.md``;
those marked *(verify)* could not be checked against the data sheet here.

A model file (TOML) overrides the defaults; see :func:`load_model`. Bad files
(missing or negative uncertainty, unknown input name, correlation outside
[−1, 1]) are refused with :class:`UncertaintyModelError` naming the line.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lightcomp.errors import LightcompError


class UncertaintyModelError(LightcompError):
    """An uncertainty model file (or a calibration it needs) is unusable."""


#: Input groups, in budget order. Each is varied alone for the budget.
GROUPS: tuple[str, ...] = (
    "standard_lamp",
    "wavelength",
    "bandwidth_stray",
    "noise",
    "nonlinearity",
    "self_absorption",
    "sphere",
    "electrical",
    "temperature",
)

GROUP_LABELS: dict[str, str] = {
    "standard_lamp": "standard lamp (certificate)",
    "wavelength": "wavelength scale",
    "bandwidth_stray": "bandwidth and stray light",
    "noise": "spectrometer noise and dark",
    "nonlinearity": "spectrometer nonlinearity",
    "self_absorption": "self-absorption factor",
    "sphere": "sphere spatial non-uniformity",
    "electrical": "electrical meters",
    "temperature": "temperature probe",
}


# ----------------------------------------------------------------------------------------
# Meter data sheets: (range full scale, gain (fraction of reading), offset (unit)) —
# half-widths of rectangular distributions (GUM 4.3.7), 1 year, 23 ± 5 °C.
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeterSpec:
    """Specified accuracy of one meter function: per range ± (gain·reading + offset)."""

    source: str
    ranges: tuple[tuple[float, float, float], ...]  # (full scale, gain, offset)
    range_gain: float = 0.0  # extra ± fraction of the range (power analysers)

    def _range(self, reading: float) -> tuple[float, float, float]:
        """(full scale, gain, offset) of the smallest range holding ``reading`` (else the
        largest)."""
        r = abs(reading)
        return next((rng for rng in self.ranges if r <= rng[0]), self.ranges[-1])

    def range_of(self, reading: float) -> float:
        """Full scale of the smallest range holding ``reading``."""
        return self._range(reading)[0]

    def half_width(self, reading: float) -> float:
        """Half-width (same unit as ``reading``) on the smallest range holding it."""
        full, gain, offset = self._range(reading)
        return gain * abs(reading) + offset + self.range_gain * full

    def describe(self, unit: str = "A") -> str:
        """The ranges as a data sheet and the docs' tables write them ("10 mA ±(0.045 % +
        2 µA), …"): the docs are checked against this text (one home for the figures)."""
        return ", ".join(
            f"{_si(full, unit)} ±({gain * 100:.4g} % + {_si(offset, unit)})"
            for full, gain, offset in self.ranges
        )


def _si(value: float, unit: str) -> str:
    """``value`` with an SI prefix, as a data sheet writes it: 0.01 A -> "10 mA"."""
    for factor, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= factor * (1 - 1e-9):
            return f"{value / factor:g} {prefix}{unit}"
    return f"{value:g} {unit}"


_K2400 = (
    "Keithley 2400 SourceMeter specifications, measure accuracy 1 year 23 ± 5 °C (20 V range "
    "0.015 % + 1.5 mV confirmed in the 2400 Service Manual, A-20; other ranges (verify))"
)
_K2400_I = (
    "Keithley 2400 SourceMeter specifications, measure current accuracy 1 year 23 ± 5 °C "
    "(10 µA-100 mA as in SPEC-2440 Rev. C; 1 A from the 2410's verification limits; verify)"
)
_E363 = "Keysight E36300 Series data sheet, readback accuracy (verify)"
_WT = (
    "Yokogawa IM WT310E-02EN §7.3: DC active power ±(0.1 % of reading + 0.2 % of range) "
    "(confirmed); DC voltage and current taken alike (verify)"
)

_WT_AC = (
    "Yokogawa IM WT310E-02EN §7.3.2: active power 45 Hz <= f <= 66 Hz ±(0.1 % of reading + "
    "0.05 % of range) (confirmed); voltage and current at 45-66 Hz taken alike, §7.3.1 (verify)"
)
_WT_RANGES_V = (15.0, 30.0, 60.0, 150.0, 300.0, 600.0)
_WT_RANGES_A = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)

METERS: dict[str, dict[str, MeterSpec]] = {
    "keithley2400": {
        "voltage": MeterSpec(
            _K2400,
            (
                (0.2, 0.00012, 300e-6),
                (2.0, 0.00012, 300e-6),
                (20.0, 0.00015, 1.5e-3),
                (200.0, 0.00015, 10e-3),
            ),
        ),
        # Measure current, 1 year: 10 µA-100 mA as the 2400 series' data sheets give them
        # (the same in the 2440's, SPEC-2440 Rev. C); 1 A ±(0.22 % + 570 µA) from the 2410's
        # performance-verification limits (0.99723-1.00277 A at 1 A) *(verify for the 2400)*
        "current": MeterSpec(
            _K2400_I,
            (
                (1e-6, 0.00029, 300e-12),
                (10e-6, 0.00027, 700e-12),
                (100e-6, 0.00025, 6e-9),
                (1e-3, 0.00027, 60e-9),
                (10e-3, 0.00035, 600e-9),
                (0.1, 0.00055, 6e-6),
                (1.0, 0.0022, 570e-6),
            ),
        ),
    },
    "e36312a": {
        "voltage": MeterSpec(_E363, ((25.0, 0.0005, 10e-3),)),
        "current": MeterSpec(_E363, ((1.0, 0.001, 4e-3),)),
    },
    "wt310e": {
        "voltage": MeterSpec(_WT, tuple((v, 0.001, 0.0) for v in _WT_RANGES_V), 0.002),
        "current": MeterSpec(_WT, tuple((a, 0.001, 0.0) for a in _WT_RANGES_A), 0.002),
        # power range = voltage range x current range (see _draw_electrical)
        "power": MeterSpec(_WT, ((math.inf, 0.001, 0.0),), 0.002),
        # mains frequency (AC plans, electrical mode "ac")
        "voltage_ac": MeterSpec(_WT_AC, tuple((v, 0.001, 0.0) for v in _WT_RANGES_V), 0.0005),
        "current_ac": MeterSpec(_WT_AC, tuple((a, 0.001, 0.0) for a in _WT_RANGES_A), 0.0005),
        "power_ac": MeterSpec(_WT_AC, ((math.inf, 0.001, 0.0),), 0.0005),
    },
}
"""Specified accuracies by driver name (the station config's ``driver``); functions
``voltage``, ``current``, ``power`` (DC) and ``*_ac`` (45-66 Hz mains)."""

ELECTRICAL_MODES = ("dc", "ac")


# ----------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UncertaintyModel:
    """All inputs of the measurement model (standard uncertainties k = 1 unless named).

    Relative figures are fractions (0.002 = 0.2 %).
    """

    name: str = "default"
    # Monte Carlo
    trials: int = 10_000  #: batch size M (GUM S1 §7.9.2: >= 100/(1-p) = 2000)
    max_trials: int = 200_000  #: adaptive procedure stops here at the latest
    digits: int = 2  #: significant digits of u the adaptive procedure stabilises
    coverage: float = 0.95
    seed: int = 19
    budget_trials: int = 2_000  #: trials per group for the budget
    adaptive: bool = True
    #: what the adaptive procedure stabilises: "u" (the reported U) or "all" (y, u, y_low
    #: and y_high, the full JCGM 101 §7.9.4 condition; the shortest-interval endpoints
    #: then need ~10⁶ trials for two digits)
    criterion: str = "u"
    # standard lamp: the certificate's spectral U (k = 2) split into three parts
    lamp_u_rel_k2: float | None = None  #: used when the calibration has no spectral figure
    lamp_total_u_rel_k2: float | None = None  #: certificate total-flux U (k = 2)
    lamp_correlated_fraction: float = 0.5  #: variance share fully correlated (no total figure)
    lamp_partial_fraction: float = 0.8  #: share of the rest drawn as Fourier functions
    fourier_terms: int = 10  #: base functions of the partially correlated part
    # wavelength scale, bandwidth, stray light
    wavelength_offset_nm: float = 0.0  #: uncorrected scale offset (Hg-Ar residual mean)
    wavelength_u_nm: float = 0.1  #: standard uncertainty of the scale
    bandwidth_nm: float = 5.0  #: spectrometer bandpass FWHM (uncorrected, CIE 214:2014)
    stray_light_rel: float = 5e-4  #: stray signal / mean in-band signal (half-width)
    # spectrometer
    noise_rel: float = 0.002  #: per-point relative noise of one reading (std)
    dark_noise_rel: float = 1e-4  #: dark noise / peak signal (std)
    lamp_noise_rel: float = 0.001  #: per-point noise of the calibration's lamp reading
    nonlinearity_rel: float = 0.002  #: signal-level dependent response over full scale (std)
    # corrections
    self_absorption_u_rel: float = 0.001
    sphere_nonuniformity_rel: float = 0.005  #: half-width of a rectangular distribution
    # electrical and thermal
    voltage_meter: str = "keithley2400"
    current_meter: str = "keithley2400"
    power_meter: str | None = None  #: a power analyser; None: P = V·I from the source
    electrical_mode: str = "dc"  #: "ac": the meters' mains-frequency (45-66 Hz) figures
    voltage_scatter_rel: float = 2e-4
    current_scatter_rel: float = 2e-4
    power_scatter_rel: float = 3e-4
    voltage_current_correlation: float = 0.0
    temperature_class_b: bool = True  #: Pt100 class B, IEC 60751:2022 ±(0.30 + 0.005|t|) °C
    temperature_u_k: float = 0.0  #: added standard uncertainty of the probe mounting
    # VLC modulation test (lightcomp.uncertainty.modulation): the instruments whose data
    # sheets give the figures (None: the station's, see with_station_instruments), and
    # what no data sheet of the station gives: None until a model file sets it (a VLC
    # batch is then refused, or runs without modulation U under required = false); the
    # simulated lab's own figures come from modulation.bench_model, never as a default
    modulation_scope: str | None = None
    modulation_generator: str | None = None
    modulation_bias_source: str | None = None
    receiver_rise_ns: float | None = None  #: photoreceiver 10-90 % rise time, ns
    bias_tee_resistance_rel: float | None = None  #: half-width, the bias-T's 50 ohm
    path: str | None = field(default=None, compare=False)

    def meter(self, quantity: str) -> MeterSpec:
        """Data-sheet accuracy for 'voltage', 'current' or 'power'."""
        name = {"voltage": self.voltage_meter, "current": self.current_meter}.get(
            quantity, self.power_meter
        )
        function = quantity if self.electrical_mode == "dc" else f"{quantity}_ac"
        if name is None or name not in METERS or function not in METERS[name]:
            mode = "" if self.electrical_mode == "dc" else " at mains frequency (AC)"
            raise UncertaintyModelError(
                f"no data-sheet figure for {quantity}{mode} of meter {name!r}"
            )
        return METERS[name][function]

    def with_(self, **changes: Any) -> UncertaintyModel:
        """A copy with ``changes``."""
        return replace(self, **changes)

    def with_station_instruments(self, drivers: dict[str, str] | None) -> UncertaintyModel:
        """The VLC bench's instruments a model file did not name, taken from the station
        file (roles ``scope``, ``generator``, ``source``): the data sheets looked up are
        those of the instruments in use, never another model's."""
        d = drivers or {}
        return self.with_(
            modulation_scope=self.modulation_scope or d.get("scope"),
            modulation_generator=self.modulation_generator or d.get("generator"),
            modulation_bias_source=self.modulation_bias_source or d.get("source"),
        )


# Model file: table -> key -> (field name, kind). kind: "u" uncertainty (>= 0, required
# to be a number), "r" correlation, "n" positive integer, "f" fraction in [0, 1], "p"
# probability in (0, 1), "x" any number, "s" string, "b" bool.
_SCHEMA: dict[str, dict[str, tuple[str, str]]] = {
    "model": {
        "name": ("name", "s"),
        "trials": ("trials", "n"),
        "max_trials": ("max_trials", "n"),
        "digits": ("digits", "n"),
        "coverage": ("coverage", "p"),
        "seed": ("seed", "n0"),
        "budget_trials": ("budget_trials", "n"),
        "adaptive": ("adaptive", "b"),
        "criterion": ("criterion", "c"),
    },
    "standard_lamp": {
        "u_rel_k2": ("lamp_u_rel_k2", "u"),
        "total_flux_u_rel_k2": ("lamp_total_u_rel_k2", "u"),
        "correlated_fraction": ("lamp_correlated_fraction", "f"),
        "partial_fraction": ("lamp_partial_fraction", "f"),
        "fourier_terms": ("fourier_terms", "n"),
    },
    "wavelength": {
        "offset_nm": ("wavelength_offset_nm", "x"),
        "u_nm": ("wavelength_u_nm", "u"),
        "bandwidth_nm": ("bandwidth_nm", "u"),
        "stray_light_rel": ("stray_light_rel", "u"),
    },
    "spectrometer": {
        "noise_rel": ("noise_rel", "u"),
        "dark_noise_rel": ("dark_noise_rel", "u"),
        "lamp_noise_rel": ("lamp_noise_rel", "u"),
        "nonlinearity_rel": ("nonlinearity_rel", "u"),
    },
    "corrections": {
        "self_absorption_u_rel": ("self_absorption_u_rel", "u"),
        "sphere_nonuniformity_rel": ("sphere_nonuniformity_rel", "u"),
    },
    "electrical": {
        "voltage_meter": ("voltage_meter", "m"),
        "current_meter": ("current_meter", "m"),
        "power_meter": ("power_meter", "m"),
        "mode": ("electrical_mode", "e"),
        "voltage_scatter_rel": ("voltage_scatter_rel", "u"),
        "current_scatter_rel": ("current_scatter_rel", "u"),
        "power_scatter_rel": ("power_scatter_rel", "u"),
        "voltage_current_correlation": ("voltage_current_correlation", "r"),
    },
    "temperature": {
        "class_b": ("temperature_class_b", "b"),
        "u_k": ("temperature_u_k", "u"),
    },
    "modulation": {
        "scope": ("modulation_scope", "s"),
        "generator": ("modulation_generator", "s"),
        "bias_source": ("modulation_bias_source", "s"),
        "receiver_rise_ns": ("receiver_rise_ns", "u"),
        "bias_tee_resistance_rel": ("bias_tee_resistance_rel", "u"),
    },
}


#: A value given without its uncertainty is refused: table -> {value key: uncertainty key}.
_REQUIRED: dict[str, dict[str, str]] = {
    "wavelength": {"offset_nm": "u_nm"},
    "standard_lamp": {"correlated_fraction": "u_rel_k2", "partial_fraction": "u_rel_k2"},
}


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """Line number (1-based) of every ``key = value`` by (table, key); tables by (table, '')."""
    lines: dict[tuple[str, str], int] = {}
    table = ""
    for no, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"^\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]", s)
        if m:
            table = m.group(1).replace('"', "").strip()
            lines.setdefault((table, ""), no)
            continue
        m = re.match(r'^"?([A-Za-z0-9_\-]+)"?\s*=', s)
        if m:
            lines.setdefault((table, m.group(1)), no)
    return lines


def load_model(path: str | Path) -> UncertaintyModel:
    """Read and check an uncertainty model file (TOML).

    Tables and keys are those of :data:`_SCHEMA` (see ``docs/uncertainty.md``);
    every key is optional (defaults of :class:`UncertaintyModel`), but a key that
    is present must hold a valid value: an uncertainty a number >= 0, a
    correlation in [−1, 1], a fraction in [0, 1]. Errors name the file and line.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UncertaintyModelError(
            f"cannot read uncertainty model {p}: {exc.strerror or exc}"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UncertaintyModelError(f"{p}: not valid TOML: {exc}") from exc
    lines = _key_lines(text)
    changes: dict[str, Any] = {"path": str(p)}

    def where(table: str, key: str = "") -> str:
        no = lines.get((table, key)) or lines.get((table, ""))
        return f"{p}:{no}" if no else str(p)

    for table, content in data.items():
        if table not in _SCHEMA:
            if not isinstance(content, dict):  # a top-level key, not a [group]
                raise UncertaintyModelError(f"{where('', table)}: unknown input '{table}'")
            raise UncertaintyModelError(
                f"{where(table)}: unknown input group [{table}] (known: {', '.join(_SCHEMA)})"
            )
        if not isinstance(content, dict):
            raise UncertaintyModelError(f"{where('', table)}: '{table}' must be a [table]")
        schema = _SCHEMA[table]
        for key, value in content.items():
            if key not in schema:
                raise UncertaintyModelError(
                    f"{where(table, key)}: unknown input '{key}' in [{table}] "
                    f"(known: {', '.join(schema)})"
                )
            fname, kind = schema[key]
            changes[fname] = _check_value(value, kind, f"{where(table, key)}: {table}.{key}")
        for key, needs in _REQUIRED.get(table, {}).items():
            if key in content and needs not in content:
                raise UncertaintyModelError(
                    f"{where(table, key)}: {table}.{key} is given without its uncertainty '{needs}'"
                )
    # required inputs: an uncertainty given as an empty table entry is caught above;
    # a group that names a meter must find its data sheet.
    model = UncertaintyModel().with_(**changes)
    for q in ("voltage", "current") + (("power",) if model.power_meter else ()):
        try:
            model.meter(q)
        except UncertaintyModelError as exc:
            raise UncertaintyModelError(f"{where('electrical', q + '_meter')}: {exc}") from exc
    if isinstance(data.get("modulation"), dict):  # instruments named: their data sheets
        from lightcomp.uncertainty import modulation as vlc

        for key, table, what in (
            ("scope", vlc.SCOPES, "oscilloscope"),
            ("generator", vlc.GENERATORS, "generator"),
            ("bias_source", vlc.BIAS_SOURCES, "bias source"),
        ):
            name = data["modulation"].get(key)
            if name is not None and name not in table:
                raise UncertaintyModelError(
                    f"{where('modulation', key)}: no data-sheet figures for the {what} "
                    f"{name!r} of the modulation test (known: {', '.join(table)})"
                )
    if model.max_trials < model.trials:
        raise UncertaintyModelError(
            f"{where('model', 'max_trials')}: max_trials {model.max_trials} < trials {model.trials}"
        )
    return model


def _check_value(value: Any, kind: str, label: str) -> Any:
    if kind == "s":
        if not isinstance(value, str) or not value:
            raise UncertaintyModelError(f"{label} must be a non-empty string")
        return value
    if kind == "m":
        if not isinstance(value, str) or value.lower() not in METERS:
            raise UncertaintyModelError(
                f"{label}: unknown meter {value!r} (known: {', '.join(METERS)})"
            )
        return value.lower()
    if kind == "e":
        if value not in ELECTRICAL_MODES:
            raise UncertaintyModelError(f'{label} must be "dc" or "ac", got {value!r}')
        return value
    if kind == "c":
        if value not in ("u", "all"):
            raise UncertaintyModelError(f'{label} must be "u" or "all", got {value!r}')
        return value
    if kind == "b":
        if not isinstance(value, bool):
            raise UncertaintyModelError(f"{label} must be true or false")
        return value
    if kind == "u" and isinstance(value, str) and not value.strip():
        raise UncertaintyModelError(f"{label}: uncertainty is missing (empty)")
    if isinstance(value, bool) or not isinstance(value, int | float):
        what = "an uncertainty" if kind == "u" else "a number"
        raise UncertaintyModelError(f"{label} must be {what} (a number), got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise UncertaintyModelError(f"{label} must be finite, got {value!r}")
    if kind == "u" and v < 0:
        raise UncertaintyModelError(f"{label}: uncertainty {value!r} is negative")
    if kind == "r" and not -1.0 <= v <= 1.0:
        raise UncertaintyModelError(f"{label}: correlation {value!r} is outside [-1, 1]")
    if kind == "f" and not 0.0 <= v <= 1.0:
        raise UncertaintyModelError(f"{label}: fraction {value!r} is outside [0, 1]")
    if kind == "p" and not 0.0 < v < 1.0:
        raise UncertaintyModelError(f"{label}: probability {value!r} is outside (0, 1)")
    if kind in ("n", "n0"):
        if v != int(v) or v < (0 if kind == "n0" else 1):
            raise UncertaintyModelError(f"{label} must be a positive integer, got {value!r}")
        return int(v)
    return v


def default_model(
    drive_mode: str = "dc-current", drivers: dict[str, str] | None = None
) -> UncertaintyModel:
    """The model of a plan whose ``[uncertainty]`` names no model file: every input at
    the :class:`UncertaintyModel` defaults (documented with their sources in
    ``docs/uncertainty.md``), the electrical meters those of the station.

    ``drive_mode``: the plan's ``[drive] mode``; ``drivers``: role -> driver name of
    the station's instruments. DC plans read voltage and current on the source
    (``source``) and take P = V·I; AC plans read voltage, current and power on the
    power analyser (``power_analyzer``) at mains frequency. A station whose meter has
    no data-sheet figure in :data:`METERS` is refused (give a model file that names
    one) rather than reported with a made-up accuracy.
    """
    drivers = drivers or {}
    # the VLC bench's instruments (checked when a plan with [modulation] starts a batch)
    base = UncertaintyModel().with_station_instruments(drivers)
    if drive_mode == "ac":
        name = drivers.get("power_analyzer", "wt310e")
        model = base.with_(
            name="default (AC)",
            voltage_meter=name,
            current_meter=name,
            power_meter=name,
            electrical_mode="ac",
        )
        quantities: tuple[str, ...] = ("voltage", "current", "power")
    else:
        name = drivers.get("source", base.voltage_meter)
        model = base.with_(name="default (DC)", voltage_meter=name, current_meter=name)
        quantities = ("voltage", "current")
    for q in quantities:
        model.meter(q)  # raises naming the meter without a data sheet
    return model
