"""CIE 13.3 colour rendering index (Ra, R1..R15).

References: published Ra of CIE illuminants FL1-FL12 (CIE 15:2004 Table T.8 /
CIE 15:2018; integers) and colour-science 0.4.7 ``colour_rendering_index`` as an
oracle, configured to our documented conventions:

- colour-science integrates over 360-780 nm (its default shape); set to 380-780 nm;
- it rounds the daylight M1, M2 to 3 decimals; switched off (we keep them exact);
- it computes CCT by Robertson (1968), which differs from Ohno (2013) by up to a few
  kelvin for LEDs off the locus (R9 moves by up to 0.08); the oracle is switched to
  colour-science's Ohno (2013) with its default Planckian locus from the full
  360-830 nm CMFs (CIE 15:2018; ours is built the same way). Where a
  comparison must isolate the CRI arithmetic the oracle's CCT is passed to us,
  otherwise our own CCT is used.

Tolerances: Ra and Ri ±0.05 (task requirement); measured differences are ~1e-9.
"""

from __future__ import annotations

import warnings

import colour
import colour.quality.cri as colour_cri
import numpy as np
import pytest
from _led_spectra import led_spectra

from lightcomp.analysis import cri
from lightcomp.analysis.illuminants import WL_ANALYSIS as WL
from lightcomp.analysis.illuminants import illuminant_CIE
from lightcomp.analysis.spectra import to_analysis_grid
from lightcomp.errors import AnalysisInputError

TOL = 0.05

#: General colour rendering index Ra of the FL illuminants, CIE 15:2004 Table T.8 (integers),
#: as reproduced in Wikipedia "Standard illuminant" (F series table); FL1 76, FL2 64 and FL4
#: 51 (at 6430, 4230, 2940 K) also appear in Wikipedia "Color rendering index", typical
#: values. Secondary sources: *(verify)* against the CIE table when available.
PUBLISHED_RA = {
    "FL1": 76, "FL2": 64, "FL3": 57, "FL4": 51, "FL5": 72, "FL6": 59,
    "FL7": 90, "FL8": 95, "FL9": 90, "FL10": 81, "FL11": 83, "FL12": 83,
}  # fmt: skip


@pytest.fixture
def colour_oracle(monkeypatch):
    """colour-science CRI with the conventions of this module (see module docstring)."""
    monkeypatch.setattr(colour_cri, "SPECTRAL_SHAPE_DEFAULT", colour.SpectralShape(380, 780, 1))
    d_series = colour_cri.sd_CIE_illuminant_D_series
    monkeypatch.setattr(
        colour_cri,
        "sd_CIE_illuminant_D_series",
        lambda xy, **kw: d_series(xy, M1_M2_rounding=False),
    )

    used_cct = []

    def ohno(uv):
        cct_duv = colour.temperature.uv_to_CCT_Ohno2013(uv)  # locus from 360-830 nm
        used_cct.append(float(cct_duv[0]))
        return cct_duv

    monkeypatch.setattr(colour_cri, "uv_to_CCT_Robertson1968", ohno)

    def run(spd: np.ndarray, method: str = "CIE 2024", wl: np.ndarray = WL):
        """-> (Ra, R1..R15, CCT used by the oracle)."""
        sd = colour.SpectralDistribution(spd, wl)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = colour.colour_rendering_index(sd, additional_data=True, method=method)
        Ri = np.array([v.Q_a for _, v in sorted(spec.Q_as.items())])
        return spec.Q_a, Ri, used_cct[-1]

    return run


@pytest.mark.parametrize("name", list(PUBLISHED_RA))
def test_published_ra_of_fl_illuminants(name):
    wl, spd = illuminant_CIE(name)
    # FL8 and FL10 are tabulated at 5000 K, where CIE 13.3 switches to the daylight
    # reference; Sprague interpolation of their 5 nm data puts our CCT 1-2 K below it,
    # so the published CCT is used for those two.
    cct = 5000.0 if name in ("FL8", "FL10") else None
    Ra, Ri = cri.CRI_CIE13_3(wl, spd, CCT=cct)
    assert Ra.shape == (1,) and Ri.shape == (1, 15)
    assert round(float(Ra[0])) == PUBLISHED_RA[name]


@pytest.mark.parametrize("name", ["A", "D65"])
def test_reference_like_illuminants_score_100(name):
    wl, spd = illuminant_CIE(name)
    Ra, Ri = cri.CRI_CIE13_3(wl, spd)
    np.testing.assert_allclose(Ri, 100.0, atol=0.1)


@pytest.mark.parametrize("name", ["A", "D65", *PUBLISHED_RA])
def test_cie_illuminants_match_colour_science(name, colour_oracle):
    spd = to_analysis_grid(*illuminant_CIE(name))[0]
    Ra_c, Ri_c, cct_c = colour_oracle(spd)
    Ra, Ri = cri.CRI_CIE13_3(WL, spd, CCT=cct_c)
    assert Ra[0] == pytest.approx(Ra_c, abs=TOL)
    np.testing.assert_allclose(Ri[0], Ri_c, atol=TOL)  # R1..R15, incl. R9 and R15


def test_synthetic_leds_match_colour_science(colour_oracle):
    spectra = led_spectra(200, seed=13)
    Ra, Ri = cri.CRI_CIE13_3(WL, spectra)  # our CCT (Ohno 2013), whole batch at once
    ref = [colour_oracle(s) for s in spectra]
    Ra_c = np.array([r[0] for r in ref])
    Ri_c = np.array([r[1] for r in ref])
    assert Ra_c.min() < 60 and Ra_c.max() > 90  # the set spans poor to good sources
    np.testing.assert_allclose(Ra, Ra_c, atol=TOL)
    np.testing.assert_allclose(Ri, Ri_c, atol=TOL)


