"""VLC modulation test procedure: drives generator, scope, fixture filter and DC bias.

Bench: DC bias from the station's source through a bias-T, modulation from a
function generator into the bias-T's 50 ohm RF port (modulation current
``v / 50 ohm``), scope channel 1 on the generator output (stimulus), channel 2
on the photoreceiver (response, AC-coupled).  The procedure collects records
and hands them, as arrays, to :mod:`lightcomp.analysis.modulation`:

* frequency response at each bias point (sine sweep, modulation depth
  ``depth`` = peak AC current / bias), white and with each configured filter;
  bandwidth = -3 dB point of ``|H|`` normalised to the lowest frequency;
* large-signal step response (square wave between ``(1 - step_depth) I`` and
  ``(1 + step_depth) I``): 10-90 % rise and fall times;
* modulation-depth sweep at the lowest sweep frequency and ``depth_bias``: THD
  of the light and the usable depth (THD below ``thd_max``).

Scope ranges are set by auto-ranging: channel 2 starts from the last good
scale, doubles on clipping and shrinks when the record spans under 2 divisions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lightcomp import quantities as catalogue
from lightcomp.analysis import modulation as mod
from lightcomp.drivers.base import FunctionGenerator, Oscilloscope, Waveform
from lightcomp.errors import InstrumentError, PlanError
from lightcomp.uncertainty.modulation import MODULATION_KEYS, ModulationInputs, Sweep

MODULATION_OHM = 50.0
"""Series resistance of the bias-T's RF path: modulation current = generator volts / 50 ohm."""
GENERATOR_MAX_VPP = 10.0
_MIN_SCALE_V = 1e-3


@dataclass(frozen=True)
class ModulationSettings:
    """The ``[modulation]`` section of a plan (see :func:`modulation_settings`)."""

    frequencies_hz: tuple[float, ...]
    bias_a: tuple[float, ...]
    depth: float = 0.1
    filters: tuple[str, ...] = ("blue",)
    periods: float = 4.0
    points: int = 2000
    averages: int = 8
    step_frequency_hz: float = 500e3
    step_depth: float = 0.5
    depth_sweep: tuple[float, ...] = ()
    depth_bias_a: float = 0.0
    thd_max: float = 0.05
    limits: dict[str, float] = field(default_factory=dict)


