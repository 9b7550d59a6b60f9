"""Uncertainty of the VLC modulation results (issue 19): the Monte Carlo of the test's
records through the same analysis functions, checked against a hand-written GUM law of
propagation; reproducibility; the data-sheet look-up; and a failed Monte Carlo under
``required = false`` said on the station's output and recorded (never a silent "–")."""

from __future__ import annotations

import math
from concurrent.futures import Future

import numpy as np
import pytest
from _station_helpers import PLAN_DC, Lab, lot_rows

from lightcomp.analysis import modulation as mod
from lightcomp.uncertainty.model import UncertaintyModel, UncertaintyModelError, load_model
from lightcomp.uncertainty.modulation import (
    ModulationInputs,
    Sweep,
    bench_model,
    modulation_monte_carlo,
    record_noise,
    step_noise,
)

#: the simulated VLC bench's instruments (station/sim-vlc.toml): their data sheets (the
#: generator a 33622A by its configured identity)
BENCH = {"scope": "dsox1102g", "generator": "keysight33600a", "source": "keithley2400"}
FC_HZ = 5e6


def vlc_model(**kw) -> UncertaintyModel:
    """The simulated bench's model: data sheets of its instruments, the simulator's
    receiver and bias-T figures."""
    return bench_model(UncertaintyModel(**kw).with_station_instruments(BENCH), simulated=True)


N_POINTS = 2000
PERIODS = 4.0


def first_order_sweep(
    sigma: float, *, amplitude: float = 0.05, seed: int = 7, scales=None
) -> tuple[Sweep, np.ndarray]:
    """Records of a first-order response 1/(1 + j f/fc) (fc = 5 MHz) sampled as the station
    does (4 periods, 2000 points), white noise ``sigma`` (V) on the response channel; the
    stimulus (1 V amplitude) noiseless. Returns the sweep and the true |H|."""
    rng = np.random.default_rng(seed)
    f = np.logspace(5, 8, 25)  # 0.1-100 MHz, 8 per decade (the shipped VLC plan's grid)
    i = np.arange(N_POINTS) - N_POINTS / 2
    t = (PERIODS / f)[:, None] * i[None, :] / N_POINTS
    h = 1.0 / (1.0 + 1j * f / FC_HZ)
    w = 2.0 * np.pi * f[:, None] * t
    stim = np.sin(w)
    resp = amplitude * np.abs(h)[:, None] * np.sin(w + np.angle(h)[:, None])
    resp = resp + sigma * rng.standard_normal(resp.shape)
    scales = np.full(f.size, 0.01) if scales is None else np.asarray(scales, dtype=float)
    return Sweep(f, t, stim, resp, scales), np.abs(h)


def linearised_gum_u_fc(sweep: Sweep, sigma: float) -> tuple[float, float]:
    """(bandwidth, u) by the GUM law of propagation (JCGM 100 §5.1.2), written out here:
    lock-in amplitudes |R_i| with u = σ·√(2/N) (least squares over whole periods), levels
    D_i = 20 log10 |R_i|, normalised d_i = D_i − D_0, and the bandwidth interpolated
    linearly in dB against log10 f between the bracketing points i0, i1:
    f_c = 10^(lf0 + w·(lf1 − lf0)), w = (L − d0)/(d1 − d0)."""
    f = sweep.frequencies_hz
    amp = np.abs(mod.sine_fit(sweep.times_s, sweep.response, f))
    d = 20.0 * np.log10(amp / amp[0])
    level = mod.HALF_POWER_DB
    i1 = int(np.argmax(d <= level))
    i0 = i1 - 1
    w = (level - d[i0]) / (d[i1] - d[i0])
    lf0, lf1 = math.log10(f[i0]), math.log10(f[i1])
    fc = 10.0 ** (lf0 + w * (lf1 - lf0))
    u_d = 20.0 / math.log(10.0) * sigma * math.sqrt(2.0 / N_POINTS) / amp  # u(D_i), dB
    # ∂w/∂D_i0 = (w − 1)/(d1 − d0), ∂w/∂D_i1 = −w/(d1 − d0), ∂w/∂D_0 = 1/(d1 − d0)
    u_w = math.sqrt((w - 1.0) ** 2 * u_d[i0] ** 2 + w**2 * u_d[i1] ** 2 + u_d[0] ** 2) / abs(
        d[i1] - d[i0]
    )
    return fc, fc * math.log(10.0) * (lf1 - lf0) * u_w


