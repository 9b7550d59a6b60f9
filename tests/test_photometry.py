"""Photometry (lightcomp.analysis.photometry) against colour-science and closed forms.

colour-science integrates with the trapezoidal rule; on the 1 nm grid that
differs from the CIE 15 summation by half the end samples, where V(l) is
below 4e-5, hence the 1e-6 relative tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest

from lightcomp.analysis import photometry
from lightcomp.analysis.spectra import WL
from lightcomp.constants import KM_LM_PER_W, KM_SCOTOPIC_LM_PER_W
from lightcomp.errors import AnalysisInputError

colour = pytest.importorskip("colour")

SHAPE_1NM = colour.SpectralShape(380, 780, 1)
V = colour.SDS_LEFS["CIE 1924 Photopic Standard Observer"].copy().trim(SHAPE_1NM)
V_SCOT = colour.SDS_LEFS["CIE 1951 Scotopic Standard Observer"].copy().trim(SHAPE_1NM)


def gaussians(total_w: np.ndarray, centre: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Spectral radiant flux (W/nm) of Gaussian lines with the given total power (W)."""
    g = np.exp(-0.5 * ((WL[None, :] - centre[:, None]) / sigma[:, None]) ** 2)
    return total_w[:, None] * g / (sigma[:, None] * np.sqrt(2 * np.pi))


def led_batch(n: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blue = gaussians(rng.uniform(0.1, 0.4, n), rng.uniform(445, 460, n), rng.uniform(8, 12, n))
    ph = gaussians(rng.uniform(0.2, 0.8, n), rng.uniform(550, 600, n), rng.uniform(40, 55, n))
    return blue + ph


def test_radiant_flux_of_gaussians_closed_form():
    p = np.array([0.5, 1.0, 2.5])
    s = gaussians(p, np.array([450.0, 555.0, 630.0]), np.array([10.0, 20.0, 15.0]))
    np.testing.assert_allclose(photometry.radiant_flux(WL, s), p, rtol=1e-9)
    # same on a 5 nm grid (Sprague resampling)
    wl5 = WL[::5]
    np.testing.assert_allclose(photometry.radiant_flux(wl5, s[:, ::5]), p, rtol=1e-6)


def test_luminous_flux_against_colour():
    s = led_batch()
    ours = photometry.luminous_flux(WL, s)
    ref = np.array(
        [colour.luminous_flux(colour.SpectralDistribution(r, WL), V, K_m=KM_LM_PER_W) for r in s]
    )
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_ler_against_colour():
    s = led_batch(seed=1)
    ours = photometry.luminous_efficacy_of_radiation(WL, s)
    ref = np.array([colour.luminous_efficacy(colour.SpectralDistribution(r, WL), V) for r in s])
    # colour integrates radiant flux by trapezoids: the phosphor tails at 380/780 nm
    # (up to 1e-4 of the peak) make the two conventions differ by < 5e-5
    np.testing.assert_allclose(ours, ref, rtol=5e-5)
    # scale independent
    np.testing.assert_allclose(
        photometry.luminous_efficacy_of_radiation(WL, 7.3 * s), ours, rtol=1e-12
    )


def test_monochromatic_555nm_is_683_lm_per_w():
    # 1 W in a 1 nm wide line at 555 nm on the 1 nm grid: Km * V(555) = 683.002 lm
    # (CIE S 017:2020 17-21-092; lightcomp.constants)
    s = np.zeros(401)
    s[555 - 380] = 1.0
    assert photometry.luminous_flux(WL, s)[0] == pytest.approx(683.002, rel=1e-12)
    assert photometry.luminous_efficacy_of_radiation(WL, s)[0] == pytest.approx(683.002, rel=1e-12)


def test_scotopic_photopic_ratio_against_colour_and_published():
    s = led_batch(seed=2)
    ours = photometry.scotopic_photopic_ratio(WL, s)
    ref = np.array(
        [
            colour.luminous_flux(sd, V_SCOT, K_m=KM_SCOTOPIC_LM_PER_W)
            / colour.luminous_flux(sd, V, K_m=KM_LM_PER_W)
            for sd in (colour.SpectralDistribution(r, WL) for r in s)
        ]
    )
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    # CIE illuminant A: S/P = 1.41 (IES TM-24 / published lamp tables, 2 decimals)
    wl5 = np.arange(380.0, 781.0, 5.0)
    a = colour.SDS_ILLUMINANTS["A"].copy().align(colour.SpectralShape(380, 780, 5))[wl5]
    assert photometry.scotopic_photopic_ratio(wl5, a)[0] == pytest.approx(1.41, abs=0.006)


def test_luminous_efficacy_of_source():
    s = led_batch(3, seed=4)
    phi = photometry.luminous_flux(WL, s)
    p = np.array([1.0, 2.0, 0.0])
    eff = photometry.luminous_efficacy(WL, s, p)
    np.testing.assert_allclose(eff[:2], phi[:2] / p[:2], rtol=1e-12)
    assert np.isnan(eff[2])
    np.testing.assert_allclose(photometry.luminous_efficacy(WL, s, 2.0), phi / 2.0)


def test_photometry_rejects_bad_grid():
    with pytest.raises(AnalysisInputError, match="does not cover"):
        photometry.luminous_flux(np.arange(400.0, 701.0), np.ones(301))
