"""GUM Supplement 1 Monte Carlo of the VLC modulation results, vectorised.

The modulation test (:mod:`lightcomp.station.modulation`) reports, at the plan's first
bias point, the −3 dB modulation bandwidth (white and blue-filtered), the 10–90 % rise
and fall times and the usable modulation depth. Their uncertainty comes from M trials
of the whole measurement, each trial a perturbed copy of the **recorded** scope records
pushed through the **same** functions of :mod:`lightcomp.analysis.modulation` as the
measurement (:func:`~lightcomp.analysis.modulation.transfer_function`,
:func:`~lightcomp.analysis.modulation.normalise`,
:func:`~lightcomp.analysis.modulation.bandwidth_3db`,
:func:`~lightcomp.analysis.modulation.edge_times`,
:func:`~lightcomp.analysis.modulation.total_harmonic_distortion`,
:func:`~lightcomp.analysis.modulation.usable_modulation_depth`), trials as the leading
axis of their ``(..., N)`` arrays — no loop over trials (JCGM 101:2008 §5.9; the
statistics and the adaptive procedure as :mod:`lightcomp.uncertainty.montecarlo`).

Input groups (budget lines, :data:`MODULATION_GROUPS`; figures and sources in
``docs/uncertainty.md``):

* ``scope_noise`` — noise of each averaged record, normal per sample, its standard
  deviation measured on the record itself (residual of the harmonic fit of each sine
  record; second differences of the step record): Type A, no data-sheet figure needed.
* ``scope_gain`` — vertical gain of each V/div setting of the response channel,
  rectangular ± the data sheet's DC gain accuracy, independent between settings (the
  auto-ranging changes the setting along a sweep; one setting cancels in ``R/S`` after
  normalisation, two do not).
* ``time_frequency`` — generator frequency accuracy (the frequency axis of each sweep)
  and scope time-base accuracy (the time axis of the step record), rectangular.
* ``instrument_response`` — responses the station does not de-embed, each one-sided:
  the photoreceiver's first-order roll-off on the sweeps (``reference_response`` =
  receiver pole to a power c, c rectangular on [0, 1]: the uncorrected pole only ever
  lowers the measured bandwidth, so the measurand lies between the measured response
  and the fully de-embedded one) and the instruments' combined 10–90 % rise time on
  the edges (time axis scaled by 1 − e, e rectangular on [0, 1 − √(1 − (t_instr/t_meas)²)]:
  they only ever lengthen the edges; Gaussian-edge quadrature rule). One-sided
  rectangular R(0, b) by JCGM 101:2008 §6.4.2.1 (the only knowledge: between no effect
  and its full size); the value stays uncorrected (JCGM 100:2008 F.2.4.5 — a known
  effect left uncorrected is carried in the uncertainty), so the trials' shortest 95 %
  interval lies on the side the effect acts (``docs/uncertainty.md``).
* ``bias`` — DC bias current accuracy of the source (rectangular, data sheet), acting
  through the measured bandwidth-against-bias slope d ln f_c / d ln I (from the plan's
  bias points; a documented default exponent with one bias point) on the frequency axis,
  on the edges' time axis, and on the depth axis of the THD sweep.
* ``modulation_amplitude`` — generator amplitude accuracy and the bias-T's 50 Ω
  (depth = Vpp / (2 · 50 Ω · I)): the depth axis of the THD sweep, rectangular.

What no data sheet of the station gives — the photoreceiver's rise time and the
bias-T's resistance tolerance — a real station's model file must set
(``[modulation] receiver_rise_ns``, ``bias_tee_resistance_rel``); only the simulated
lab has them, as the simulator's own (:data:`SIMULATED_BENCH`, :func:`bench_model`).

Left out, each adding under 0.5 % to u of any result here (below 10⁻² of u²): the
lock-in's frequency mismatch (:data:`LOCKIN_MISMATCH`: generator 1 ppm + scope time base
50 ppm ≈ 5·10⁻⁵) — first order, not the second-order sinc loss: fitted at the nominal
frequency over whole nominal periods, each amplitude picks up the image term's leakage,
up to ≈ δ = 5·10⁻⁵ relative, and the bandwidth moves by ≈ δ relative (2·10⁻³ of u² of
the simulated unit's white bandwidth, u ≈ 1.1·10⁻³ relative; tested); the generator's
own harmonic distortion (−70 dBc against a 5 % THD limit).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import numpy as np

from lightcomp import quantities as catalogue
from lightcomp.analysis import modulation as mod
from lightcomp.uncertainty.model import MeterSpec, UncertaintyModel, UncertaintyModelError
from lightcomp.uncertainty.montecarlo import (
    MCResult,
    adaptive_samples,
    budget_u,
    mc_result,
    normal_table,
)

__all__ = [
    "GENERATORS",
    "MODULATION_GROUPS",
    "MODULATION_GROUP_LABELS",
    "MODULATION_KEYS",
    "SCOPES",
    "BIAS_SOURCES",
    "ModulationInputs",
    "Sweep",
    "SIMULATED_BENCH",
    "bench_model",
    "datasheet_name",
    "instruments",
    "merge",
    "modulation_monte_carlo",
    "record_noise",
    "step_noise",
]

#: Input groups of the modulation results, in budget order.
MODULATION_GROUPS: tuple[str, ...] = (
    "scope_noise",
    "scope_gain",
    "time_frequency",
    "instrument_response",
    "bias",
    "modulation_amplitude",
)

MODULATION_GROUP_LABELS: dict[str, str] = {
    "scope_noise": "scope record noise",
    "scope_gain": "scope vertical gain",
    "time_frequency": "generator frequency and scope time base",
    "instrument_response": "receiver and instrument response (not de-embedded)",
    "bias": "DC bias current",
    "modulation_amplitude": "modulation amplitude (depth axis)",
}

#: The quantities this Monte Carlo reports: the catalogue's modulation results (their keys
#: in the ``quantities`` JSON and the catalogue's units, lightcomp.quantities).
MODULATION_KEYS: tuple[str, ...] = tuple(
    catalogue.lookup(name).key
    for name in (
        "modulation_bandwidth",
        "modulation_bandwidth_blue",
        "rise_time",
        "fall_time",
        "modulation_depth_usable",
    )
)
_WHITE, _BLUE, _RISE, _FALL, _DEPTH = MODULATION_KEYS
#: SI (Hz, s, fraction) -> the catalogue's unit of each result: the factor of one SI unit
#: (catalogue.from_si), multiplying the trials
_SCALE = {k: catalogue.from_si(k, 1.0) for k in MODULATION_KEYS}

#: Seeds of the modulation groups start here (the spectral groups use 0 … 9).
_SEED_GROUP = 100
#: Most trials a modulation Monte Carlo draws in all (one trial is a whole set of scope
#: records, ~10⁵ samples, a hundred times a spectrum): the adaptive procedure stops here.
MAX_TRIALS = 20_000
#: Samples per chunk of trials (bounds the temporaries: ~16 MB per array).
_CHUNK_SAMPLES = 6_000_000


# ----------------------------------------------------------------------------------------
# Data sheets: the station's instruments by driver name (the station file's ``driver``)
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScopeSpec:
    """Oscilloscope figures: DC vertical gain accuracy (± fraction), time-base accuracy
    (± fraction), analogue bandwidth (Hz; its 10–90 % rise time 0.35/B)."""

    source: str
    gain_rel: float
    timebase_rel: float
    bandwidth_hz: float


@dataclass(frozen=True)
class GeneratorSpec:
    """Function generator figures: frequency accuracy (± fraction), amplitude accuracy
    ±(``amplitude_rel`` · setting + ``amplitude_offset_vpp``), square-wave 10–90 % edge (s)."""

    source: str
    frequency_rel: float
    amplitude_rel: float
    amplitude_offset_vpp: float
    edge_s: float


SCOPES: dict[str, ScopeSpec] = {
    "dsox1102g": ScopeSpec(
        "Keysight InfiniiVision 1000 X-Series data sheet (5992-1965EN), vertical and "
        "horizontal systems: DC vertical gain accuracy ±3 % of full scale, time-base "
        "accuracy ±50 ppm, DSOX1102G bandwidth 70 MHz (verify)",
        gain_rel=0.03,
        timebase_rel=50e-6,
        bandwidth_hz=70e6,
    ),
}
#: Generator figures by data-sheet name. The driver ``keysight33500`` serves the 33500B
#: and the 33600A alike; their square-wave edges differ (33500B 8.4 ns, 33600A 2.9 ns),
#: so the driver's own name takes the slower 33500B edges (conservative: more of the
#: instruments' rise time in the measured edges) and ``keysight33600a`` is used only
#: when the station's configured identity names a 336xxA (:func:`datasheet_name`) or a
#: model file names it.
GENERATORS: dict[str, GeneratorSpec] = {
    "keysight33500": GeneratorSpec(
        "Keysight Trueform 33500B Series data sheet (verify): frequency accuracy "
        "±1 ppm of setting (1 year), amplitude ±(1 % of setting + 1 mVpp) at 1 kHz, "
        "square-wave edges 8.4 ns — the slower of the two series this driver serves",
        frequency_rel=1e-6,
        amplitude_rel=0.01,
        amplitude_offset_vpp=1e-3,
        edge_s=8.4e-9,
    ),
    "keysight33600a": GeneratorSpec(
        "Keysight Trueform 33600A Series data sheet (5991-3272EN) (verify): frequency accuracy "
        "±1 ppm of setting (1 year), amplitude ±(1 % of setting + 1 mVpp) at 1 kHz, "
        "square-wave edges 2.9 ns",
        frequency_rel=1e-6,
        amplitude_rel=0.01,
        amplitude_offset_vpp=1e-3,
        edge_s=2.9e-9,
    ),
}
BIAS_SOURCES: dict[str, MeterSpec] = {
    "keithley2400": MeterSpec(
        "Keithley 2400 SourceMeter specifications SPEC-2400 Rev. H, current programming "
        "accuracy (local or remote sense), 1 year, 23 ± 5 °C (confirmed)",
        (
            (1e-6, 0.00035, 600e-12),
            (10e-6, 0.00033, 2e-9),
            (100e-6, 0.00031, 20e-9),
            (1e-3, 0.00034, 200e-9),
            (10e-3, 0.00045, 2e-6),
            (100e-3, 0.00066, 20e-6),
            (1.0, 0.0027, 900e-6),
        ),
    ),
}

#: Relative frequency mismatch of the lock-in's fit (generator frequency against the
#: scope's time base, both at their data-sheet limits): left out of the Monte Carlo,
#: its size stated in the module docstring and docs/uncertainty.md (tested there).
LOCKIN_MISMATCH = GENERATORS["keysight33500"].frequency_rel + SCOPES["dsox1102g"].timebase_rel

#: What no data sheet of the station gives, as the simulated lab has it
#: (lightcomp.simlab.vlc): its photoreceiver's 10–90 % rise time, 0.35 / 350 MHz = 1.0 ns
#: (RECEIVER_BANDWIDTH_HZ; tested against the simulator), and the bias-T's 50 Ω taken at
#: ±1 % (the simulator's is exact; the budget line stays visible). Used only on the
#: simulated lab (:func:`bench_model`): a real station's model file sets both.
SIMULATED_BENCH: dict[str, float] = {"receiver_rise_ns": 1.0, "bias_tee_resistance_rel": 0.01}

#: The model file's key (``[modulation]``) of each figure no data sheet gives.
_BENCH_KEYS: dict[str, str] = {
    "receiver_rise_ns": "the photoreceiver's 10-90 % rise time, ns, from its data sheet",
    "bias_tee_resistance_rel": "half-width of the bias-T's 50 ohm, fraction, measured",
}

#: A configured identity that names a 33600A-series model (33611A … 33622A).
_IDENTITY_33600A = re.compile(r"336\d\dA", re.IGNORECASE)


def datasheet_name(driver: str, identity: str | None = None) -> str:
    """The data-sheet name of a station instrument: its driver's, except the
    ``keysight33500`` driver whose configured identity (the station refuses an instrument
    whose reply does not contain it) names a 33600A-series model: ``keysight33600a``."""
    if driver == "keysight33500" and identity and _IDENTITY_33600A.search(identity):
        return "keysight33600a"
    return driver


#: Bandwidth-against-bias exponent d ln f_c / d ln I when the plan measures one bias point
#: only: f_c ∝ √I of a carrier lifetime τ ∝ 1/√I (bimolecular recombination; documented
#: default).
DEFAULT_BIAS_EXPONENT = 0.5


# ----------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------
@dataclass
class Sweep:
    """The records of one sine sweep at the reported bias (as the scope gave them)."""

    frequencies_hz: np.ndarray  #: (F,)
    times_s: np.ndarray  #: (F, N)
    stimulus: np.ndarray  #: (F, N) channel 1, V
    response: np.ndarray  #: (F, N) channel 2, V
    response_scale_v: np.ndarray  #: (F,) channel 2 V/div of each record
    #: bandwidth (Hz) at each bias point of the plan (for d ln f_c / d ln I)
    bias_a: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bandwidth_hz: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class ModulationInputs:
    """What one modulation test hands to its Monte Carlo (the station fills it)."""

    bias_a: float  #: the reported bias point, A
    white: Sweep
    filtered: dict[str, Sweep] = field(default_factory=dict)
    step_times_s: np.ndarray | None = None  #: (N,)
    step_volts: np.ndarray | None = None  #: (N,)
    depth_sweep: np.ndarray | None = None  #: (D,)
    depth_bias_a: float = 0.0
    thd_times_s: np.ndarray | None = None  #: (D, N)
    thd_records: np.ndarray | None = None  #: (D, N)
    thd_vpp: np.ndarray | None = None  #: (D,) generator amplitude of each depth, Vpp
    thd_frequency_hz: float = 0.0
    thd_max: float = 0.05


def record_noise(t: np.ndarray, y: np.ndarray, frequency_hz, harmonics: int = 5) -> np.ndarray:
    """Standard deviation of the noise of each sine record ``y`` (..., N): the residual
    of its least-squares fit of a constant and ``harmonics`` harmonics (the core's
    :func:`~lightcomp.analysis.modulation.harmonic_amplitudes`), ddof = 2K + 1."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    f = np.asarray(frequency_hz, dtype=float)
    a = mod.harmonic_amplitudes(t, y, f, harmonics)  # (..., K)
    k = np.arange(1, harmonics + 1)
    ph = 2.0 * np.pi * (f[..., None, None] * k) * np.broadcast_to(t, y.shape)[..., :, None]
    fit = np.real(a[..., None, :] * np.exp(1j * ph)).sum(-1)
    r = y - fit
    r -= r.mean(-1, keepdims=True)
    n = y.shape[-1]
    return np.sqrt((r * r).sum(-1) / max(n - (2 * harmonics + 1), 1))