def test_record_noise_is_measured_on_the_records():
    sweep, _ = first_order_sweep(0.002)
    sig = record_noise(sweep.times_s, sweep.response, sweep.frequencies_hz)
    assert sig == pytest.approx(np.full(25, 0.002), rel=0.06)
    # the step record's estimate ignores its edges
    rng = np.random.default_rng(3)
    t = np.linspace(0, 4e-6, 4000)
    y = np.where((t % 2e-6) < 1e-6, 1.0, 0.0) + 0.01 * rng.standard_normal(t.size)
    assert step_noise(y) == pytest.approx(0.01, rel=0.08)


def test_first_order_bandwidth_u_agrees_with_the_linearised_gum_estimate():
    """Known case: first-order response, known white noise on the response records. The
    Monte Carlo (noise drawn per sample, records through transfer_function, normalise and
    bandwidth_3db) gives the U of the law of propagation through the lock-in amplitudes
    within 10 % (4000 trials: the Monte Carlo's own u scatters by ~1.1 %)."""
    sigma = 0.002
    sweep, _ = first_order_sweep(sigma)
    fc, u_lpu = linearised_gum_u_fc(sweep, sigma)
    assert fc == pytest.approx(FC_HZ, rel=0.02)
    x = ModulationInputs(bias_a=0.35, white=sweep)
    model = vlc_model(trials=4000, adaptive=False)
    res = modulation_monte_carlo(x, model, groups=("scope_noise",), budget=False)
    st = res.stats["modulation_bandwidth_mhz"]
    assert st.value == pytest.approx(fc / 1e6, rel=1e-9)  # the measurement's own value
    assert st.trials == 4000
    assert st.u == pytest.approx(u_lpu / 1e6, rel=0.10)
    assert st.U == pytest.approx(2.0 * st.u)
    assert st.low < st.value < st.high
    # four times the noise: four times the U (linear regime)
    sweep4, _ = first_order_sweep(4 * sigma)
    res4 = modulation_monte_carlo(
        ModulationInputs(bias_a=0.35, white=sweep4), model, groups=("scope_noise",), budget=False
    )
    ratio = res4.stats["modulation_bandwidth_mhz"].u / st.u
    assert ratio == pytest.approx(4.0, rel=0.15)


def test_one_gain_setting_cancels_two_do_not():
    """The scope's gain error of one V/div setting cancels in R/S after normalisation; an
    auto-ranging switch between the reference point and the -3 dB point does not."""
    model = vlc_model(trials=500, adaptive=False)
    one, _ = first_order_sweep(0.0)
    res = modulation_monte_carlo(
        ModulationInputs(0.35, one), model, groups=("scope_gain",), budget=False
    )
    st = res.stats["modulation_bandwidth_mhz"]
    assert st.u <= 1e-9 * st.value
    scales = np.where(np.arange(25) < 3, 0.02, 0.008)  # a switch after the 3rd frequency
    two, _ = first_order_sweep(0.0, scales=scales)
    res = modulation_monte_carlo(
        ModulationInputs(0.35, two), model, groups=("scope_gain",), budget=False
    )
    st = res.stats["modulation_bandwidth_mhz"]
    assert st.u > 1e-3 * st.value


