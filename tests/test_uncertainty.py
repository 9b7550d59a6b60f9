"""GUM Supplement 1 Monte Carlo (lightcomp.uncertainty): checks of the method.

Independent references: the GUM law of propagation (JCGM 100 §5.1.2, first
order) written out by hand for the luminous flux; analytic distributions
(rectangular, exponential); the expected sqrt(step) scaling of uncorrelated noise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _led_spectra import led_spectra

from lightcomp.analysis import WL
from lightcomp.analysis.data import load_cmfs
from lightcomp.analysis.photometry import KM_LM_PER_W
from lightcomp.uncertainty import (
    ComponentInputs,
    UncertaintyModel,
    load_model,
    monte_carlo,
    summarize,
)
from lightcomp.uncertainty.model import UncertaintyModelError
from lightcomp.uncertainty.montecarlo import fourier_functions, lamp_parts, planck_shape

READINGS = {"voltage_v": 36.0, "current_a": 0.35, "power_w": 12.6, "tc_c": 25.0}


def _led(seed: int = 3, flux_lm: float = 1200.0) -> np.ndarray:
    s = led_spectra(1, seed)[0]
    return s * flux_lm / (KM_LM_PER_W * s @ load_cmfs("1931_2")[:, 1])


def _inputs(spectrum=None, **kw) -> ComponentInputs:
    base = dict(
        lamp_u_rel_k2=0.02,
        lamp_total_u_rel_k2=0.01,
        lamp_spectrum=planck_shape(WL) * 0.01,
        readings=dict(READINGS),
    )
    base.update(kw)
    return ComponentInputs(WL, _led() if spectrum is None else spectrum, **base)


def test_flux_agrees_with_gum_law_of_propagation():
    """Luminous flux is nearly linear in the inputs: MC u within 5 % of the LPU u."""
    phi = _led()
    model = UncertaintyModel(trials=40_000, adaptive=False, fourier_terms=8)
    inp = _inputs(phi)
    r = monte_carlo(inp, model, budget=False)
    u_mc = r.stats["luminous_flux"].u

    # Hand-written first-order propagation, Φv = Km Σ Φ(λ) ȳ(λ) Δλ (Δλ = 1 nm).
    w = KM_LM_PER_W * load_cmfs("1931_2")[:, 1]
    flux = float(w @ phi)
    u_c, u_p, u_u = lamp_parts(inp, model)
    n = model.fourier_terms
    x = (WL - WL[0]) / (WL[-1] - WL[0])
    # Fourier part: E[f(x_i) f(x_j)] = (1/N) Σ_k cos(2πk(x_i − x_j))
    k = np.arange(1, n + 1)[:, None, None]
    corr = np.cos(2 * np.pi * k * (x[None, :, None] - x[None, None, :])).sum(axis=0) / n
    a = w * phi * u_p
    var = (float((w * phi * u_c).sum())) ** 2 + a @ corr @ a + float(((w * phi * u_u) ** 2).sum())
    lamp = inp.lamp_spectrum
    d_phi, d_lamp = np.gradient(phi, WL), np.gradient(lamp, WL)
    c_wl = float(w @ (-d_phi + phi * d_lamp / lamp))
    var += (c_wl * model.wavelength_u_nm) ** 2
    d2 = np.gradient(d_phi, WL)
    var += (float(w @ d2) * model.bandwidth_nm**2 / 12) ** 2 / 3
    var += (model.stray_light_rel * phi.mean() * w.sum()) ** 2 / 3
    var += float(((w * phi * model.noise_rel) ** 2).sum())
    var += float(((w * model.dark_noise_rel * phi.max()) ** 2).sum())
    var += float(((w * phi * model.lamp_noise_rel) ** 2).sum())
    level = phi / phi.max() - lamp / lamp.max()
    var += (float(w @ (phi * level)) * model.nonlinearity_rel) ** 2
    var += (flux * model.self_absorption_u_rel) ** 2
    var += (flux * model.sphere_nonuniformity_rel) ** 2 / 3
    u_lpu = math.sqrt(var)
    assert r.stats["luminous_flux"].value == pytest.approx(flux, rel=1e-9)
    assert abs(u_mc - u_lpu) <= 0.05 * u_lpu, (u_mc, u_lpu)


def test_rectangular_input_reproduced():
    """Sphere non-uniformity alone is rectangular ±a: u = a/√3 and any 95 % interval
    is 0.95 of the full width."""
    a = 0.01
    model = UncertaintyModel(trials=50_000, adaptive=False, sphere_nonuniformity_rel=a)
    r = monte_carlo(_inputs(), model, budget=False, groups=("sphere",))
    s = r.stats["luminous_flux"]
    assert s.u == pytest.approx(s.value * a / math.sqrt(3), rel=0.01)
    assert s.high - s.low == pytest.approx(s.value * 2 * a * 0.95, rel=0.005)
    assert s.value * (1 - a) <= s.low and s.high <= s.value * (1 + a)


def test_shortest_interval_of_an_asymmetric_distribution():
    """Exponential(1): the shortest 95 % interval is [0, −ln 0.05] (not the
    probabilistically symmetric one [0.025, 3.69])."""
    y = np.random.default_rng(5).exponential(1.0, 200_000)
    st = summarize(y[None, :], 0.95)
    assert st["low"][0] == pytest.approx(0.0, abs=2e-3)
    assert st["high"][0] == pytest.approx(-math.log(0.05), rel=0.01)
    assert st["u"][0] == pytest.approx(1.0, rel=0.01)


def _grid_flux_u(step: float, groups, **model_kw) -> float:
    wl = np.arange(380.0, 780.0 + step / 2, step)
    phi = np.interp(wl, WL, _led())
    lamp = planck_shape(wl)
    inp = ComponentInputs(wl, phi, lamp_u_rel_k2=0.02, lamp_total_u_rel_k2=0.01, lamp_spectrum=lamp)
    model = UncertaintyModel(trials=8_000, adaptive=False, dark_noise_rel=0.0, **model_kw)
    r = monte_carlo(inp, model, budget=False, groups=groups)
    return r.stats["luminous_flux"].u / r.stats["luminous_flux"].value


def test_uncorrelated_noise_shrinks_with_resolution_correlated_does_not():
    # Per-point noise: u(flux) ∝ sqrt(step) (sum of independent points, weight ∝ step).
    noise = {s: _grid_flux_u(s, ("noise",), lamp_noise_rel=0.0) for s in (1.0, 5.0)}
    assert noise[5.0] / noise[1.0] == pytest.approx(math.sqrt(5.0), rel=0.1)
    # The standard lamp's correlated parts do not average out on a finer grid.
    lamp = {s: _grid_flux_u(s, ("standard_lamp",), lamp_partial_fraction=1.0) for s in (1.0, 5.0)}
    assert lamp[5.0] / lamp[1.0] == pytest.approx(1.0, abs=0.05)


def test_flux_uncertainty_never_below_the_standard_lamps_own():
    model = UncertaintyModel(trials=4_000, adaptive=False)
    for seed in range(4):
        phi = _led(seed=seed)
        r = monte_carlo(_inputs(phi), model, budget=False)
        s = r.stats["luminous_flux"]
        assert s.U / s.value >= 0.010, seed


def test_fourier_functions_have_unit_variance_and_are_smooth():
    f = fourier_functions(np.random.default_rng(1), 20_000, WL, 10)
    assert np.allclose(f.var(axis=0), 1.0, atol=0.05)
    # neighbours 1 nm apart are almost fully correlated; the ends are not independent
    # of the middle only through the series
    r = np.corrcoef(f[:, 100], f[:, 101])[0, 1]
    assert r > 0.99


def test_seeded_and_reproducible():
    model = UncertaintyModel(trials=2_000, adaptive=False, budget_trials=500)
    a = monte_carlo(_inputs(), model)
    b = monte_carlo(_inputs(), model)
    c = monte_carlo(_inputs(), model.with_(seed=20))
    assert a.as_dict()["quantities"] == b.as_dict()["quantities"]
    assert a.budget == b.budget
    assert a.stats["x"].u != c.stats["x"].u


def test_adaptive_procedure_stabilises_reported_digits():
    model = UncertaintyModel(trials=2_000, max_trials=60_000, digits=1)
    r = monte_carlo(_inputs(), model, budget=False, stabilise=("luminous_flux", "x", "CCT"))
    assert r.converged and r.batches >= 2 and r.trials == 2_000 * r.batches
    # a second seed agrees to the stabilised digit of u (one unit at most)
    r2 = monte_carlo(
        _inputs(), model.with_(seed=77), budget=False, stabilise=("luminous_flux", "x", "CCT")
    )
    for q in ("luminous_flux", "x", "CCT"):
        u1, u2 = r.stats[q].u, r2.stats[q].u
        unit = 10.0 ** math.floor(math.log10(u1))
        assert abs(u1 - u2) <= unit, q


def test_budget_groups_add_up_and_readings_propagate():
    model = UncertaintyModel(trials=10_000, adaptive=False, budget_trials=10_000)
    r = monte_carlo(_inputs(), model)
    u = r.stats["luminous_flux"].u
    total = math.sqrt(sum(b["luminous_flux"] ** 2 for b in r.budget.values()))
    assert total == pytest.approx(u, rel=0.05)
    # electrical: Keithley 2400 200 V range ±(0.015 % + 10 mV), rectangular → u = a/√3
    a_v = 0.00015 * 36.0 + 10e-3
    u_v = math.hypot(a_v / math.sqrt(3), 36.0 * model.voltage_scatter_rel)
    assert r.stats["voltage_v"].u == pytest.approx(u_v, rel=0.03)
    # the flux does not depend on the electrical inputs: zero up to float rounding (the
    # analysis sums chunks with BLAS, so identical spectra may differ in the last bit)
    assert r.budget["electrical"]["luminous_flux"] == pytest.approx(0.0, abs=1e-9 * u)
    assert r.budget["electrical"]["efficacy"] > 0.0
    assert r.budget["temperature"]["tc_c"] == pytest.approx(
        (0.30 + 0.005 * 25.0) / math.sqrt(3), rel=0.05
    )


# ----------------------------------------------------------------------------------------
# Model files
# ----------------------------------------------------------------------------------------
GOOD = """\
[model]
name = "station 1"
trials = 5000