def step_noise(y: np.ndarray) -> float:
    """Noise of a step record from its second differences, robust to the edges:
    1.4826 · median |Δ²y − median| / √6 (Δ² of white noise has variance 6σ²)."""
    d2 = np.diff(np.asarray(y, dtype=float), 2)
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / math.sqrt(6.0))


def bias_exponent(bias_a: np.ndarray, bandwidth_hz: np.ndarray) -> float:
    """d ln f_c / d ln I from the bandwidths measured at the plan's bias points
    (least squares over the finite ones; :data:`DEFAULT_BIAS_EXPONENT` with fewer than
    two)."""
    b = np.asarray(bias_a, dtype=float)
    f = np.asarray(bandwidth_hz, dtype=float)
    ok = np.isfinite(f) & (f > 0) & (b > 0)
    if ok.sum() < 2 or np.ptp(np.log(b[ok])) == 0:
        return DEFAULT_BIAS_EXPONENT
    return float(np.polyfit(np.log(b[ok]), np.log(f[ok]), 1)[0])


# ----------------------------------------------------------------------------------------
# The instruments of a model
# ----------------------------------------------------------------------------------------
def _spec(table: dict, name: str | None, what: str):
    if name is None:
        raise UncertaintyModelError(
            f"the uncertainty model names no {what} of the modulation test and the station "
            f"has none: give a model file with [modulation] naming one ({', '.join(table)})"
        )
    if name not in table:
        raise UncertaintyModelError(
            f"no data-sheet figures for the {what} {name!r} of the modulation test "
            f"(known: {', '.join(table)}): give a model file with [modulation] naming one"
        )
    return table[name]