def _full_inputs() -> ModulationInputs:
    sweep, _ = first_order_sweep(0.002)
    blue, _ = first_order_sweep(0.002, seed=8)
    sweep.bias_a = blue.bias_a = np.array([0.35, 0.175, 0.07])
    sweep.bandwidth_hz = np.array([5e6, 4.9e6, 4.7e6])
    blue.bandwidth_hz = np.array([5e6, 3.6e6, 2.4e6])
    t = np.arange(4000) * 1e-9
    tau = 60e-9
    phase = t % 2e-6
    y = np.where(phase < 1e-6, 1 - np.exp(-phase / tau), np.exp(-(phase - 1e-6) / tau) * (1 - 1e-7))
    depth = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
    td = (PERIODS / 1e5) * (np.arange(N_POINTS) - N_POINTS / 2) / N_POINTS
    w = 2 * np.pi * 1e5 * td
    rng = np.random.default_rng(5)
    thd_true = np.array([0.01, 0.02, 0.04, 0.07, 0.12])
    rec = np.sin(w)[None, :] + thd_true[:, None] * np.sin(2 * w)[None, :]
    rec = rec + 0.002 * rng.standard_normal(rec.shape)
    return ModulationInputs(
        bias_a=0.35,
        white=sweep,
        filtered={"blue": blue},
        step_times_s=t,
        step_volts=y + 0.002 * rng.standard_normal(t.size),
        depth_sweep=depth,
        depth_bias_a=0.07,
        thd_times_s=np.broadcast_to(td, rec.shape).copy(),
        thd_records=rec,
        thd_vpp=2 * depth * 0.07 * 50.0,
        thd_frequency_hz=1e5,
        thd_max=0.05,
    )


def test_every_result_gets_u_and_a_budget_and_is_reproducible():
    x = _full_inputs()
    model = vlc_model(trials=300, adaptive=False, budget_trials=100)
    a = modulation_monte_carlo(x, model)
    keys = set(a.stats)
    assert keys == {
        "modulation_bandwidth_mhz",
        "modulation_bandwidth_blue_mhz",
        "rise_time_ns",
        "fall_time_ns",
        "modulation_depth_usable",
    }
    for k, s in a.stats.items():
        assert s.U > 0 and s.trials == 300, k
    # the depth axis: amplitude and bias-T errors dominate the usable depth's budget
    b = a.budget
    assert b["modulation_amplitude"]["modulation_depth_usable"] > 0
    assert b["scope_noise"]["rise_time_ns"] > b["time_frequency"]["rise_time_ns"]
    assert b["bias"]["modulation_bandwidth_blue_mhz"] > b["bias"]["modulation_bandwidth_mhz"]
    again = modulation_monte_carlo(x, model)
    assert again.as_dict()["quantities"] == a.as_dict()["quantities"]
    assert again.budget == a.budget
    other = modulation_monte_carlo(x, model.with_(seed=20))
    assert other.stats["rise_time_ns"].u != a.stats["rise_time_ns"].u


def test_instruments_without_data_sheet_figures_are_refused(tmp_path):
    x = ModulationInputs(0.35, first_order_sweep(0.002)[0])
    with pytest.raises(UncertaintyModelError, match="oscilloscope 'tds2024'"):
        modulation_monte_carlo(x, vlc_model(modulation_scope="tds2024", trials=10))
    p = tmp_path / "m.toml"
    p.write_text('[model]\nname = "x"\n\n[modulation]\ngenerator = "afg3000"\n')
    with pytest.raises(UncertaintyModelError, match=r"m\.toml:5: .*generator 'afg3000'"):
        load_model(p)
    p.write_text("[modulation]\nreceiver_rise_ns = -1\n")
    with pytest.raises(UncertaintyModelError, match="negative"):
        load_model(p)
    p.write_text('[modulation]\nreceiver_rise_ns = 0.5\nscope = "dsox1102g"\n')
    assert load_model(p).receiver_rise_ns == 0.5


def test_modulation_limits_use_u_under_the_guarded_rule():
    from lightcomp.station.modulation import modulation_settings, modulation_verdicts
    from lightcomp.uncertainty.station import apply_decision_rule

    s = modulation_settings(
        {
            "start_mhz": 0.1,
            "stop_mhz": 100,
            "bias_ma": [350],
            "step_depth": 0.25,
            "limits": {"bandwidth_min_mhz": 2.5},
        }
    )
    verdicts, failed = modulation_verdicts(s, {"modulation_bandwidth_mhz": 2.55})
    assert not failed
    unc = {"modulation_bandwidth_mhz": {"U": 0.1, "k": 2}}
    simple, f1 = apply_decision_rule(verdicts, unc, "simple")
    guarded, f2 = apply_decision_rule(verdicts, unc, "guarded")
    assert not f1 and simple["bandwidth_min_mhz"]["U"] == 0.1
    assert f2 == ["bandwidth_min_mhz"] and guarded["bandwidth_min_mhz"]["guard_band"] == 0.1


