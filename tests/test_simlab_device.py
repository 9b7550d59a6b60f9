"""The simulated LED device model, checked with colour-science as the oracle.

Colour quantities (CCT/Duv by Ohno 2013, Ra/R9 by CIE 13.3, luminous flux) are
computed by colour-science, never by the model under test.  Plan limits in the
yield check are the "reasonable plan" documented in station/simlab/devices.toml
with ANSI C78.377-2017 quadrangles (4000 K: 3985 +- 275 K, 3000 K: 3045 +- 175 K,
Duv +- 0.006 around the published target Duv).
"""

from __future__ import annotations

import warnings
from collections import Counter

import colour
import numpy as np
import pytest

from lightcomp.simlab import device as dev
from lightcomp.simlab.world import World, load_standard_lamp

pytestmark = pytest.mark.filterwarnings("ignore::colour.utilities.ColourRuntimeWarning")
FAMILIES, SPHERE = dev.load_devices()
ANSI = {4000: (3985.0, 275.0, 0.0010), 3000: (3045.0, 175.0, 0.0001)}  # C78.377-2017


def sd(values: np.ndarray) -> colour.SpectralDistribution:
    return colour.SpectralDistribution(dict(zip(dev.WAVELENGTHS_NM, values, strict=True)))


def cct_duv(values: np.ndarray) -> tuple[float, float]:
    xy = colour.XYZ_to_xy(colour.sd_to_XYZ(sd(values)))
    cct, duv = colour.uv_to_CCT(colour.xy_to_UCS_uv(xy), method="Ohno 2013")
    return float(cct), float(duv)


def ra_r9(values: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cri = colour.colour_rendering_index(sd(values), additional_data=True)
    return float(cri.Q_a), float(cri.Q_as[9].Q_a)


def nominal_unit(fam: dev.Family) -> dev.Unit:
    p = fam.params
    return dev.Unit(
        "NOM",
        "NOM",
        fam,
        1.0,
        p["nominal_cct_k"],
        p["nominal_duv"],
        p["red_peak_nm"],
        1.0,
        p["nominal_vf_v"],
        None,
    )


def test_families_cover_level0_dc_and_level1_ac():
    kinds = {(f.level, f.drive) for f in FAMILIES.values()}
    assert (0, "dc") in kinds and (1, "ac") in kinds
    for f in FAMILIES.values():
        assert 0.97 <= f.self_absorption <= 0.99


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_nominal_unit_hits_its_chromaticity(name):
    fam = FAMILIES[name]
    cct, duv = cct_duv(nominal_unit(fam).spectrum_25c)
    assert cct == pytest.approx(fam.nominal_cct_k, abs=3.0)
    assert duv == pytest.approx(fam.nominal_duv, abs=2e-4)
    ra, r9 = ra_r9(nominal_unit(fam).spectrum_25c)
    assert 80 <= ra <= 99 and r9 > 0


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_rated_flux_after_stabilisation(name):
    """A nominal unit at nominal current emits the rated flux once warm (25 degC ambient)."""
    w = World()
    w.unit = nominal_unit(FAMILIES[name])
    w.update_source(
        output=True,
        mode="current",
        current_a=FAMILIES[name].nominal_current_a,
        voltage_limit_v=200.0,
    )
    cold = colour.luminous_flux(sd(w.operating_point().spectral_flux_w_nm))
    w.advance(3 * 3600)
    warm = colour.luminous_flux(sd(w.operating_point().spectral_flux_w_nm))
    assert warm == pytest.approx(FAMILIES[name].nominal_flux_lm, rel=0.002)
    assert cold > warm


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_lm79_warm_up_converges(name):
    """Readings 15 min apart: > 0.5 % apart at the start for AC modules, < 0.5 % after 30 min."""
    w = World()
    fam = FAMILIES[name]
    w.load("W1", "LOT-W", name)
    w.update_source(
        output=True, mode="current", current_a=fam.nominal_current_a, voltage_limit_v=200.0
    )
    flux = []
    for _ in range(6):
        flux.append(colour.luminous_flux(sd(w.operating_point().spectral_flux_w_nm)))
        w.advance(900)
    change = np.abs(np.diff(flux)) / np.array(flux[1:])
    assert np.all(change[2:] < 0.005)
    if fam.level == 1:
        assert change[0] > 0.005


def test_units_deterministic_in_seed_lot_serial():
    fam = FAMILIES["LS0-COB-4000"]
    a = dev.make_unit(fam, "S1", "L1", seed=3)
    assert a == dev.make_unit(fam, "S1", "L1", seed=3)
    np.testing.assert_array_equal(a.spectrum_25c, dev.make_unit(fam, "S1", "L1", 3).spectrum_25c)
    assert a != dev.make_unit(fam, "S2", "L1", seed=3)
    assert a != dev.make_unit(fam, "S1", "L1", seed=4)


def _verdict(fam: dev.Family, op: dev.OperatingPoint, power_w: float) -> str | None:
    p = fam.params
    flux = colour.luminous_flux(sd(op.spectral_flux_w_nm))
    cct, duv = cct_duv(op.spectral_flux_w_nm)
    target, tol, target_duv = ANSI[int(p["nominal_cct_k"])]
    ra, r9 = ra_r9(op.spectral_flux_w_nm)
    ra_min, r9_min = (90, 50) if p["nominal_cct_k"] == 3000 else (80, 0)
    nominal_power = p["nominal_vf_v"] * p["nominal_current_a"] / p.get("driver_efficiency", 1.0)
    if flux < 0.9 * p["nominal_flux_lm"]:
        return "flux"
    if abs(cct - target) > tol or abs(duv - target_duv) > 0.006:
        return "colour"
    if ra < ra_min or r9 <= r9_min:
        return "cri"
    if power_w > 1.08 * nominal_power:
        return "power"
    return None


def test_default_lot_yield_and_failure_causes():
    """200 stabilised units per family: yield about 93-97 %, each failure cause present."""
    causes: Counter[str | None] = Counter()
    for name, fam in FAMILIES.items():
        w = World(seed=0)
        for k in range(200):
            w.load(f"Y{k:04d}", "LOT-Y", name)
            w.update_source(
                output=True, mode="current", current_a=fam.nominal_current_a, voltage_limit_v=200.0
            )
            w.advance(3600)
            op = w.operating_point()
            ac = w.ac_input()
            power = ac["P"] if ac else op.led_voltage_v * op.led_current_a
            causes[_verdict(fam, op, power)] += 1
            w.update_source(output=False)
    n = sum(causes.values())
    yield_ = causes[None] / n
    assert 0.92 <= yield_ <= 0.985, causes
    assert {"flux", "colour", "cri", "power"} <= set(causes), causes


def test_standard_lamp_in_sphere():
    lamp, cert = load_standard_lamp()
    assert colour.luminous_flux(sd(lamp)) == pytest.approx(cert["total_flux_lm"], rel=0.005)
    w = World()
    w.load("SIM-STD-001", "", "")
    assert not w.sphere_flux_w_nm().any()  # lamp supply off
    w.update_source(output=True)
    alpha = SPHERE["standard_lamp_self_absorption"]
    np.testing.assert_allclose(w.sphere_flux_w_nm(), lamp * alpha, rtol=1e-12)
    assert w.dc_terminals()[1] == 0.0  # the source sees an open circuit
