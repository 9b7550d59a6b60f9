"""GUM Supplement 1 Monte Carlo of a spectral total-flux measurement, vectorised.

JCGM 101:2008 (GUM Supplement 1): M trials of the whole measurement model
(:mod:`lightcomp.uncertainty.model`) are drawn at once as an (M, W) array of
spectral fluxes plus arrays of electrical and thermal readings, and pushed
through the **same** analysis core as the measurement
(:func:`lightcomp.analysis.analyze_arrays`), so every reported quantity — luminous
flux, x, y, u', v', CCT, Duv, Ra, R1–R15, Rf, Rg, efficacy, … — gets its
standard uncertainty u, expanded uncertainty U = 2u and the 95 % shortest
coverage interval (JCGM 101 §7.7.2). No quantity has its own simplified
uncertainty formula.

The adaptive procedure of JCGM 101 §7.9 adds batches of M trials until twice the
standard deviation of the batch estimates is within the numerical tolerance
δ = ½·10^l of the reported digits of u (default two significant digits), or
``max_trials`` is reached (then ``converged`` is False). By default
(``criterion = "u"``) the estimates checked are the batch u's — the reported U
stable to its digits; ``criterion = "all"`` checks y, u, y_low and y_high as
§7.9.4 does (the shortest-interval endpoints then need ~10⁶ trials).

The partially correlated part of the standard lamp's uncertainty is drawn as
random smooth functions of wavelength: a Fourier series with random unit-vector
weights and random phases (Kärhä et al., Metrologia 54 (2017) 524,
doi:10.1088/1681-7575/aa7b39, eq. (9); the EMPIR 19NRM02 "RevStdPhotometry"
toolbox's method), which has unit variance at every wavelength.

Draws are seeded (``numpy.random.default_rng([seed, batch, group, chunk])``): the
same inputs and model give the same results, bit for bit, whatever the number of
threads. Chunks of trials are drawn and analysed on the analysis worker threads.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lightcomp.uncertainty.model import GROUPS, UncertaintyModel, UncertaintyModelError

#: Readings propagated beside the spectrum (the station's quantity keys).
READINGS: tuple[str, ...] = (
    "voltage_v",
    "current_a",
    "power_w",
    "power_factor",
    "tc_c",
    "ambient_c",
)

_GROUP_INDEX = {g: i for i, g in enumerate(GROUPS)}


@dataclass
class ComponentInputs:
    """What one measurement hands to the Monte Carlo.

    ``spectrum``: measured spectral flux (W/nm) on ``wavelengths`` (nm, any grid
    the analysis core accepts). ``lamp_spectrum``: the standard lamp's certified
    spectral flux on the same grid (default: a 2856 K Planckian shape), used for
    the wavelength-scale error, which acts on lamp and device alike.
    ``lamp_u_rel_k2``: the certificate's spectral relative U (k = 2), one value
    or one per wavelength; None: the model's ``lamp_u_rel_k2``.
    ``noise_rel``: measured per-point relative standard deviation of repeated
    readings (None: the model's figure). ``signal_level``: signal as a fraction
    of full scale (nonlinearity; None: spectrum / its maximum).
    ``wavelength_lines_nm``: residuals (measured − reference) of the Hg-Ar line
    check, nm (None: the model's offset and u).
    """

    wavelengths: np.ndarray
    spectrum: np.ndarray
    lamp_spectrum: np.ndarray | None = None
    lamp_u_rel_k2: np.ndarray | float | None = None
    lamp_total_u_rel_k2: float | None = None
    noise_rel: np.ndarray | None = None
    signal_level: np.ndarray | None = None
    wavelength_lines_nm: np.ndarray | None = None
    alpha: float = 1.0
    readings: dict[str, float] = field(default_factory=dict)
    #: Quantities derived from each trial's core quantities (a dict of arrays in, a dict
    #: of arrays out), e.g. the MacAdam steps from the plan's nominal quadrangle
    #: (:func:`lightcomp.station.judge.trial_sdcm_steps`): they get a U like the rest.
    derived: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None


@dataclass
class QuantityStats:
    """Monte Carlo summary of one quantity (same unit as the quantity)."""

    value: float  #: the measured value (nominal inputs through the core)
    mean: float
    u: float  #: standard uncertainty
    U: float  #: expanded uncertainty, k = 2
    low: float  #: shortest coverage interval
    high: float
    trials: int  #: finite trials used
    converged: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": _f(self.value),
            "mean": _f(self.mean),
            "u": _f(self.u),
            "U": _f(self.U),
            "k": 2,
            "low": _f(self.low),
            "high": _f(self.high),
            "trials": self.trials,
            "converged": self.converged,
        }


@dataclass
class MCResult:
    """Result of :func:`monte_carlo` for one component."""

    stats: dict[str, QuantityStats]
    budget: dict[str, dict[str, float]]  #: group -> quantity -> u from that group alone
    trials: int
    batches: int
    converged: bool
    seconds: float
    model: str
    seed: int
    coverage: float

    def U(self, quantity: str) -> float | None:
        """Expanded uncertainty (k = 2) of ``quantity``, None if not evaluated."""
        s = self.stats.get(quantity)
        return None if s is None or not math.isfinite(s.U) else s.U

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (stored with the measurement)."""
        return {
            "method": "JCGM 101:2008 Monte Carlo (adaptive, §7.9)",
            "model": self.model,
            "seed": self.seed,
            "coverage": self.coverage,
            "trials": self.trials,
            "batches": self.batches,
            "converged": self.converged,
            "seconds": round(self.seconds, 3),
            "quantities": {k: v.as_dict() for k, v in self.stats.items()},
            "budget": {g: {q: _f(u) for q, u in b.items()} for g, b in self.budget.items()},
        }


def _f(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


# ----------------------------------------------------------------------------------------
# Drawing the inputs
# ----------------------------------------------------------------------------------------
def planck_shape(wavelengths: np.ndarray, t_k: float = 2856.0) -> np.ndarray:
    """Relative Planckian spectrum, peak 1 (CIE illuminant A temperature by default;
    :func:`lightcomp.analysis.illuminants.planck`, c2 of CIE 15:2018)."""
    from lightcomp.analysis.illuminants import planck

    s = planck(wavelengths, t_k)[0]
    return s / s.max()


def fourier_rows(wavelengths: np.ndarray, terms: int) -> np.ndarray:
    """(2N, W) basis of the random smooth functions: √2·sin(2π i x), then √2·cos(2π i x),
    i = 1..N, x = (λ − λ_1)/(λ_W − λ_1)."""
    wl = np.asarray(wavelengths, dtype=float)
    x = (wl - wl[0]) / (wl[-1] - wl[0])
    arg = 2.0 * np.pi * np.arange(1, terms + 1)[:, None] * x[None, :]  # (N, W)
    return math.sqrt(2.0) * np.vstack([np.sin(arg), np.cos(arg)])


def fourier_coefficients(rng: np.random.Generator, m: int, terms: int) -> np.ndarray:
    """(M, 2N) weights of :func:`fourier_rows` for M random smooth functions.

    f(λ) = Σ_{i=1..N} γ_i √2 sin(2π i x + φ_i), γ a random unit vector (normalised
    Gaussian), φ_i uniform on [0, 2π) (Kärhä et al. 2017, eq. (9)); E[f²] =
    Σ E[γ_i²]·2·E[sin²] = 1. With sin(a + φ) = sin a cos φ + cos a sin φ the M
    functions are ``weights @ rows``: no loop over trials.
    """
    gamma = rng.standard_normal((m, terms))
    gamma /= np.linalg.norm(gamma, axis=1, keepdims=True)
    # float32 phases: numpy's float32 sin/cos are vectorised (float64's are ~10x slower)
    # and 7 digits of a weight of a ~1 % term are plenty.
    phase = rng.random((m, terms), dtype=np.float32)
    phase *= np.float32(2.0 * np.pi)
    return np.hstack([gamma * np.cos(phase), gamma * np.sin(phase)])


def fourier_functions(
    rng: np.random.Generator, m: int, wavelengths: np.ndarray, terms: int
) -> np.ndarray:
    """(m, W) random smooth functions of wavelength with unit variance at every point
    (:func:`fourier_coefficients` @ :func:`fourier_rows`)."""
    return fourier_coefficients(rng, m, terms) @ fourier_rows(wavelengths, terms)


def _rect(rng: np.random.Generator, m: int, half_width: float) -> np.ndarray:
    """Rectangular distribution on [−a, a] (GUM 4.3.7; u = a/√3)."""
    return rng.uniform(-half_width, half_width, m)


def lamp_parts(
    inputs: ComponentInputs, model: UncertaintyModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard uncertainties (k = 1, relative, per wavelength) of the lamp's fully
    correlated, partially correlated (Fourier) and uncorrelated parts.

    With a certificate total-flux figure, that figure (k = 1) is the fully
    correlated part — a common scale error is what the total-flux figure bounds —
    and the rest of the spectral variance is split ``partial_fraction`` :
    ``1 − partial_fraction``. Without it, ``correlated_fraction`` of the
    spectral variance is fully correlated (the documented default split).
    """
    w = np.asarray(inputs.wavelengths).size
    u_k2 = inputs.lamp_u_rel_k2 if inputs.lamp_u_rel_k2 is not None else model.lamp_u_rel_k2
    if u_k2 is None:
        raise UncertaintyModelError(
            "no standard-lamp uncertainty: the calibration has none and the model gives no "
            "[standard_lamp] u_rel_k2"
        )
    u = np.broadcast_to(np.asarray(u_k2, dtype=float) / 2.0, (w,))
    total = (
        inputs.lamp_total_u_rel_k2
        if inputs.lamp_total_u_rel_k2 is not None
        else model.lamp_total_u_rel_k2
    )
    if total is not None:
        u_c = np.full(w, total / 2.0)
        rest2 = np.maximum(u**2 - u_c**2, 0.0)
    else:
        u_c = math.sqrt(model.lamp_correlated_fraction) * u
        rest2 = (1.0 - model.lamp_correlated_fraction) * u**2
    pf = model.lamp_partial_fraction
    return u_c, np.sqrt(pf * rest2), np.sqrt((1.0 - pf) * rest2)


_SCRATCH = threading.local()


def scratch(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A buffer of ``shape`` reused by the calling thread (contents undefined).

    The Monte Carlo draws chunk after chunk of the same size: fresh multi-megabyte
    arrays would each cost a page fault per 4 KiB (about half the drawing time
    measured on the benchmark), so each worker thread keeps its own buffers.
    """
    bufs = _SCRATCH.__dict__.setdefault("bufs", {})
    n = math.prod(shape)
    buf = bufs.get(name)
    if buf is None or buf.size < n or buf.dtype != np.dtype(dtype):
        buf = bufs[name] = np.empty(n, dtype=dtype)
    return buf[:n].reshape(shape)


class Trials:
    """The measurement model of one component prepared for drawing: everything that
    does not change from trial to trial, computed once per Monte Carlo (not per chunk).

    One trial is

        Φ_t(λ) = s_t·[Φ(λ)·(1 + z·u_c(λ) + u_p(λ)·f_t(λ) + β·(s_DUT(λ) − s_lamp(λ)))
                      + δ·b₁(λ) + δ²·b₂(λ) + ξ_bw·(b²/12)·Φ''(λ) + ξ_st·s·mean Φ]
                 + σ(λ)·ε_t(λ),         s_t = (1 + ξ_sphere)/(1 + ε_α),

    where Φ(λ − δ)·L(λ)/L(λ − δ) = Φ + δ·b₁ + δ²·b₂ + O(δ³) is the wavelength-scale
    error acting at calibration and measurement alike (L: lamp spectrum), f_t the
    random smooth function of the lamp's partially correlated part, and the
    independent per-point normal terms (lamp uncorrelated part, reading noise, dark
    noise, lamp-reading noise) are one normal draw of their combined standard
    deviation σ(λ) (a sum of independent normals is normal).

    Everything in brackets is linear in per-trial coefficients, so the M trials are
    **one** matrix product of an (M, K) coefficient matrix with the precomputed
    (K, W) basis :attr:`rows` (K = 1 + 1 + 2N + 1 + 2 + 2 for all groups), then one
    pass adding the noise. Products of two small terms are left out — the noise
    times the multiplicative errors (~2·10⁻³ × 10⁻², relative) and the wavelength,
    bandwidth and stray-light terms times the lamp and nonlinearity terms (≤ 10⁻⁴
    at the steepest flank): their variance is below 10⁻³ of u² for any quantity.
    """

    def __init__(
        self, inputs: ComponentInputs, model: UncertaintyModel, groups: tuple[str, ...] = GROUPS
    ) -> None:
        wl = np.asarray(inputs.wavelengths, dtype=float)
        phi = np.asarray(inputs.spectrum, dtype=float)
        self.inputs, self.model, self.wavelengths = inputs, model, wl
        on = self.groups = frozenset(groups)
        w = wl.size
        lamp = inputs.lamp_spectrum if inputs.lamp_spectrum is not None else planck_shape(wl)
        lamp = np.asarray(lamp, dtype=float)
        rows: list[np.ndarray] = [phi]  # the nominal spectrum, coefficient s_t
        var = np.zeros(w)  # combined per-point variance (W/nm)²
        self.u_wl = 0.0
        if "standard_lamp" in on:
            u_c, u_p, u_u = lamp_parts(inputs, model)
            rows.append(phi * u_c)
            rows += list(fourier_rows(wl, model.fourier_terms) * (phi * u_p)[None, :])
            var += (phi * u_u) ** 2
        if "nonlinearity" in on:
            level = (
                np.asarray(inputs.signal_level, dtype=float)
                if inputs.signal_level is not None
                else phi / float(np.max(np.abs(phi)))
            )
            rows.append(phi * (level - lamp / float(np.max(lamp))))
        if "wavelength" in on:
            if inputs.wavelength_lines_nm is not None:
                res = np.asarray(inputs.wavelength_lines_nm, dtype=float)
                off = float(res.mean())
                u_wl = math.hypot(
                    float(res.std(ddof=1)) if res.size > 1 else 0.0, model.wavelength_u_nm
                )
            else:
                off, u_wl = model.wavelength_offset_nm, model.wavelength_u_nm
            # An uncorrected offset enters as an uncertainty (not a correction):
            # u² = off² + u².
            self.u_wl = math.hypot(off, u_wl)
            d1 = np.gradient(phi, wl)
            d2 = np.gradient(d1, wl)
            l1 = np.gradient(lamp, wl) / lamp
            l2 = np.gradient(np.gradient(lamp, wl), wl) / (2.0 * lamp)
            rows += [-d1 + phi * l1, 0.5 * d2 - d1 * l1 + phi * (l1 * l1 - l2)]
        if "bandwidth_stray" in on:
            # Uncorrected bandpass: measured − true ≈ (b²/12)·Φ'' for a triangular
            # bandpass of FWHM b (CIE 214:2014, Stearns & Stearns); taken as ± that,
            # rectangular. Stray light: a flat stray signal up to ± s × the mean
            # in-band signal.
            rows.append((model.bandwidth_nm**2 / 12.0) * np.gradient(np.gradient(phi, wl), wl))
            rows.append(np.full(w, model.stray_light_rel * float(phi.mean())))
        if "noise" in on:
            nr = inputs.noise_rel if inputs.noise_rel is not None else model.noise_rel
            nr = np.broadcast_to(np.asarray(nr, dtype=float), (w,))
            peak = float(np.max(np.abs(phi)))
            var += (nr * phi) ** 2 + (model.dark_noise_rel * peak) ** 2
            var += (model.lamp_noise_rel * phi) ** 2
        #: (K, W) basis of the trials' deterministic part
        self.rows = np.stack(rows)
        #: σ per point of the combined per-point noise (float32), None without noise
        self.sigma = np.sqrt(var).astype(np.float32) if np.any(var > 0) else None

    def coefficients(self, m: int, rng: np.random.Generator) -> np.ndarray:
        """(m, K) coefficients of :attr:`rows`, in the order of the rows."""
        model, on = self.model, self.groups
        scale = np.ones(m)
        if "self_absorption" in on:
            scale /= 1.0 + rng.normal(0.0, model.self_absorption_u_rel, m)
        if "sphere" in on:
            scale *= 1.0 + _rect(rng, m, model.sphere_nonuniformity_rel)
        cols: list[np.ndarray] = [np.ones((m, 1))]
        if "standard_lamp" in on:
            cols.append(rng.standard_normal((m, 1)))
            cols.append(fourier_coefficients(rng, m, model.fourier_terms))
        if "nonlinearity" in on:
            cols.append(rng.normal(0.0, model.nonlinearity_rel, (m, 1)))
        if "wavelength" in on:
            delta = rng.normal(0.0, self.u_wl, (m, 1))
            cols += [delta, delta * delta]
        if "bandwidth_stray" in on:
            cols.append(_rect(rng, m, 1.0)[:, None])
            cols.append(_rect(rng, m, 1.0)[:, None])
        coef = np.hstack(cols)
        coef *= scale[:, None]
        return coef

    def sample(
        self, m: int, rng: np.random.Generator, out: np.ndarray | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """M trials: the (M, W) spectral fluxes (W/nm; written into ``out`` when
        given) and the readings' trials (M,)."""
        spectra = out if out is not None else np.empty((m, self.rows.shape[1]))
        coef = self.coefficients(m, rng)
        step = NOISE_BLOCK  # block by block: the noise is added while the block is hot
        for start in range(0, m, step):
            block = spectra[start : start + step]
            np.matmul(coef[start : start + step], self.rows, out=block)
            if self.sigma is not None:
                add_normal_noise(block, self.sigma, rng)
        readings = {
            k: np.full(m, float(v)) for k, v in self.inputs.readings.items() if v is not None
        }
        if "electrical" in self.groups:
            _draw_electrical(readings, self.model, m, rng)
        if "temperature" in self.groups:
            for key in ("tc_c", "ambient_c"):
                if key in readings:
                    t = readings[key]
                    a = (0.30 + 0.005 * np.abs(t)) if self.model.temperature_class_b else 0.0
                    readings[key] = t + rng.uniform(-1.0, 1.0, m) * a
                    readings[key] += rng.normal(0.0, self.model.temperature_u_k, m)
        return spectra, readings


#: Trials per block of :func:`add_normal_noise`: the block's float32 temporary
#: (128 × W) stays in the core's cache, where whole-chunk passes would not.
NOISE_BLOCK = 128

#: Index bits of the normal quantile table (:func:`normal_table`).
NORMAL_TABLE_BITS = 16


@functools.lru_cache(maxsize=1)
def normal_table() -> np.ndarray:
    """The 2¹⁶ equiprobable quantiles of N(0, 1), z_j = Φ⁻¹((j + ½)/2¹⁶), float32,
    scaled to unit variance exactly (the midpoints lose 0.002 % of it in the tails).

    A standard normal drawn as z_J with J uniform on 0 … 2¹⁶ − 1 has a CDF within
    2⁻¹⁷ ≈ 8·10⁻⁶ of Φ everywhere — 400 times finer than a Monte Carlo of 10⁶
    trials resolves (1/√M) — and tails cut at 4.3 σ (probability beyond 1.5·10⁻⁵).
    """
    from scipy.special import ndtri

    n = 1 << NORMAL_TABLE_BITS
    z = ndtri((np.arange(n) + 0.5) / n)
    z /= math.sqrt(float(np.mean(z * z)))
    return z.astype(np.float32)


def add_normal_noise(spectra: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> None:
    """Add independent N(0, σ²) noise, σ per column (float32), to ``spectra`` (M, W), in
    place.

    Each value is a quantile of :func:`normal_table` picked by 16 bits of the
    generator's raw 64-bit output (four values per word): one table look-up instead
    of numpy's ziggurat, which draws one value at a time, or Box–Muller's logarithm
    and two trigonometric functions — 4× cheaper than the first, 2× than the second,
    and the per-point noise was half of the drawing time. Float32: 7 digits are
    plenty for a noise term.
    """
    m, w = spectra.shape
    table = normal_table()
    buf = scratch("noise", (NOISE_BLOCK, w), np.float32)
    for start in range(0, m, NOISE_BLOCK):
        rows = min(NOISE_BLOCK, m - start)
        n = rows * w
        index = rng.bit_generator.random_raw(-(-n // 4)).view(np.uint16)[:n]
        z = buf[:rows]
        np.take(table, index.reshape(rows, w), out=z)
        z *= sigma
        spectra[start : start + rows] += z


def draw(
    inputs: ComponentInputs,
    model: UncertaintyModel,
    m: int,
    rng: np.random.Generator,
    groups: tuple[str, ...] = GROUPS,
    *,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """M trials of the measurement model with the inputs of ``groups`` varied
    (:class:`Trials`): the (M, W) spectral fluxes (W/nm) — written into ``out``
    when given — and the readings' trials (M,)."""
    return Trials(inputs, model, groups).sample(m, rng, out)


def _draw_electrical(
    readings: dict[str, np.ndarray], model: UncertaintyModel, m: int, rng: np.random.Generator
) -> None:
    """Meter accuracies (rectangular, data sheet) and reading scatter (normal).

    Voltage and current errors are correlated by ``voltage_current_correlation``
    through a Gaussian copula (normals correlated, then mapped to rectangles).
    Without a power meter, P = V·I (the source meters both).
    """
    from scipy.special import ndtr

    if "voltage_v" not in readings or "current_a" not in readings:
        return
    v0, i0 = float(readings["voltage_v"][0]), float(readings["current_a"][0])
    p_nominal = float(readings["power_w"][0]) if "power_w" in readings else None
    r = model.voltage_current_correlation
    z = rng.standard_normal((2, m))
    z2 = r * z[0] + math.sqrt(max(1.0 - r * r, 0.0)) * z[1]
    uv, ui = 2.0 * ndtr(z[0]) - 1.0, 2.0 * ndtr(z2) - 1.0
    v = v0 + uv * model.meter("voltage").half_width(v0)
    i = i0 + ui * model.meter("current").half_width(i0)
    v *= 1.0 + rng.normal(0.0, model.voltage_scatter_rel, m)
    i *= 1.0 + rng.normal(0.0, model.current_scatter_rel, m)
    readings["voltage_v"], readings["current_a"] = v, i
    if model.power_meter is None:
        # The station's DC power is the source's V·I: propagate through that product
        # (the measured value keeps its own, nominal product).
        p0 = float(readings["power_w"][0]) if "power_w" in readings else v0 * i0
        readings["power_w"] = p0 * (v / v0) * (i / i0) if v0 and i0 else v * i
    elif "power_w" in readings:
        p0 = float(readings["power_w"][0])
        spec = model.meter("power")
        # the power range is the product of the voltage and current ranges in use
        full = model.meter("voltage").range_of(v0) * model.meter("current").range_of(i0)
        a = spec.ranges[0][1] * abs(p0) + spec.range_gain * full
        p = p0 + rng.uniform(-1.0, 1.0, m) * a
        readings["power_w"] = p * (1.0 + rng.normal(0.0, model.power_scatter_rel, m))
    if "power_factor" in readings and p_nominal and v0 and i0:
        # λ = P/S, S = V·I: the power analyser computes it from its own readings
        # (IM WT310E-02EN §7.4.3), so it carries their errors.
        pf0 = float(readings["power_factor"][0])
        readings["power_factor"] = pf0 * (readings["power_w"] / p_nominal) / ((v / v0) * (i / i0))


# ----------------------------------------------------------------------------------------
# The analysis core
# ----------------------------------------------------------------------------------------
def evaluate(
    wavelengths: np.ndarray,
    spectra: np.ndarray,
    power_w: np.ndarray | float | None = None,
) -> dict[str, np.ndarray]:
    """Every quantity of the analysis core for a batch of absolute spectra (W/nm):
    the measurement's own :func:`lightcomp.analysis.analyze_arrays`. Unusable
    trials are NaN (the core's ``error`` column is left out; the core names only the
    rows it reports, so trials with negative noise in the dark tails cost no names)."""
    from lightcomp.analysis import analyze_arrays

    out = analyze_arrays(wavelengths, spectra, absolute=True, power_w=power_w)
    del out["error"]  # every other entry is a float64 array
    return out


# ----------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------
def summarize(samples: np.ndarray, coverage: float = 0.95) -> dict[str, np.ndarray]:
    """Mean, u, shortest coverage interval of each row of ``samples`` (Q, M).

    JCGM 101 §7.6 (estimate = mean, u = standard deviation), §7.7.2 (shortest
    interval: among [y_(r), y_(r+q)], q = ⌊pM + ½⌋, the narrowest). NaN trials are
    ignored per quantity (their count is returned as ``trials``).
    """
    y = _sorted_rows(np.asarray(samples, dtype=float))  # NaN sort last
    q_n = y.shape[0]
    n, mean, u = _mean_u(y)
    low = np.full(q_n, np.nan)
    high = np.full(q_n, np.nan)
    for count in np.unique(n):  # rows sharing a finite count: one vectorised pass
        if count < 2:
            continue
        rows = np.flatnonzero(n == count)
        q = int(coverage * count + 0.5)
        q = min(max(q, 1), count - 1)
        yy = y[rows, :count]
        width = yy[:, q:] - yy[:, : count - q]
        r = np.argmin(width, axis=1)
        low[rows] = yy[np.arange(rows.size), r]
        high[rows] = yy[np.arange(rows.size), r + q]
    return {"mean": mean, "u": u, "low": low, "high": high, "trials": n}


def _sorted_rows(samples: np.ndarray) -> np.ndarray:
    """Each row of ``samples`` sorted (a copy), blocks of rows on the analysis worker
    threads (numpy's sort releases the GIL): the sort is the statistics' main cost."""
    from lightcomp.analysis import _cr_common

    y = np.array(samples, dtype=float, order="C", copy=True)
    q_n = y.shape[0]
    step = max(1, -(-q_n // _cr_common.THREADS))

    def work(sl: slice) -> None:
        y[sl].sort(axis=1)

    _cr_common.run_parallel([slice(i, min(i + step, q_n)) for i in range(0, q_n, step)], work)
    return y


def _mean_u(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(finite trials, mean, standard deviation) of each row of ``y`` (Q, M), NaN/inf
    trials left out of the mean (JCGM 101 §7.6)."""
    q_n, m = y.shape
    n = np.sum(np.isfinite(y), axis=1)
    if m > 1 and np.all(n == m):  # the usual case: every trial finite, no masking
        mean = y.mean(axis=1)
        return n, mean, y.std(axis=1, ddof=1)
    mean = np.nanmean(np.where(np.isfinite(y), y, np.nan), axis=1) if m else np.full(q_n, np.nan)
    with np.errstate(invalid="ignore"):
        u = np.sqrt(np.nansum((y - mean[:, None]) ** 2, axis=1) / np.maximum(n - 1, 1))
    return n, mean, u


def tolerance(u: np.ndarray, digits: int) -> np.ndarray:
    """Numerical tolerance δ = ½·10^l of u written with ``digits`` significant digits
    (JCGM 101 §7.9.2); 0 for u = 0."""
    u = np.asarray(u, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(np.abs(u))) - (digits - 1)
    return np.where(u > 0, 0.5 * 10.0**exponent, 0.0)


# ----------------------------------------------------------------------------------------
# The Monte Carlo
# ----------------------------------------------------------------------------------------
#: Most trials per chunk (the analysis core's chunk size). The chunking depends on M
#: only (an even number of equal chunks, not one per thread) so that the draws, seeded
#: per chunk, and therefore the results do not depend on the number of threads.
MC_CHUNK = 2048


def _run(
    inputs: ComponentInputs, model: UncertaintyModel, m: int, seed: tuple, groups, with_nominal
) -> dict[str, np.ndarray]:
    """M trials drawn and analysed chunk by chunk on the analysis worker threads (each
    chunk: draw into the thread's reused buffer, then the core on those rows), so
    drawing runs in parallel as the analysis does and no (M, W) array is built.
    ``with_nominal``: the first row of the result is the nominal inputs."""
    from lightcomp.analysis import _cr_common

    wl = np.asarray(inputs.wavelengths, dtype=float)
    trials = Trials(inputs, model, groups)  # prepared once for every chunk
    nominal = np.asarray(inputs.spectrum, dtype=float)
    n_chunks = -(-m // MC_CHUNK)
    n_chunks += n_chunks % 2 if m >= 128 else 0
    size = -(-m // n_chunks)
    chunks = [slice(i, min(i + size, m)) for i in range(0, m, size)]
    results: list[dict[str, np.ndarray] | None] = [None] * len(chunks)

    def work(sl: slice) -> None:
        # BLAS on one thread in this thread (the core's limiter: the station calls the
        # Monte Carlo from its worker thread).
        with _cr_common.single_threaded_blas():
            chunk(sl)

    def chunk(sl: slice) -> None:
        k = sl.start // size
        first = int(with_nominal and k == 0)  # the nominal row goes with the first chunk
        n = sl.stop - sl.start
        spectra = scratch("spectra", (n + first, wl.size), np.float64)
        if first:
            spectra[0] = nominal
        rng = np.random.default_rng([*seed, k])
        _, drawn = trials.sample(n, rng, out=spectra[first:])
        if first:
            drawn = {
                key: np.concatenate([[float(inputs.readings[key])], v]) for key, v in drawn.items()
            }
        out = evaluate(wl, spectra, drawn.get("power_w"))
        out.update(drawn)
        if inputs.derived is not None:
            out.update(inputs.derived(out))
        results[k] = out

    _cr_common.run_parallel(chunks, work)
    return {key: np.concatenate([r[key] for r in results]) for key in results[0]}


def monte_carlo(
    inputs: ComponentInputs,
    model: UncertaintyModel | None = None,
    *,
    trials: int | None = None,
    adaptive: bool | None = None,
    budget: bool = True,
    stabilise: tuple[str, ...] | None = None,
    groups: tuple[str, ...] = GROUPS,
) -> MCResult:
    """GUM S1 Monte Carlo of one component: u, U (k = 2), shortest coverage interval
    of every quantity the analysis core and the readings give, and the budget.

    ``trials``: batch size M (default the model's). ``adaptive`` (default the
    model's): add batches until stable (JCGM 101 §7.9, :func:`adaptive_samples`,
    ``model.criterion``) on the quantities ``stabilise`` (default all with u > 0),
    batches of at least 100/(1 − p) trials (§7.9.4; the first batch, which carries the
    nominal inputs, counts when it has them), up to ``model.max_trials`` rounded up to
    whole batches and at least two batches. ``budget``: also each group's contribution
    (:func:`budget_u`, ``model.budget_trials`` trials each). ``groups``: the input
    groups varied (default all; fewer for studies of one effect).
    """
    model = model or UncertaintyModel()
    t0 = time.perf_counter()
    m = int(trials or model.trials)
    adaptive = model.adaptive if adaptive is None else adaptive
    first = _run(inputs, model, m, (model.seed, 0, len(GROUPS)), groups, True)
    names = list(first)
    nominal = {k: float(v[0]) for k, v in first.items()}
    m_batch = max(m, int(math.ceil(100.0 / (1.0 - model.coverage)))) if adaptive else m

    def batch(k: int) -> np.ndarray:  # batch k after the first: seeds 1, 2, … of the draw
        b = _run(inputs, model, m_batch, (model.seed, k + 1, len(GROUPS)), groups, False)
        return np.stack([b[key] for key in names])

    samples, batches, converged = adaptive_samples(
        batch,
        model,
        m_batch,
        adaptive=adaptive,
        cap=max(2, -(-model.max_trials // m_batch)) * m_batch,
        criterion=model.criterion,
        stabilise_idx=[names.index(k) for k in (stabilise or names) if k in names],
        first=np.stack([first[k][1:] for k in names]) if m_batch == m else None,
    )
    contributions = (
        budget_u(
            lambda g: _run(
                inputs, model, model.budget_trials, (model.seed, 0, _GROUP_INDEX[g]), (g,), False
            ),
            groups,
            names,
            model,
        )
        if budget
        else {}
    )
    return mc_result(
        samples,
        names,
        nominal,
        model,
        batches=batches,
        converged=converged,
        budget=contributions,
        t0=t0,
    )


# ----------------------------------------------------------------------------------------
# The rules both Monte Carlos share (spectral above, modulation in
# lightcomp.uncertainty.modulation)
# ----------------------------------------------------------------------------------------
def adaptive_samples(
    run_batch: Callable[[int], np.ndarray],
    model: UncertaintyModel,
    m: int,
    *,
    adaptive: bool,
    cap: int,
    criterion: str = "u",
    stabilise_idx: list[int] | None = None,
    first: np.ndarray | None = None,
) -> tuple[np.ndarray, int, bool]:
    """The trials of a Monte Carlo by the adaptive procedure of JCGM 101:2008 §7.9:
    ``(samples (Q, trials), batches, converged)``.

    ``run_batch(k)``: the (Q, ``m``) trials of batch ``k`` (``k`` = batches held before
    it; the caller maps ``k`` to its seeds). ``first``: a batch already drawn, kept as
    batch 0. Without ``adaptive``: that one batch (or ``run_batch(0)``), converged.

    Adaptive: batches are added while the trials stay within ``cap`` (a batch that would
    pass it is not drawn; at least one batch) until, with h ≥ 2 batches, twice the
    standard deviation of the batch estimates' mean, s/√h, is within the numerical
    tolerance δ of u written to ``model.digits`` significant digits (§7.9.2, δ from u of
    all trials so far, :func:`tolerance`) for each quantity of ``stabilise_idx`` (rows of
    the batch; None: all). The estimates (§7.9.4) are each batch's u
    (``criterion = "u"``: the reported U stable to its digits) or y, u, y_low and y_high
    (``"all"``). Reaching ``cap`` first: ``converged`` is False.
    """
    batches = [] if first is None else [first]
    if not adaptive:
        return (batches[0] if batches else run_batch(0)), 1, True
    idx = slice(None) if stabilise_idx is None else stabilise_idx
    rows = slice(1, 2) if criterion == "u" else slice(None)  # u of (y, u, y_low, y_high)
    ests = [_estimates(b, model.coverage)[:, idx] for b in batches]
    converged = False
    while (len(batches) + 1) * m <= cap or not batches:
        batches.append(run_batch(len(batches)))
        ests.append(_estimates(batches[-1], model.coverage)[:, idx])
        h = len(batches)
        if h < 2:
            continue
        with np.errstate(invalid="ignore"):
            s = np.nanstd(np.stack(ests), axis=0, ddof=1)[rows] / math.sqrt(h)  # (., Q)
        # u of all trials so far (no sorting: the coverage interval is not needed here)
        all_u = _mean_u(np.concatenate([b[idx] for b in batches], axis=1))[2]
        delta = tolerance(all_u, model.digits)
        if np.all((2.0 * s <= delta[None, :]) | ~np.isfinite(s)):
            converged = True
            break
    samples = batches[0] if len(batches) == 1 else np.concatenate(batches, axis=1)
    return samples, len(batches), converged


def budget_u(
    run_group: Callable[[str], dict[str, np.ndarray]],
    groups,
    names: list[str],
    model: UncertaintyModel,
) -> dict[str, dict[str, float]]:
    """The uncertainty budget: for each input group ``g`` of ``groups`` (in that order),
    u of each quantity of ``names`` from the trials ``run_group(g)`` with that group
    alone varied (the caller's seeds and ``model.budget_trials``); {} without
    quantities."""
    contributions: dict[str, dict[str, float]] = {}
    if not names:
        return contributions
    for g in groups:
        out = run_group(g)
        ug = summarize(np.stack([out[k] for k in names]), model.coverage)["u"]
        contributions[g] = {k: float(ug[j]) for j, k in enumerate(names)}
    return contributions


def mc_result(
    samples: np.ndarray,
    names: list[str],
    nominal: dict[str, float],
    model: UncertaintyModel,
    *,
    batches: int,
    converged: bool,
    budget: dict[str, dict[str, float]],
    t0: float,
) -> MCResult:
    """The :class:`MCResult` of a Monte Carlo: each quantity's statistics
    (:func:`quantity_stats`), the budget, the trials and batches, seconds since ``t0``
    (``time.perf_counter``), and the model's name, seed and coverage."""
    return MCResult(
        stats=quantity_stats(samples, names, nominal, model.coverage, converged),
        budget=budget,
        trials=int(samples.shape[1]),
        batches=batches,
        converged=converged,
        seconds=time.perf_counter() - t0,
        model=model.name,
        seed=model.seed,
        coverage=model.coverage,
    )


def quantity_stats(
    samples: np.ndarray,
    names: list[str],
    nominal: dict[str, float],
    coverage: float,
    converged: bool,
) -> dict[str, QuantityStats]:
    """Each quantity's statistics from its trials (row ``j`` of ``samples`` for
    ``names[j]``): the value of the nominal inputs, the mean, u, U = 2u and the
    shortest coverage interval (:func:`summarize`), the finite trials. The spectral and
    the modulation Monte Carlo report through it."""
    st = summarize(samples, coverage)
    return {
        k: QuantityStats(
            value=float(nominal[k]),
            mean=float(st["mean"][j]),
            u=float(st["u"][j]),
            U=2.0 * float(st["u"][j]),
            low=float(st["low"][j]),
            high=float(st["high"][j]),
            trials=int(st["trials"][j]),
            converged=converged,
        )
        for j, k in enumerate(names)
    }


def _estimates(block: np.ndarray, coverage: float) -> np.ndarray:
    """(4, Q): y, u, y_low, y_high of one batch (JCGM 101 §7.9.4)."""
    s = summarize(block, coverage)
    return np.stack([s["mean"], s["u"], s["low"], s["high"]])