# -- a Monte Carlo that fails under required = false: said and recorded -----------------
class _Result:
    """The fields of a ComponentResult that settle() reads and writes."""

    def __init__(self, quantities):
        self.quantities = quantities
        self.verdict = "pass"
        self.verdicts: dict = {}
        self.failed_limits: list = []
        self.uncertainty: dict = {}
        self.error_message = None
        self.modulation_inputs = object()


def test_failed_modulation_monte_carlo_keeps_the_spectral_u_and_says_why():
    from lightcomp.uncertainty.montecarlo import MCResult, QuantityStats
    from lightcomp.uncertainty.station import (
        NOT_REPORTED,
        StationUncertainty,
        UncertaintyPlan,
        UnitMC,
    )

    spectral = MCResult(
        {"luminous_flux": QuantityStats(1000.0, 1000.0, 5.0, 10.0, 990.0, 1010.0, 2000)},
        {},
        2000,
        1,
        True,
        0.1,
        "default",
        19,
        0.95,
    )
    said: list[str] = []
    for required in (False, True):
        unc = StationUncertainty(
            UncertaintyPlan(vlc_model(), required=required),
            calibration_u_rel_k2=np.full(401, 0.02),
            echo=said.append,
        )
        fut: Future = Future()
        fut.set_result(UnitMC.of(spectral, "RuntimeError: singular matrix"))
        r = _Result({"luminous_flux": 1000.0, "modulation_bandwidth_mhz": 2.5})
        unc.settle(r, fut, unit="LC-TEST-1")
        unc.close()
        assert r.uncertainty["luminous_flux"]["U"] == 10.0
        if not required:
            note = r.uncertainty[NOT_REPORTED]
            assert note["quantities"] == ["modulation_bandwidth_mhz"]
            assert "RuntimeError: singular matrix" in note["reason"]
            assert r.verdict == "pass"
            assert said and said[-1].startswith(
                "uncertainty: LC-TEST-1: no U reported for modulation_bandwidth_mhz: "
            )
            assert "required = false" in said[-1]
        else:  # U required: the unit is an error naming why
            assert r.verdict == "error" and "singular matrix" in r.error_message


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    path = tmp_path_factory.mktemp("mc-fail")
    lab = Lab(path, f"sqlite:///{path / 'lightcomp.db'}")
    yield lab
    lab.close()


def test_failed_monte_carlo_is_said_and_recorded(lab, tmp_path, monkeypatch):
    """End to end on the simulated lab: a plan with required = false whose Monte Carlo
    fails for the second unit: the station prints a line naming the unit and the reason,
    the stored record says no U was reported and why, the certificate says so; the other
    units keep their U."""
    import lightcomp.uncertainty.station as st
    from lightcomp.reports.certificate import issue_certificate
    from lightcomp.store.models import Measurement

    plan = tmp_path / "plan.toml"
    plan.write_text(
        PLAN_DC.read_text(encoding="utf-8") + "\n[uncertainty]\nrequired = false\n",
        encoding="utf-8",
    )
    real = st.monte_carlo
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise FloatingPointError("overflow in the trial spectra")
        return real(*args, **kwargs)

    monkeypatch.setattr(st, "monte_carlo", flaky)
    said: list[str] = []
    summary = lab.runner(plan, lot="LOT-MCFAIL", echo=said.append).run(count=3)
    assert summary.measured == 3
    comps, meas = lot_rows(lab.store, "LOT-MCFAIL")
    with lab.store.session() as s:
        rows = {
            m.component_id: m
            for m in s.query(Measurement).filter(Measurement.id.in_([m[0] for m in meas]))
        }
        by_code = {code: rows[cid] for cid, code, *_ in comps}
    failed = [c for c, m in by_code.items() if "not_reported" in (m.uncertainty or {})]
    assert len(failed) == 1
    code = failed[0]
    note = by_code[code].uncertainty["not_reported"]
    assert note["quantities"] == "all"
    assert "FloatingPointError: overflow in the trial spectra" in note["reason"]
    assert by_code[code].verdict in ("pass", "fail")  # stored with its values, not an error
    for c, m in by_code.items():
        if c != code:
            assert m.uncertainty["luminous_flux"]["U"] > 0
    line = [m for m in said if m.startswith(f"uncertainty: {code}: ")]
    assert line == [
        f"uncertainty: {code}: no U reported for this unit: Monte Carlo failed "
        "(FloatingPointError: overflow in the trial spectra) (the plan says required = false)"
    ]
    out = tmp_path / "cert.html"
    issue_certificate(lab.store, code, out, authorised_by="Test Lead")
    html = out.read_text(encoding="utf-8")
    assert "No uncertainty is reported for the results of this unit: Monte Carlo failed" in html
    assert "FloatingPointError: overflow in the trial spectra" in html
    assert "no uncertainty is stated for the results" in html