def modulation_settings(table: dict) -> ModulationSettings:
    """Check and convert a plan's ``[modulation]`` table; PlanError names what is wrong.

    Keys: ``frequencies_mhz`` (list, ascending) or ``start_mhz``/``stop_mhz``/``points_per_decade``;
    ``bias_ma`` (list; the first is the reported bias); ``depth`` (0-1);
    ``filters`` (list of filter names, e.g. ``["blue"]``; ``[]`` for none);
    ``periods``, ``points``, ``averages``; ``step_frequency_khz``, ``step_depth``;
    ``depth_sweep`` (list of depths, ascending) at ``depth_bias_ma`` (default: the
    lowest bias), ``thd_max``; and
    ``[modulation.limits]`` (``bandwidth_min_mhz``, ``bandwidth_blue_min_mhz``,
    ``rise_time_max_ns``, ``fall_time_max_ns``).
    """
    t = dict(table)
    known = {
        "frequencies_mhz",
        "start_mhz",
        "stop_mhz",
        "points_per_decade",
        "bias_ma",
        "depth",
        "filters",
        "periods",
        "points",
        "averages",
        "step_frequency_khz",
        "step_depth",
        "depth_sweep",
        "depth_bias_ma",
        "thd_max",
        "limits",
    }
    unknown = set(t) - known
    if unknown:
        raise PlanError(f"[modulation]: unknown key(s) {', '.join(sorted(unknown))}")
    if "frequencies_mhz" in t:
        f = np.asarray(t["frequencies_mhz"], dtype=float) * 1e6
    else:
        try:
            lo, hi = float(t["start_mhz"]), float(t["stop_mhz"])
        except KeyError:
            raise PlanError(
                "[modulation]: give frequencies_mhz or start_mhz and stop_mhz"
            ) from None
        ppd = int(t.get("points_per_decade", 10))
        if not 0 < lo < hi or ppd < 2:
            raise PlanError("[modulation]: need 0 < start_mhz < stop_mhz, points_per_decade >= 2")
        n = int(np.ceil(np.log10(hi / lo) * ppd)) + 1
        f = np.logspace(np.log10(lo), np.log10(hi), n) * 1e6
    if f.size < 3 or np.any(np.diff(f) <= 0) or f[0] <= 0 or f[-1] > 120e6:
        raise PlanError(
            "[modulation]: frequencies must be >= 3, ascending, > 0 and <= 120 MHz (generator)"
        )
    bias = tuple(float(b) / 1e3 for b in t.get("bias_ma", ()))
    if not bias or min(bias) <= 0:
        raise PlanError("[modulation]: bias_ma needs at least one bias current > 0 mA")
    depth = float(t.get("depth", 0.1))
    step_depth = float(t.get("step_depth", 0.5))
    sweep = tuple(float(d) for d in t.get("depth_sweep", ()))
    for name, v in (("depth", depth), ("step_depth", step_depth)):
        if not 0 < v <= 1:
            raise PlanError(f"[modulation]: {name} must be in (0, 1], got {v}")
    if sweep and (np.any(np.diff(sweep) <= 0) or sweep[0] <= 0):
        raise PlanError("[modulation]: depth_sweep must be ascending depths > 0")
    filters = tuple(str(x).lower() for x in t.get("filters", ["blue"]))
    limits = dict(t.get("limits", {}))
    bad = set(limits) - set(MODULATION_LIMITS)
    if bad:
        raise PlanError(f"[modulation.limits]: unknown limit(s) {', '.join(sorted(bad))}")
    depth_bias = float(t.get("depth_bias_ma", min(bias) * 1e3)) / 1e3
    # every amplitude the test will ask for must be within the generator's range
    amplitude_vpp(depth, max(bias))
    amplitude_vpp(step_depth, bias[0])
    if sweep:
        amplitude_vpp(sweep[-1], depth_bias)
    return ModulationSettings(
        frequencies_hz=tuple(float(x) for x in f),
        bias_a=bias,
        depth=depth,
        filters=filters,
        periods=float(t.get("periods", 4.0)),
        points=int(t.get("points", 2000)),
        averages=int(t.get("averages", 8)),
        step_frequency_hz=float(t.get("step_frequency_khz", 500.0)) * 1e3,
        step_depth=step_depth,
        depth_sweep=sweep,
        depth_bias_a=depth_bias,
        thd_max=float(t.get("thd_max", 0.05)),
        limits={k: float(v) for k, v in limits.items()},
    )


def amplitude_vpp(depth: float, bias_a: float) -> float:
    """Generator amplitude for peak modulation current ``depth * bias_a`` through 50 ohm."""
    vpp = 2.0 * depth * bias_a * MODULATION_OHM
    if vpp > GENERATOR_MAX_VPP:
        raise PlanError(
            f"modulation depth {depth:g} at {bias_a * 1e3:g} mA needs {vpp:.2f} Vpp; "
            f"the generator gives at most {GENERATOR_MAX_VPP:g} Vpp into 50 ohm"
        )
    return vpp


class _Ranger:
    """Vertical auto-ranging of the response channel."""

    def __init__(self, scale_v: float = 0.05) -> None:
        self.scale = scale_v

    def acquire(
        self, scope: Oscilloscope, vpp: float, points: int, tries: int = 8
    ) -> dict[int, Waveform]:
        for _ in range(tries):
            scope.set_channel_scale(1, max(vpp / 6.0, _MIN_SCALE_V), 0.0)
            scope.set_channel_scale(2, self.scale, 0.0)
            w = scope.acquire((1, 2), points)
            span = float(np.ptp(w[2].volts)) / self.scale  # divisions
            if w[2].clipped:
                self.scale *= 2.5
            elif span < 2.0 and self.scale > _MIN_SCALE_V:
                self.scale = max(self.scale * max(span, 0.2) / 5.0, _MIN_SCALE_V)
            else:
                return w
        raise InstrumentError(
            f"scope: response channel cannot be ranged (last scale {self.scale:g} V/div)"
        )