[standard_lamp]
u_rel_k2 = 0.02
correlated_fraction = 0.4

[wavelength]
offset_nm = 0.05
u_nm = 0.1

[electrical]
voltage_meter = "wt310e"
voltage_current_correlation = 0.5
"""


def test_model_file_read(tmp_path):
    p = tmp_path / "m.toml"
    p.write_text(GOOD)
    m = load_model(p)
    assert (m.name, m.trials, m.lamp_u_rel_k2, m.lamp_correlated_fraction) == (
        "station 1",
        5000,
        0.02,
        0.4,
    )
    assert m.voltage_meter == "wt310e" and m.voltage_current_correlation == 0.5


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("u_nm = 0.1", "u_nm = -0.1", 11, "negative"),
        ("u_nm = 0.1", 'u_nm = ""', 11, "missing"),
        ("u_nm = 0.1", "", 10, "without its uncertainty"),
        ("correlated_fraction = 0.4", "correlated_fracton = 0.4", 7, "unknown input"),
        ("[wavelength]", "[wavelenght]", 9, "unknown input group"),
        ("= 0.5", "= 1.5", 15, "outside [-1, 1]"),
        ('"wt310e"', '"wt999"', 14, "unknown meter"),
    ],
)
def test_bad_model_file_refused_naming_the_line(tmp_path, old, new, line, words):
    p = tmp_path / "m.toml"
    p.write_text(GOOD.replace(old, new))
    with pytest.raises(UncertaintyModelError) as exc:
        load_model(p)
    assert f"m.toml:{line}:" in str(exc.value) and words in str(exc.value)


def test_no_lamp_uncertainty_is_refused():
    inp = ComponentInputs(WL, _led(), readings={})
    with pytest.raises(UncertaintyModelError, match="standard-lamp uncertainty"):
        monte_carlo(inp, UncertaintyModel(trials=100, adaptive=False), budget=False)


def test_results_do_not_depend_on_threads(monkeypatch):
    from lightcomp.analysis import _cr_common

    model = UncertaintyModel(trials=3_000, adaptive=False)
    a = monte_carlo(_inputs(), model, budget=False)
    monkeypatch.setattr(_cr_common, "THREADS", 1)
    b = monte_carlo(_inputs(), model, budget=False)
    # same draws; BLAS on one thread may sum in another order (last-digit differences)
    for q, s in a.stats.items():
        assert b.stats[q].u == pytest.approx(s.u, rel=1e-9, abs=1e-300), q
        assert b.stats[q].low == pytest.approx(s.low, rel=1e-9), q


def test_power_analyser_accuracy_on_its_power_range():
    """WT310E DC power ±(0.1 % of reading + 0.2 % of range), range = V range × I range
    (IM WT310E-02EN §7.3.2): 36 V on 60 V, 0.35 A on 0.5 A → 30 W range."""
    model = UncertaintyModel(
        trials=40_000,
        adaptive=False,
        voltage_meter="wt310e",
        current_meter="wt310e",
        power_meter="wt310e",
    )
    r = monte_carlo(_inputs(), model, budget=False, groups=("electrical",))
    a = 0.001 * 12.6 + 0.002 * 60.0 * 0.5
    u = math.hypot(a / math.sqrt(3), 12.6 * model.power_scatter_rel)
    assert r.stats["power_w"].u == pytest.approx(u, rel=0.02)


def test_per_point_noise_is_independent_normal():
    """The per-point noise (a 2¹⁶-quantile table of N(0, 1), picked by 16 random bits,
    times σ) is N(0, σ²) per wavelength, for any M, and independent between trials and
    between neighbouring wavelengths."""
    from scipy import stats

    from lightcomp.uncertainty.montecarlo import add_normal_noise

    m, w = 100_001, 7
    sigma = np.array([1.0, 2.0, 0.5, 1e-3, 3.0, 1.0, 0.1])
    x = np.zeros((m, w))
    add_normal_noise(x, sigma.astype(np.float32), np.random.default_rng(4))
    z = x / sigma
    assert np.allclose(z.mean(axis=0), 0.0, atol=0.015)
    assert np.allclose(z.std(axis=0), 1.0, rtol=0.01)
    assert np.allclose(stats.kurtosis(z, axis=0), 0.0, atol=0.06)  # normal: excess 0
    for col in range(w):
        assert stats.kstest(z[:, col], "norm").pvalue > 1e-3, col
    assert abs(np.corrcoef(z[:-1, 0], z[1:, 0])[0, 1]) < 0.02  # trial t and t + 1
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.02  # neighbouring wavelengths
    assert abs(np.corrcoef(z[:, 0] ** 2, z[:, 1] ** 2)[0, 1]) < 0.02


def test_ac_default_model_uses_mains_figures_and_propagates_power_factor():
    """AC plans: WT310E at 45-66 Hz, ±(0.1 % of reading + 0.05 % of range) for V, I and
    P (IM WT310E-02EN §7.3); λ = P/(V·I) as the analyser computes it carries all three."""
    from lightcomp.uncertainty.model import default_model

    model = default_model("ac", {"power_analyzer": "wt310e"}).with_(trials=40_000, adaptive=False)
    v0, i0, p0, pf0 = 230.0, 0.1, 22.0, 0.95
    readings = {"voltage_v": v0, "current_a": i0, "power_w": p0, "power_factor": pf0}
    r = monte_carlo(_inputs(readings=readings), model, budget=False, groups=("electrical",))

    def rel(a: float, value: float, scatter: float) -> float:
        return math.hypot(a / math.sqrt(3) / value, scatter)

    ur_v = rel(0.001 * v0 + 0.0005 * 300.0, v0, model.voltage_scatter_rel)  # 300 V range
    ur_i = rel(0.001 * i0 + 0.0005 * 0.1, i0, model.current_scatter_rel)  # 0.1 A range
    ur_p = rel(0.001 * p0 + 0.0005 * 300.0 * 0.1, p0, model.power_scatter_rel)  # 30 W range
    assert r.stats["voltage_v"].u == pytest.approx(v0 * ur_v, rel=0.02)
    assert r.stats["power_w"].u == pytest.approx(p0 * ur_p, rel=0.02)
    u_pf = pf0 * math.sqrt(ur_p**2 + ur_v**2 + ur_i**2)
    assert r.stats["power_factor"].u == pytest.approx(u_pf, rel=0.03)
    assert r.stats["power_factor"].value == pf0


def test_chunks_run_with_one_blas_thread_in_their_own_thread():
    """The station calls the Monte Carlo from a worker thread, where OpenBLAS ignored
    the process-wide one-thread limit: each chunk sets the thread-local one and puts
    the previous one back."""
    import threading

    from lightcomp.analysis._cr_common import openblas_local_threads, single_threaded_blas

    f = openblas_local_threads()
    if f is None:
        pytest.skip("BLAS without a thread-local thread count")
    seen: list[int] = []

    def in_thread() -> None:
        previous = f(3)
        with single_threaded_blas():
            seen.append(f(1))  # the value set inside
        seen.append(f(previous))  # restored on leaving

    th = threading.Thread(target=in_thread)
    th.start()
    th.join()
    assert seen == [1, 3]


def test_keithley_2400_current_figures_are_the_data_sheets_and_the_docs_say_them():
    """The DC station's current meter (measure accuracy, 1 year): at the shipped 350 mA on
    the 1 A range ±(0.22 % + 570 µA) — not a tenth of it — and the docs' table row gives
    the same figures as the code."""
    from pathlib import Path

    from lightcomp.uncertainty.model import METERS

    spec = METERS["keithley2400"]["current"]
    assert spec.half_width(0.35) == pytest.approx(0.0022 * 0.35 + 570e-6)
    assert spec.half_width(0.05) == pytest.approx(0.00055 * 0.05 + 6e-6)
    assert spec.half_width(0.005) == pytest.approx(0.00035 * 0.005 + 600e-9)
    docs = (Path(__file__).resolve().parents[1] / "docs" / "uncertainty.md").read_text("utf-8")
    row = next(ln for ln in docs.splitlines() if "| Keithley 2400 current |" in ln)
    for full, gain, _offset in spec.ranges[-3:]:
        assert f"{gain * 100:.4g} %" in row, (full, gain)