def test_the_station_instruments_data_sheets_are_used_never_another_models(tmp_path):
    """A model file that names no VLC instruments takes the station's; a station whose
    scope has no data-sheet figures is refused when a [modulation] plan starts (U
    required), or runs saying its modulation results get no U (required = false)."""
    from lightcomp.uncertainty.station import StationUncertainty, plan_uncertainty

    p = tmp_path / "m.toml"
    p.write_text('[model]\nname = "lab"\n')
    other = {**BENCH, "scope": "tds2024"}
    plan = plan_uncertainty({"model": str(p)}, drivers=other)
    assert plan.model.modulation_scope == "tds2024"
    cal = np.full(401, 0.02)
    with pytest.raises(UncertaintyModelError, match="oscilloscope 'tds2024'"):
        StationUncertainty(plan, calibration_u_rel_k2=cal, modulation=True)
    said: list[str] = []
    lenient = plan_uncertainty({"model": str(p), "required": False}, drivers=other)
    unc = StationUncertainty(lenient, calibration_u_rel_k2=cal, modulation=True, echo=said.append)
    unc.close()
    assert unc.modulation_refused and "tds2024" in said[0] and "required = false" in said[0]
    # the shipped VLC station's instruments: the default model finds their figures (the
    # simulated lab: the simulator's receiver and bias-T)
    ok = plan_uncertainty(None, drivers=BENCH)
    StationUncertainty(ok, calibration_u_rel_k2=cal, modulation=True, simulated=True).close()