def response_sweep(
    gen: FunctionGenerator,
    scope: Oscilloscope,
    s: ModulationSettings,
    vpp: float,
    ranger: _Ranger | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies Hz, complex H normalised to the lowest frequency) of one sine sweep."""
    f, h, _ = _sweep(gen, scope, s, vpp, ranger)
    return f, h


def _sweep(
    gen: FunctionGenerator,
    scope: Oscilloscope,
    s: ModulationSettings,
    vpp: float,
    ranger: _Ranger | None = None,
) -> tuple[np.ndarray, np.ndarray, Sweep]:
    """:func:`response_sweep` and its records (for the Monte Carlo of the results)."""
    ranger = ranger or _Ranger()
    f = np.asarray(s.frequencies_hz)
    stim = np.empty((f.size, s.points))
    resp = np.empty_like(stim)
    times = np.empty_like(stim)
    scales = np.empty(f.size)
    gen.output(True)
    for k, fk in enumerate(f):
        gen.sine(fk, vpp)
        scope.configure(
            s.periods / fk, {1: (vpp / 6.0, 0.0, "DC"), 2: (ranger.scale, 0.0, "AC")}, s.averages
        )
        w = ranger.acquire(scope, vpp, s.points)
        times[k], stim[k], resp[k] = w[1].times_s, w[1].volts, w[2].volts
        scales[k] = ranger.scale  # the response channel's V/div of this record
    h = mod.transfer_function(times, stim, resp, f)  # one vectorised call for the sweep
    return f, mod.normalise(f, h), Sweep(f, times, stim, resp, scales)


def step_response(
    gen: FunctionGenerator, scope: Oscilloscope, s: ModulationSettings, bias_a: float
) -> Waveform:
    """Response record of a square current step of +-``step_depth * bias`` (two periods)."""
    vpp = amplitude_vpp(s.step_depth, bias_a)
    gen.output(True)
    gen.square(s.step_frequency_hz, vpp)
    scope.configure(
        2.0 / s.step_frequency_hz, {1: (vpp / 6.0, 0.0, "DC"), 2: (0.05, 0.0, "AC")}, s.averages
    )
    return _Ranger().acquire(scope, vpp, max(s.points, 4000))[2]


def thd_sweep(
    gen: FunctionGenerator, scope: Oscilloscope, s: ModulationSettings, bias_a: float
) -> np.ndarray:
    """THD of the light at the lowest sweep frequency for each depth of ``depth_sweep``."""
    return _thd_records(gen, scope, s, bias_a)[0]


def _thd_records(
    gen: FunctionGenerator, scope: Oscilloscope, s: ModulationSettings, bias_a: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(THD, times, records, generator Vpp) of the depth sweep."""
    f0 = s.frequencies_hz[0]
    ranger = _Ranger()
    rec = np.empty((len(s.depth_sweep), s.points))
    times = np.empty_like(rec)
    vpps = np.empty(len(s.depth_sweep))
    gen.output(True)
    for k, d in enumerate(s.depth_sweep):
        vpp = vpps[k] = amplitude_vpp(d, bias_a)
        gen.sine(f0, vpp)
        scope.configure(
            s.periods / f0, {1: (vpp / 6.0, 0.0, "DC"), 2: (ranger.scale, 0.0, "AC")}, s.averages
        )
        w = ranger.acquire(scope, vpp, s.points)
        times[k], rec[k] = w[2].times_s, w[2].volts
    return mod.total_harmonic_distortion(times, rec, f0), times, rec, vpps