def instruments(model: UncertaintyModel) -> tuple[ScopeSpec, GeneratorSpec, MeterSpec]:
    """The scope, generator and bias source figures of ``model``; an instrument without
    data-sheet figures, or a figure no data sheet gives that the model does not set
    (``[modulation] receiver_rise_ns``, ``bias_tee_resistance_rel``; the simulated lab
    has them from :func:`bench_model`), is refused (:class:`UncertaintyModelError`, one
    line naming it), never guessed."""
    specs = (
        _spec(SCOPES, model.modulation_scope, "oscilloscope"),
        _spec(GENERATORS, model.modulation_generator, "generator"),
        _spec(BIAS_SOURCES, model.modulation_bias_source, "bias source"),
    )
    missing = [k for k in _BENCH_KEYS if getattr(model, k) is None]
    if missing:
        them = "them" if len(missing) > 1 else "it"
        raise UncertaintyModelError(
            "the uncertainty model sets no "
            + " and no ".join(f"[modulation] {k} ({_BENCH_KEYS[k]})" for k in missing)
            + f": no data sheet of the station gives {them}; set {them} in the plan's "
            "uncertainty model file"
        )
    return specs


def bench_model(model: UncertaintyModel, *, simulated: bool) -> UncertaintyModel:
    """``model`` with the VLC bench's figures checked (:func:`instruments`): on the
    simulated lab (``simulated``: the station file has ``[simlab]``) the figures no data
    sheet gives that the model does not set are the simulator's
    (:data:`SIMULATED_BENCH`); on any other station they must come from the model file.
    Raises :class:`UncertaintyModelError` (one line naming what is missing)."""
    if simulated:
        model = model.with_(
            **{k: v for k, v in SIMULATED_BENCH.items() if getattr(model, k) is None}
        )
    instruments(model)
    return model