def test_a_real_station_must_set_the_receiver_and_bias_tee_figures(tmp_path):
    """Issue 19 review: no data sheet gives the photoreceiver's rise time or the bias-T's
    tolerance. On a station that is not the simulated lab a model file that does not set
    them is refused when U is required (one line naming the key), and said under
    required = false — never the simulated receiver's 1 ns taken silently."""
    from lightcomp.simlab.vlc import RECEIVER_BANDWIDTH_HZ
    from lightcomp.uncertainty.modulation import SIMULATED_BENCH
    from lightcomp.uncertainty.station import StationUncertainty, plan_uncertainty

    cal = np.full(401, 0.02)
    p = tmp_path / "m.toml"
    p.write_text('[model]\nname = "lab"\n\n[modulation]\nbias_tee_resistance_rel = 0.005\n')
    plan = plan_uncertainty({"model": str(p)}, drivers=BENCH)
    with pytest.raises(UncertaintyModelError) as exc:
        StationUncertainty(plan, calibration_u_rel_k2=cal, modulation=True)
    msg = str(exc.value)
    assert "\n" not in msg and "[modulation] receiver_rise_ns" in msg
    assert "bias_tee_resistance_rel" not in msg  # the file sets that one
    # the default model (no file) on a real station: both named, on one line
    with pytest.raises(UncertaintyModelError, match=r"receiver_rise_ns .* bias_tee_resistance"):
        StationUncertainty(
            plan_uncertainty(None, drivers=BENCH), calibration_u_rel_k2=cal, modulation=True
        )
    said: list[str] = []
    lenient = plan_uncertainty({"model": str(p), "required": False}, drivers=BENCH)
    unc = StationUncertainty(lenient, calibration_u_rel_k2=cal, modulation=True, echo=said.append)
    unc.close()
    assert "receiver_rise_ns" in unc.modulation_refused
    assert len(said) == 1 and "receiver_rise_ns" in said[0] and "required = false" in said[0]
    # a model file that sets both: used as set, on any station
    p.write_text("[modulation]\nreceiver_rise_ns = 0.7\nbias_tee_resistance_rel = 0.005\n")
    unc = StationUncertainty(
        plan_uncertainty({"model": str(p)}, drivers=BENCH),
        calibration_u_rel_k2=cal,
        modulation=True,
    )
    unc.close()
    assert (unc.plan.model.receiver_rise_ns, unc.plan.model.bias_tee_resistance_rel) == (0.7, 0.005)
    # the simulated lab: the simulator's own receiver (0.35 / its bandwidth), a file's
    # figures still win
    sim = bench_model(UncertaintyModel().with_station_instruments(BENCH), simulated=True)
    assert sim.receiver_rise_ns == pytest.approx(0.35 / RECEIVER_BANDWIDTH_HZ * 1e9)
    assert sim.bias_tee_resistance_rel == SIMULATED_BENCH["bias_tee_resistance_rel"]
    own = bench_model(
        UncertaintyModel(receiver_rise_ns=0.7).with_station_instruments(BENCH), simulated=True
    )
    assert own.receiver_rise_ns == 0.7
    # the Monte Carlo itself refuses a model without them
    x = ModulationInputs(0.35, first_order_sweep(0.002)[0])
    with pytest.raises(UncertaintyModelError, match="receiver_rise_ns"):
        modulation_monte_carlo(x, UncertaintyModel(trials=10).with_station_instruments(BENCH))


def test_keithley_2400_source_figures_are_the_spec_sheets_and_the_docs_show_them():
    """Issue 19 review: SPEC-2400 Rev. H current programming accuracy, 1 year: 10 mA
    ±(0.045 % + 2 µA), 100 mA ±(0.066 % + 20 µA), 1 A ±(0.27 % + 900 µA); the docs' table
    shows the code's figures (one home)."""
    from pathlib import Path

    from lightcomp.uncertainty.modulation import BIAS_SOURCES

    k = BIAS_SOURCES["keithley2400"]
    assert k.half_width(0.005) == pytest.approx(0.00045 * 0.005 + 2e-6)
    assert k.half_width(0.05) == pytest.approx(0.00066 * 0.05 + 20e-6)
    assert k.half_width(0.35) == pytest.approx(0.0027 * 0.35 + 900e-6)
    assert k.half_width(500e-6) == pytest.approx(0.00034 * 500e-6 + 200e-9)
    text = k.describe()
    assert "10 mA ±(0.045 % + 2 µA)" in text and "1 A ±(0.27 % + 900 µA)" in text
    docs = (Path(__file__).resolve().parents[1] / "docs" / "uncertainty.md").read_text("utf-8")
    assert f"Keithley 2400 source current: {text} |" in docs


def test_generator_edges_by_the_configured_identity():
    """Issue 19 review: the keysight33500 driver serves the 33500B (8.4 ns edges) and the
    33600A (2.9 ns): the driver alone takes the slower edges; an identity naming a
    336xxA takes the 33600A's. The simulated station's generator is a 33622A."""
    from lightcomp.station.config import load_station
    from lightcomp.uncertainty.modulation import GENERATORS, datasheet_name

    assert GENERATORS[datasheet_name("keysight33500")].edge_s == 8.4e-9
    assert GENERATORS[datasheet_name("keysight33500", "336")].edge_s == 8.4e-9
    assert GENERATORS[datasheet_name("keysight33500", "33522B")].edge_s == 8.4e-9
    assert GENERATORS[datasheet_name("keysight33500", "33622A")].edge_s == 2.9e-9
    assert datasheet_name("keithley2400", "MODEL 2400") == "keithley2400"
    from pathlib import Path

    st = load_station(Path(__file__).resolve().parents[1] / "station" / "sim-vlc.toml")
    g = st.instruments["generator"]
    assert datasheet_name(g.driver, g.identity) == "keysight33600a"
    # the slower generator's edges: more instrument rise time in the measured edges
    x = _full_inputs()
    slow = modulation_monte_carlo(
        x,
        vlc_model(modulation_generator="keysight33500", trials=200, adaptive=False),
        groups=("instrument_response",),
        budget=False,
    )
    fast = modulation_monte_carlo(
        x, vlc_model(trials=200, adaptive=False), groups=("instrument_response",), budget=False
    )
    assert slow.stats["rise_time_ns"].u > 1.5 * fast.stats["rise_time_ns"].u