@dataclass
class ModulationResult:
    """What the modulation test measured on one component (SI units)."""

    bias_a: np.ndarray  # (B,)
    frequencies_hz: np.ndarray  # (F,)
    response: np.ndarray  # (B, F) complex, white, normalised
    response_filtered: dict[str, np.ndarray]  # filter -> (B, F) complex
    bandwidth_hz: np.ndarray  # (B,) white
    bandwidth_filtered_hz: dict[str, np.ndarray]  # filter -> (B,)
    rise_s: float
    fall_s: float
    depth_sweep: np.ndarray
    thd: np.ndarray
    usable_depth: float | None
    #: the reported bias point's records, for the Monte Carlo of the results (not stored)
    inputs: ModulationInputs | None = None

    def quantities(self) -> dict[str, float | None]:
        """Scalar quantities at the first (reported) bias point, in catalogue units."""

        def num(v):
            v = float(v)
            return None if not np.isfinite(v) else v

        blue = self.bandwidth_filtered_hz.get("blue")
        si = (  # in the order of MODULATION_KEYS: white, blue, rise, fall, usable depth
            self.bandwidth_hz[0],
            None if blue is None else blue[0],
            self.rise_s,
            self.fall_s,
            self.usable_depth,
        )
        return {
            key: None if v is None else num(catalogue.from_si(key, v))
            for key, v in zip(MODULATION_KEYS, si, strict=True)
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """Curves to store with the measurement (frequency response per bias, THD sweep)."""
        out = {
            "bias_a": self.bias_a,
            "frequencies_hz": self.frequencies_hz,
            "response_db": mod.magnitude_db(self.response),
            "response_phase_deg": mod.phase_deg(self.response),
            "bandwidth_hz": self.bandwidth_hz,
        }
        for name, h in self.response_filtered.items():
            out[f"response_{name}_db"] = mod.magnitude_db(h)
            out[f"bandwidth_{name}_hz"] = self.bandwidth_filtered_hz[name]
        if self.depth_sweep.size:
            out["depth_sweep"] = self.depth_sweep
            out["thd"] = self.thd
        return out


def measure_modulation(
    gen: FunctionGenerator,
    scope: Oscilloscope,
    set_filter: Callable[[str | None], None],
    set_bias: Callable[[float], None],
    s: ModulationSettings,
) -> ModulationResult:
    """Run the whole modulation test on the loaded component (bias left at the last point).

    ``set_filter(name|None)`` puts a filter in front of the receiver (the fixture);
    ``set_bias(current_a)`` sets the DC bias and waits for it (the station's source).
    """
    bias = np.asarray(s.bias_a)
    filters: Sequence[str] = s.filters
    white, filt = [], {name: [] for name in filters}
    records: dict[str, Sweep] = {}  # the reported (first) bias point's sweeps
    ranger = _Ranger()
    try:
        for b in bias:
            set_bias(float(b))
            vpp = amplitude_vpp(s.depth, float(b))
            set_filter(None)
            f, h, rec = _sweep(gen, scope, s, vpp, ranger)
            records.setdefault("white", rec)
            white.append(h)
            for name in filters:
                set_filter(name)
                _, hf, rec = _sweep(gen, scope, s, vpp, _Ranger(ranger.scale))
                records.setdefault(name, rec)
                filt[name].append(hf)
        set_filter(None)
        set_bias(float(bias[0]))
        step = step_response(gen, scope, s, float(bias[0]))
        edges = mod.edge_times(step.times_s, step.volts)
        thd = np.array([])
        usable = None
        thd_rec = None
        if s.depth_sweep:
            set_bias(s.depth_bias_a)
            thd, *thd_rec = _thd_records(gen, scope, s, s.depth_bias_a)
            usable = float(mod.usable_modulation_depth(s.depth_sweep, thd, thd_max=s.thd_max))
    finally:
        gen.safe_state()
    f = np.asarray(s.frequencies_hz)
    response = np.array(white)
    response_filtered = {k: np.array(v) for k, v in filt.items()}
    bandwidth = mod.bandwidth_3db(f, response)
    bandwidth_filtered = {k: mod.bandwidth_3db(f, v) for k, v in response_filtered.items()}
    for name, rec in records.items():  # bandwidth against bias: d ln fc / d ln I
        rec.bias_a = bias
        rec.bandwidth_hz = bandwidth if name == "white" else bandwidth_filtered[name]
    inputs = ModulationInputs(
        bias_a=float(bias[0]),
        white=records["white"],
        filtered={k: v for k, v in records.items() if k != "white"},
        step_times_s=np.asarray(step.times_s, dtype=float),
        step_volts=np.asarray(step.volts, dtype=float),
        thd_max=s.thd_max,
    )
    if thd_rec is not None:
        inputs.depth_sweep = np.asarray(s.depth_sweep, dtype=float)
        inputs.depth_bias_a = s.depth_bias_a
        inputs.thd_times_s, inputs.thd_records, inputs.thd_vpp = thd_rec
        inputs.thd_frequency_hz = float(f[0])
    return ModulationResult(
        bias_a=bias,
        frequencies_hz=f,
        response=response,
        response_filtered=response_filtered,
        bandwidth_hz=bandwidth,
        bandwidth_filtered_hz=bandwidth_filtered,
        rise_s=float(edges["rise_s"]),
        fall_s=float(edges["fall_s"]),
        depth_sweep=np.asarray(s.depth_sweep, dtype=float),
        thd=thd,
        usable_depth=usable,
        inputs=inputs,
    )


MODULATION_LIMITS: dict[str, tuple[str, str]] = {
    "bandwidth_min_mhz": ("modulation_bandwidth_mhz", "min"),
    "bandwidth_blue_min_mhz": ("modulation_bandwidth_blue_mhz", "min"),
    "rise_time_max_ns": ("rise_time_ns", "max"),
    "fall_time_max_ns": ("fall_time_ns", "max"),
    "usable_depth_min": ("modulation_depth_usable", "min"),
}
"""``[modulation.limits]`` key -> (catalogued quantity, bound); units from the catalogue."""


def modulation_verdicts(
    s: ModulationSettings, quantities: dict[str, float | None]
) -> tuple[dict, list[str]]:
    """Verdicts of the ``[modulation.limits]`` in the form of
    :func:`lightcomp.station.verdict.evaluate_limits` (a missing value fails)."""
    verdicts: dict[str, dict] = {}
    failed: list[str] = []
    for name, bound in s.limits.items():
        quantity, side = MODULATION_LIMITS[name]
        unit = catalogue.lookup(quantity).shown_unit
        value = quantities.get(quantity)
        ok = value is not None and np.isfinite(value)
        if ok:
            ok = value >= bound if side == "min" else value <= bound
        verdicts[name] = {
            "quantity": quantity,
            "value": value,
            "min": bound if side == "min" else None,
            "max": bound if side == "max" else None,
            "unit": unit,
            "pass": bool(ok),
        }
        if not ok:
            failed.append(name)
    return verdicts, failed


def merge_modulation_verdicts(
    verdict: str, verdicts: dict, failed_limits: list[str], quantities: dict, s: ModulationSettings
) -> tuple[str, str | None, dict, list[str]]:
    """A unit's (verdict, error message or None for unchanged, verdicts, failed limits)
    with its ``[modulation.limits]`` judged on ``quantities``: the station's rule after
    the VLC test and re-analysis' alike.  An error stays as it is; a limit without a
    valid value makes the unit an error (no data is a measurement problem), a failed
    one a fail."""
    from lightcomp.jsonvalues import json_safe
    from lightcomp.station.judge import no_value

    if verdict == "error":
        return verdict, None, verdicts, failed_limits
    mv, mf = modulation_verdicts(s, quantities)
    verdicts = {**verdicts, **json_safe(mv)}
    failed = [*failed_limits, *mf]
    missing = [n for n, v in mv.items() if v["value"] is None]
    if missing:
        return "error", no_value(missing), verdicts, failed
    return ("fail" if mf else verdict), None, verdicts, failed