# ----------------------------------------------------------------------------------------
# Trials
# ----------------------------------------------------------------------------------------
class _Prepared:
    """Everything that does not change from trial to trial (computed once)."""

    def __init__(self, x: ModulationInputs, model: UncertaintyModel) -> None:
        self.x, self.model = x, model
        self.scope, self.gen, self.src = instruments(model)
        # the reported sweeps: white and blue-filtered (ModulationResult.quantities)
        self.sweeps: dict[str, Sweep] = {"white": x.white}
        if "blue" in x.filtered:
            self.sweeps["blue"] = x.filtered["blue"]
        self.noise = {
            name: (
                record_noise(s.times_s, s.stimulus, s.frequencies_hz),
                record_noise(s.times_s, s.response, s.frequencies_hz),
            )
            for name, s in self.sweeps.items()
        }
        # one gain error per distinct V/div setting of the response channel
        self.scale_index = {
            name: np.unique(np.round(np.log(s.response_scale_v), 9), return_inverse=True)[1]
            for name, s in self.sweeps.items()
        }
        self.exponent = {
            name: bias_exponent(s.bias_a, s.bandwidth_hz) for name, s in self.sweeps.items()
        }
        self.bias_rel = self.src.half_width(x.bias_a) / x.bias_a
        self.receiver_hz = 0.35 / (model.receiver_rise_ns * 1e-9)
        self.step_sigma = step_noise(x.step_volts) if x.step_volts is not None else 0.0
        if x.step_volts is not None:
            nominal = mod.edge_times(x.step_times_s, x.step_volts)
            t_meas = float(np.nanmin([nominal["rise_s"], nominal["fall_s"]]))
            t_instr = math.hypot(
                0.35 / self.scope.bandwidth_hz, self.gen.edge_s, model.receiver_rise_ns * 1e-9
            )
            ratio = min(t_instr / t_meas, 1.0) if t_meas > 0 else 1.0
            self.edge_rel = 1.0 - math.sqrt(1.0 - ratio * ratio)
        else:
            self.edge_rel = 0.0
        if x.thd_records is not None and x.depth_sweep is not None and len(x.depth_sweep):
            self.thd_sigma = record_noise(x.thd_times_s, x.thd_records, x.thd_frequency_hz)
            # generator amplitude ±(rel · setting + offset), relative to each setting
            vpp = np.asarray(x.thd_vpp, dtype=float)
            self.amp_rel = self.gen.amplitude_rel + self.gen.amplitude_offset_vpp / vpp
            self.depth_bias_rel = self.src.half_width(x.depth_bias_a) / x.depth_bias_a
        else:
            self.thd_sigma = None

    def chunk_size(self) -> int:
        samples = sum(s.stimulus.size * 2 for s in self.sweeps.values())
        if self.x.step_volts is not None:
            samples += self.x.step_volts.size
        if self.thd_sigma is not None:
            samples += self.x.thd_records.size
        return max(1, _CHUNK_SAMPLES // max(samples, 1))

    def evaluate(
        self, m: int, rng: np.random.Generator | None, groups: frozenset[str]
    ) -> dict[str, np.ndarray]:
        """``m`` trials (all nominal when ``rng`` is None) of every result, in the
        catalogue's units (MHz, ns, fraction): shape (m,) each."""
        on = groups if rng is not None else frozenset()

        def rect(half_width, shape=()) -> np.ndarray:
            size = (m, *shape) if shape else (m,)
            return rng.uniform(-1.0, 1.0, size) * half_width

        def zeros(shape=()) -> np.ndarray:
            return np.zeros((m, *shape) if shape else (m,))

        eps_bias = rect(self.bias_rel) if "bias" in on else zeros()
        eps_freq = rect(self.gen.frequency_rel) if "time_frequency" in on else zeros()
        out: dict[str, np.ndarray] = {}
        for name, s in self.sweeps.items():
            f = np.asarray(s.frequencies_hz, dtype=float)
            stim = np.broadcast_to(s.stimulus, (m, *s.stimulus.shape))
            resp = np.broadcast_to(s.response, (m, *s.response.shape))
            if "scope_noise" in on:
                sig_s, sig_r = self.noise[name]
                stim = _noisy(s.stimulus, sig_s, m, rng)
                resp = _noisy(s.response, sig_r, m, rng)
            if "scope_gain" in on:
                idx = self.scale_index[name]
                gain = 1.0 + rect(self.scope.gain_rel, (int(idx.max()) + 1,))
                resp = resp * gain[:, idx][:, :, None]
            reference = None
            if "instrument_response" in on:
                # one-sided, R(0, 1) (JCGM 101 §6.4.2.1): the uncorrected receiver pole
                # only lowers the measured response; c = 1 de-embeds it whole
                c = rng.uniform(0.0, 1.0, m)
                reference = (1.0 + 1j * f / self.receiver_hz)[None, :] ** (-c[:, None])
            # the same core functions as the measurement (station.modulation.response_sweep)
            h = mod.transfer_function(s.times_s, stim, resp, f, reference_response=reference)
            h = mod.normalise(f, h)
            axis = f * (1.0 + eps_freq[:, None]) / (1.0 + self.exponent[name] * eps_bias[:, None])
            bw = mod.bandwidth_3db(axis, h)
            key = _WHITE if name == "white" else _BLUE
            out[key] = bw * _SCALE[key]
        x = self.x
        if x.step_volts is not None:
            y = np.broadcast_to(x.step_volts, (m, x.step_volts.size))
            if "scope_noise" in on:
                y = _noisy(x.step_volts, np.asarray(self.step_sigma), m, rng)
            scale = 1.0 + (rect(self.scope.timebase_rel) if "time_frequency" in on else 0.0)
            if "instrument_response" in on:
                # one-sided, R(0, edge_rel): the instruments' rise time only lengthens
                # the measured edges; the measurand's are shorter by up to edge_rel
                scale = scale * (1.0 - rng.uniform(0.0, 1.0, m) * self.edge_rel)
            scale = scale * (1.0 + self.exponent["white"] * eps_bias)
            t = (
                np.asarray(x.step_times_s, dtype=float)[None, :]
                * np.broadcast_to(scale, (m,))[:, None]
            )
            edges = mod.edge_times(t, y)
            out[_RISE] = edges["rise_s"] * _SCALE[_RISE]
            out[_FALL] = edges["fall_s"] * _SCALE[_FALL]
        if self.thd_sigma is not None:
            rec = np.broadcast_to(x.thd_records, (m, *x.thd_records.shape))
            if "scope_noise" in on:
                rec = _noisy(x.thd_records, self.thd_sigma, m, rng)
            thd = mod.total_harmonic_distortion(x.thd_times_s, rec, x.thd_frequency_hz)
            depth = np.broadcast_to(np.asarray(x.depth_sweep, dtype=float), thd.shape)
            if "modulation_amplitude" in on:
                # one generator amplitude error for the sweep's settings (same range) and
                # the 50 ohm of the bias-T
                depth = depth * (1.0 + rect(1.0)[:, None] * self.amp_rel[None, :])
                depth = depth * (1.0 + rect(self.model.bias_tee_resistance_rel)[:, None])
            if "bias" in on:
                depth = depth / (1.0 + rect(self.depth_bias_rel)[:, None])
            out[_DEPTH] = _SCALE[_DEPTH] * mod.usable_modulation_depth(
                depth, thd, thd_max=x.thd_max
            )
        return out


def _noisy(base: np.ndarray, sigma: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` copies of the records ``base`` (..., N) each with independent N(0, σ²) noise
    per sample, σ per record (``sigma`` of shape ``base.shape[:-1]``): (m, ..., N).

    The normals are quantiles of :func:`~lightcomp.uncertainty.montecarlo.normal_table`
    picked by 16 raw generator bits each (the spectral Monte Carlo's draw: CDF within
    8·10⁻⁶ of the normal), float32 — one table look-up per sample, the noise being most
    of a trial's cost here.
    """
    n = m * base.size
    index = rng.bit_generator.random_raw(-(-n // 4)).view(np.uint16)[:n]
    z = np.take(normal_table(), index.reshape(m, *base.shape))
    z *= np.asarray(sigma, dtype=np.float32)[..., None]
    return base + z  # float64


def _run(
    prep: _Prepared, m: int, seed: tuple[int, ...], groups: frozenset[str]
) -> dict[str, np.ndarray]:
    """``m`` trials in chunks (fixed by ``m`` and the records' size, seeded per chunk, so
    the results do not depend on the thread count), on the analysis worker threads."""
    from lightcomp.analysis import _cr_common

    size = prep.chunk_size()
    chunks = [slice(i, min(i + size, m)) for i in range(0, m, size)]
    results: list[dict[str, np.ndarray] | None] = [None] * len(chunks)

    def work(sl: slice) -> None:
        k = sl.start // size
        rng = np.random.default_rng([*seed, k])
        with np.errstate(invalid="ignore", divide="ignore"):
            results[k] = prep.evaluate(sl.stop - sl.start, rng, groups)

    _cr_common.run_parallel(chunks, work)
    return {key: np.concatenate([r[key] for r in results]) for key in results[0]}


def modulation_monte_carlo(
    inputs: ModulationInputs,
    model: UncertaintyModel | None = None,
    *,
    trials: int | None = None,
    adaptive: bool | None = None,
    budget: bool = True,
    groups: tuple[str, ...] = MODULATION_GROUPS,
) -> MCResult:
    """GUM S1 Monte Carlo of the modulation results of one unit: u, U (k = 2), the
    shortest 95 % interval of each of :data:`MODULATION_KEYS` the test reported, and the
    budget (each group alone, ``model.budget_trials`` trials).

    ``trials``: batch size M (default the model's); ``adaptive`` (default the model's):
    batches are added until twice the standard deviation of the batch u's is within the
    tolerance of u to ``model.digits`` significant digits (JCGM 101 §7.9; the spectral
    Monte Carlo's rule, :func:`~lightcomp.uncertainty.montecarlo.adaptive_samples`, on
    every result and with criterion "u" whatever the model's), at most
    ``min(model.max_trials, MAX_TRIALS)`` trials (one batch at least). Seeded: same inputs
    and model, same numbers.
    """
    model = model or UncertaintyModel()
    t0 = time.perf_counter()
    prep = _Prepared(inputs, model)
    on = frozenset(groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        nominal = prep.evaluate(1, None, on)
    names = [k for k, v in nominal.items() if np.isfinite(v[0])]
    m = int(trials or model.trials)
    adaptive = model.adaptive if adaptive is None else adaptive

    def batch(k: int) -> np.ndarray:  # batch k: seeds 0, 1, … of the draw
        b = _run(prep, m, (model.seed, k, _SEED_GROUP + len(MODULATION_GROUPS)), on)
        return np.stack([b[key] for key in names]) if names else np.zeros((0, m))

    # the stopping rule on the batch u's of every result (criterion "u" whatever the
    # model's), batches of M, never more than the cap
    samples, batches, converged = adaptive_samples(
        batch, model, m, adaptive=adaptive, cap=max(min(model.max_trials, MAX_TRIALS), m)
    )
    contributions = (
        budget_u(
            lambda g: _run(
                prep,
                model.budget_trials,
                (model.seed, 0, _SEED_GROUP + MODULATION_GROUPS.index(g)),
                frozenset({g}),
            ),
            [g for g in MODULATION_GROUPS if g in on],
            names,
            model,
        )
        if budget
        else {}
    )
    return mc_result(
        samples,
        names,
        {k: nominal[k][0] for k in names},
        model,
        batches=batches,
        converged=converged,
        budget=contributions,
        t0=t0,
    )


def merge(spectral: MCResult | None, modulation: MCResult) -> MCResult:
    """One result from the spectral Monte Carlo and the modulation one (their quantities
    and budget groups are disjoint): the record stores them together. Trials, batches,
    seed and ``converged`` are the spectral Monte Carlo's; each modulation result keeps
    its own trials and convergence in its stats (the stored ``uncertainty`` entry)."""
    if spectral is None:
        return modulation
    return MCResult(
        stats={**spectral.stats, **modulation.stats},
        budget={**spectral.budget, **modulation.budget},
        trials=spectral.trials,
        batches=spectral.batches,
        # the record's flag is the spectral Monte Carlo's (the certificate's spectral
        # sentence reads it); the modulation results carry their own, per result
        converged=spectral.converged,
        seconds=spectral.seconds + modulation.seconds,
        model=spectral.model,
        seed=spectral.seed,
        coverage=spectral.coverage,
    )