def test_uncorrected_instrument_responses_are_one_sided():
    """Issue 19 review (JCGM 101 §6.4.2.1, R(0, b)): the uncorrected receiver pole only
    lowers the measured bandwidth, the instruments' rise time only lengthens the edges:
    every trial's bandwidth is at or above the measured value, every trial's edge time
    at or below it, and the interval lies on that side."""
    x = _full_inputs()
    res = modulation_monte_carlo(
        x, vlc_model(trials=400, adaptive=False), groups=("instrument_response",), budget=False
    )
    for key in ("modulation_bandwidth_mhz", "modulation_bandwidth_blue_mhz"):
        st = res.stats[key]
        assert st.u > 0 and st.low >= st.value * (1 - 1e-12) and st.mean > st.value, key
    for key in ("rise_time_ns", "fall_time_ns"):
        st = res.stats[key]
        assert st.u > 0 and st.high <= st.value * (1 + 1e-12) and st.mean < st.value, key


def test_merged_record_keeps_the_spectral_convergence():
    """Issue 19 review: the evaluation record's ``converged`` is the spectral Monte
    Carlo's (the certificate's spectral sentence reads it); each modulation result keeps
    its own."""
    from lightcomp.uncertainty.modulation import merge
    from lightcomp.uncertainty.montecarlo import MCResult, QuantityStats

    def result(key: str, converged: bool) -> MCResult:
        st = QuantityStats(1.0, 1.0, 0.1, 0.2, 0.8, 1.2, 2000, converged=converged)
        return MCResult({key: st}, {}, 2000, 1, converged, 0.1, "m", 19, 0.95)

    for spectral_ok, modulation_ok in ((True, False), (False, True), (True, True)):
        m = merge(
            result("luminous_flux", spectral_ok),
            result("modulation_bandwidth_mhz", modulation_ok),
        )
        assert m.converged is spectral_ok
        assert m.stats["modulation_bandwidth_mhz"].converged is modulation_ok


def test_the_left_out_lock_in_mismatch_is_as_stated():
    """Issue 19 review: the lock-in's frequency mismatch (generator 1 ppm + time base
    50 ppm) is first order — the white bandwidth moves by about δ relative, not by the
    second-order (π·periods·δ)² — and the module docstring and docs/uncertainty.md state
    the same figures."""
    from pathlib import Path

    import lightcomp.uncertainty.modulation as um

    delta = um.LOCKIN_MISMATCH
    assert delta == pytest.approx(51e-6)
    sweep, _ = first_order_sweep(0.0)
    f = sweep.frequencies_hz

    def bandwidth(t):
        h = mod.normalise(f, mod.transfer_function(t, sweep.stimulus, sweep.response, f))
        return mod.bandwidth_3db(f, h)

    shift = abs(bandwidth(sweep.times_s * (1 + delta)) / bandwidth(sweep.times_s) - 1)
    assert 0.5 * delta < shift < 1.5 * delta  # first order: ≈ δ
    assert shift > 10 * (math.pi * PERIODS * delta) ** 2  # not the second-order figure
    docs = (Path(__file__).resolve().parents[1] / "docs" / "uncertainty.md").read_text("utf-8")
    for text in (" ".join(um.__doc__.split()), " ".join(docs.split())):
        assert "up to ≈ δ = 5·10⁻⁵ relative" in text
        assert "the bandwidth moves by ≈ δ relative" in text
        assert "(π·periods·" not in text and "10⁻⁸" not in text