def test_stock_colour_science_within_tolerance_on_daylight_references():
    # Unconfigured colour-science (M1/M2 rounded, 360-780 nm) on 1 nm daylight-like
    # sources: the convention differences stay inside the tolerance.
    for name in ("FL1", "FL7", "D65"):
        spd = to_analysis_grid(*illuminant_CIE(name))[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Ra_c = colour.colour_rendering_index(colour.SpectralDistribution(spd, WL))
        assert cri.CRI_CIE13_3(WL, spd)[0][0] == pytest.approx(Ra_c, abs=TOL)


def test_reference_table_matches_exact_reference():
    rng = np.random.default_rng(3)
    T = np.concatenate([rng.uniform(1000, 25000, 500), [1000, 4000, 5000, 7000, 25000]])
    T = np.concatenate([T, 1e6 / rng.uniform(40, 1000, 500)])
    spectra = led_spectra(T.size, seed=5)
    M = cri._matrix()
    V = spectra @ M
    fast = cri._Ri_block(V, cri._reference_table()(T))
    exact = cri._Ri_block(V, cri._reference_features(T))
    np.testing.assert_allclose(fast, exact, rtol=0, atol=1e-7)


def test_batch_equals_single_and_input_grids():
    spectra = led_spectra(7, seed=1)
    Ra, Ri = cri.CRI_CIE13_3(WL, spectra)
    for k in range(7):
        Ra1, Ri1 = cri.CRI_CIE13_3(WL, spectra[k])
        np.testing.assert_allclose(Ri1[0], Ri[k], rtol=0, atol=1e-10)
    # Absolute scale does not matter.
    np.testing.assert_allclose(cri.CRI_CIE13_3(WL, 1e-3 * spectra)[0], Ra, atol=1e-9)


def test_rounding_is_display_only():
    wl, spd = illuminant_CIE("FL2")
    Ra, Ri = cri.CRI_CIE13_3(wl, spd)
    Ra_r, Ri_r = cri.CRI_CIE13_3(wl, spd, rounding=True)
    assert Ra_r[0] == np.round(Ri[0, :8].mean())
    np.testing.assert_array_equal(Ri_r, np.round(Ri))


def test_unusable_rows_are_nan_and_bad_arguments_raise():
    spectra = led_spectra(3, seed=2)
    spectra[1] = 0.0
    Ra, Ri = cri.CRI_CIE13_3(WL, spectra, CCT=np.array([3000.0, 3000.0, 40000.0]))
    assert np.isfinite(Ra[0]) and np.isnan(Ra[1]) and np.isnan(Ra[2])
    with pytest.raises(AnalysisInputError, match="CCT"):
        cri.CRI_CIE13_3(WL, spectra, CCT=np.ones(2))
    with pytest.raises(AnalysisInputError):
        cri.CRI_CIE13_3(WL[:-10], spectra)
    Ra0, Ri0 = cri.CRI_CIE13_3(WL, np.empty((0, WL.size)))
    assert Ra0.shape == (0,) and Ri0.shape == (0, 15)


def test_tcs_interpolation_matches_colour_science():
    ours = cri.TCS_CIE13_3()
    for k, name in enumerate(cri.TCS_NAMES):
        sd = colour.quality.datasets.SDS_TCS["CIE 2024"][name].copy()
        np.testing.assert_allclose(
            ours[k], sd.align(colour.SpectralShape(380, 780, 1)).values, atol=1e-12
        )


def test_5nm_input_is_evaluated_natively_at_5nm(colour_oracle, monkeypatch):
    """CIE 13.3 is defined on 5 nm sums: 5 nm input is not Sprague-resampled first.

    Oracle: colour-science on the 5 nm grid (tabulated TCS, CMFs and reference at
    5 nm). Sprague to 1 nm first (before) lowered Ra by up to 0.28 on such sources.
    """
    monkeypatch.setattr(colour_cri, "SPECTRAL_SHAPE_DEFAULT", colour.SpectralShape(380, 780, 5))
    wl5 = np.arange(380.0, 781.0, 5.0)
    rng = np.random.default_rng(41)

    def band(mu, fwhm):
        return np.exp(-4.0 * np.log(2.0) * ((wl5 - mu) / fwhm) ** 2)

    spectra = [
        band(rng.uniform(445, 465), 12) * rng.uniform(0.3, 1.0)
        + band(rng.uniform(520, 540), 18) * rng.uniform(0.5, 1.0)
        + band(rng.uniform(615, 630), 12) * rng.uniform(0.5, 1.2)
        for _ in range(12)
    ]
    for spd in spectra:
        Ra_c, Ri_c, cct_c = colour_oracle(spd, wl=wl5)
        Ra, Ri = cri.CRI_CIE13_3(wl5, spd, CCT=cct_c)
        assert Ra[0] == pytest.approx(Ra_c, abs=TOL)
        np.testing.assert_allclose(Ri[0], Ri_c, atol=TOL)
    # a 5 nm grid wider than 380-780 nm is native too; 1 nm input stays at 1 nm
    wide = np.arange(360.0, 831.0, 5.0)
    s_wide = np.vstack([np.interp(wide, wl5, s, left=0, right=0) for s in spectra[:2]])
    np.testing.assert_allclose(
        cri.CRI_CIE13_3(wide, s_wide, CCT=4000.0)[1],
        cri.CRI_CIE13_3(wl5, np.array(spectra[:2]), CCT=4000.0)[1],
        rtol=1e-12,
    )
