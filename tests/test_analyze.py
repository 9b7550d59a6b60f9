"""lightcomp.analysis.analyze, spectra files (CSV, IES TM-27) and the `lightcomp analyze` CLI.

Oracles: colour-science (tests only) and published CIE values; the colour
rendering columns are checked to be wired to lightcomp.analysis.cri / tm30
(tested on their own by their module's tests) and against published Ra.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lightcomp.analysis as la
from lightcomp.analysis import ANALYZE_COLUMNS, WL, analyze
from lightcomp.cli import main
from lightcomp.constants import KM_LM_PER_W
from lightcomp.errors import AnalysisInputError
from lightcomp.spectrafiles import (
    read_spectra,
    read_spectra_csv,
    read_tm27,
    write_spectra_csv,
    write_tm27,
)

colour = pytest.importorskip("colour")

SHAPE_1NM = colour.SpectralShape(380, 780, 1)
CMFS_2 = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"].copy().trim(SHAPE_1NM)
V = colour.SDS_LEFS["CIE 1924 Photopic Standard Observer"].copy().trim(SHAPE_1NM)
WL5 = np.arange(380.0, 781.0, 5.0)

EXPECTED_COLUMNS = [
    "name",
    "X",
    "Y",
    "Z",
    "x",
    "y",
    "u_prime",
    "v_prime",
    "CCT",
    "Duv",
    "Ra",
    *[f"R{i}" for i in range(1, 16)],
    "Rf",
    "Rg",
    "dominant_wavelength",
    "purity",
    "peak_wavelength",
    "fwhm",
    "luminous_flux",
    "radiant_flux",
    "LER",
    "SP_ratio",
]
QUANTITIES = EXPECTED_COLUMNS[1:]
# CIE 13.3 Ra of FL1-FL12 as published (CIE 15:2004 Table T.8, integers).
CIE15_RA = dict(
    zip(
        [f"FL{i}" for i in range(1, 13)],
        [76, 64, 57, 51, 72, 59, 90, 95, 90, 81, 83, 83],
        strict=True,
    )
)


def leds(n: int = 12, seed: int = 0, total_w: float = 1.0) -> np.ndarray:
    """pc-LED spectral radiant flux (W/nm) on the 1 nm grid, ``total_w`` W each."""
    rng = np.random.default_rng(seed)

    def g(c, w):
        return np.exp(-0.5 * ((WL[None, :] - c[:, None]) / w[:, None]) ** 2)

    s = (
        rng.uniform(0.2, 1.0, n)[:, None] * g(rng.uniform(445, 460, n), rng.uniform(9, 11, n))
        + g(rng.uniform(555, 575, n), rng.uniform(45, 55, n))
        + rng.uniform(0.1, 0.6, n)[:, None] * g(rng.uniform(620, 650, n), rng.uniform(30, 40, n))
    )
    return total_w * s / s.sum(axis=1, keepdims=True)


def fl_illuminants() -> tuple[list[str], np.ndarray]:
    names = list(CIE15_RA)
    s = np.array(
        [
            colour.SDS_ILLUMINANTS[k].copy().align(colour.SpectralShape(380, 780, 5))[WL5]
            for k in names
        ]
    )
    return names, s


# ------------------------------------------------------------------ analyze()


def test_columns_exact_order():
    df = analyze(WL, leds(2))
    assert list(df.columns[: len(EXPECTED_COLUMNS)]) == EXPECTED_COLUMNS
    assert list(ANALYZE_COLUMNS) == EXPECTED_COLUMNS
    assert list(df.columns[len(EXPECTED_COLUMNS) :]) == ["error"]
    assert list(df["name"]) == ["spectrum 1", "spectrum 2"]
    assert df["error"].isna().all()


def test_product_matrix_layout():
    """The batch's column constants point at the functionals they name."""
    from lightcomp.analysis import batch
    from lightcomp.analysis.data import load_cmfs, load_scotopic

    m = batch.product_matrix()
    assert np.array_equal(m[:, batch.COL_XYZ], load_cmfs("1931_2"))
    assert np.array_equal(m[:, batch.COL_VPRIME], load_scotopic())
    assert np.all(m[:, batch.COL_RADIANT] == 1.0)


def test_relative_against_colour():
    s = leds(6, seed=1)
    df = analyze(WL, s, [f"led{i}" for i in range(6)])
    np.testing.assert_allclose(df["Y"], 100.0)
    assert df["luminous_flux"].isna().all() and df["radiant_flux"].isna().all()
    assert df[["Ra", "R9", "Rf", "Rg"]].notna().all().all()  # colour rendering computed
    for i, row in enumerate(s):
        sd = colour.SpectralDistribution(row, WL)
        xyz = colour.sd_to_XYZ(sd, CMFS_2, method="Integration")
        xyz = 100.0 * xyz / xyz[1]
        np.testing.assert_allclose(df.loc[i, ["X", "Y", "Z"]].to_numpy(float), xyz, rtol=1e-9)
        xy = colour.XYZ_to_xy(xyz)
        np.testing.assert_allclose(df.loc[i, ["x", "y"]].to_numpy(float), xy, atol=1e-10)
        np.testing.assert_allclose(
            df.loc[i, ["u_prime", "v_prime"]].to_numpy(float), colour.xy_to_Luv_uv(xy), atol=1e-10
        )
        t, duv = colour.temperature.uv_to_CCT_Ohno2013(colour.xy_to_UCS_uv(xy), CMFS_2)
        assert df.loc[i, "CCT"] == pytest.approx(t, rel=5e-4)
        assert df.loc[i, "Duv"] == pytest.approx(duv, abs=5e-5)
        assert df.loc[i, "LER"] == pytest.approx(colour.luminous_efficacy(sd, V), rel=5e-5)
    assert np.all((df["SP_ratio"] > 1.0) & (df["SP_ratio"] < 3.0))
    assert np.all((df["peak_wavelength"] > 440) & (df["peak_wavelength"] < 620))
    assert np.all((df["dominant_wavelength"] > 480) & (df["dominant_wavelength"] < 600))
    assert np.all((df["purity"] > 0) & (df["purity"] < 1))


def test_absolute_fluxes_and_efficacy():
    s = leds(4, seed=2, total_w=0.8)
    df = analyze(WL, s, absolute=True, power_w=np.array([2.0, 2.0, 4.0, 0.0]))
    ref = np.array(
        [colour.luminous_flux(colour.SpectralDistribution(r, WL), V, K_m=KM_LM_PER_W) for r in s]
    )
    np.testing.assert_allclose(df["luminous_flux"], ref, rtol=1e-6)
    np.testing.assert_allclose(df["Y"], df["luminous_flux"], rtol=1e-12)  # Y in lm
    np.testing.assert_allclose(df["radiant_flux"], 0.8, rtol=1e-12)
    np.testing.assert_allclose(df["LER"], df["luminous_flux"] / df["radiant_flux"], rtol=1e-12)
    assert list(df.columns[-2:]) == ["error", "efficacy"]
    np.testing.assert_allclose(df["efficacy"][:3], ref[:3] / [2.0, 2.0, 4.0], rtol=1e-6)
    assert np.isnan(df["efficacy"][3])
    # chromaticity does not depend on the scale
    rel = analyze(WL, s)
    np.testing.assert_allclose(
        df[["x", "y", "CCT", "Duv"]], rel[["x", "y", "CCT", "Duv"]], rtol=1e-12
    )
    assert analyze(WL, s, power_w=1.0)["efficacy"].isna().all()  # relative: no efficacy


def test_5nm_input_matches_sprague_then_1nm():
    s = leds(3, seed=3)
    df5 = analyze(WL5, s[:, ::5])
    df1 = analyze(WL, la.to_analysis_grid(WL5, s[:, ::5]))
    cie13 = ["Ra", *(f"R{i}" for i in range(1, 16))]  # natively at 5 nm (CIE 13.3)
    num = [c for c in QUANTITIES if c not in ("luminous_flux", "radiant_flux", *cie13)]
    np.testing.assert_allclose(df5[num].to_numpy(float), df1[num].to_numpy(float), rtol=1e-12)
    from lightcomp.analysis import cri

    ra5, ri5 = cri.CRI_CIE13_3(WL5, s[:, ::5], CCT=df5["CCT"].to_numpy())
    np.testing.assert_allclose(df5["Ra"], ra5, rtol=1e-12)
    np.testing.assert_allclose(df5[cie13[1:]].to_numpy(float), ri5, rtol=1e-12)


def test_bad_spectra_do_not_stop_the_batch():
    s = leds(6, seed=4)
    good = analyze(WL, s)
    bad = s.copy()
    bad[1, 100] = np.nan
    bad[2] = 0.0
    bad[3] = -np.abs(bad[3])
    bad[4] = 1.0  # positive sum, 25 % negative samples, but Y < 0
    bad[4, 120:220] = -3.0
    names = ["ok0", "nan", "zero", "negative", "dark", "ok5"]
    df = analyze(WL, bad, names)
    assert df["error"][0] is None and df["error"][5] is None
    assert df["error"][1].startswith("nan:") and "NaN" in df["error"][1]
    assert df["error"][2].startswith("zero:") and "all zero" in df["error"][2]
    assert df["error"][3].startswith("negative:") and "mostly negative" in df["error"][3]
    assert df["error"][4].startswith("dark:") and "no luminous content" in df["error"][4]
    assert df.loc[1:4, QUANTITIES].isna().all().all()
    cols = [c for c in QUANTITIES if c not in ("luminous_flux", "radiant_flux")]
    np.testing.assert_allclose(
        df.loc[[0, 5], cols].to_numpy(float), good.loc[[0, 5], cols].to_numpy(float), rtol=1e-12
    )
    with pytest.raises(AnalysisInputError, match=r"^nan: .*NaN.*\(and \d more bad spectra\)"):
        analyze(WL, bad, names, strict=True)
    with pytest.raises(AnalysisInputError, match="^dark: no luminous content"):
        analyze(WL, bad[[0, 4]], ["ok", "dark"], strict=True)


@pytest.mark.parametrize(
    ("wl", "match"),
    [
        (np.arange(380.0, 781.0, 10.0), "exceeds 5 nm"),
        (np.arange(400.0, 781.0, 5.0), "does not cover 380-780 nm"),
        (np.r_[np.arange(380.0, 500.0), 498.5, np.arange(500.0, 781.0)], "not strictly increasing"),
    ],
)
def test_bad_grid_raises(wl, match):
    with pytest.raises(AnalysisInputError, match=match):
        analyze(wl, np.ones((2, wl.size)))


def test_shape_and_names_mismatch():
    with pytest.raises(AnalysisInputError, match="401 points"):
        analyze(WL, np.ones((2, 400)))
    with pytest.raises(AnalysisInputError, match="3 names given for 2 spectra"):
        analyze(WL, leds(2), ["a", "b", "c"])


def test_chunking_gives_identical_results(monkeypatch):
    s = leds(23, seed=5)
    s[4, 10] = np.inf
    s[17] = 0.0
    whole = analyze(WL, s, absolute=True)
    monkeypatch.setattr(la, "CHUNK_SIZE", 5)
    chunked = analyze(WL, s, absolute=True)
    pd.testing.assert_frame_equal(whole, chunked)
    assert chunked["error"].notna().sum() == 2


def test_single_spectrum_1d():
    df = analyze(WL, leds(1)[0], ["one"])
    assert len(df) == 1 and df["name"][0] == "one"


def test_colour_rendering_columns_wired():
    from lightcomp.analysis import cri, tm30

    names, s = fl_illuminants()
    df = analyze(WL5, s, names)
    s1 = la.to_analysis_grid(WL5, s)
    ra, ri = cri.CRI_CIE13_3(WL5, s, CCT=df["CCT"].to_numpy())  # natively at 5 nm
    np.testing.assert_allclose(df["Ra"], ra, rtol=1e-12)
    np.testing.assert_allclose(df[[f"R{i}" for i in range(1, 16)]].to_numpy(float), ri, rtol=1e-12)
    r = tm30.TM30_CIE224(WL, s1, CCT=df["CCT"].to_numpy())
    # analyze's TM-30 test side is float32 (docs/performance.md): within 0.01 of the
    # float64 route (test_float32_tm30_within_budget)
    np.testing.assert_allclose(df["Rf"], r["Rf"], atol=0.01)
    np.testing.assert_allclose(df["Rg"], r["Rg"], atol=0.01)
    # published integer Ra (rounding plus the 1 nm / 5 nm difference)
    np.testing.assert_allclose(df["Ra"], [CIE15_RA[k] for k in names], atol=0.6)
    assert df[["Rf", "Rg"]].notna().all().all()


def test_large_batch_is_vectorised_and_bounded():
    # 5 000 spectra: several chunks; results identical to the per-spectrum values
    s = np.tile(leds(10, seed=6), (500, 1))
    df = analyze(WL, s)
    assert len(df) == 5000 and df["error"].isna().all()
    first = df.iloc[:10][QUANTITIES].to_numpy(float)
    last = df.iloc[-10:][QUANTITIES].to_numpy(float)
    np.testing.assert_array_equal(np.isnan(first), np.isnan(last))
    np.testing.assert_allclose(first, last, rtol=1e-12)


# ------------------------------------------------------------- spectra files


def test_csv_round_trip(tmp_path):
    s = leds(3, seed=7)
    p = tmp_path / "s.csv"
    write_spectra_csv(p, WL, s, ["a", "b", "c d"], comments=["made by a test"])
    got = read_spectra(p)
    assert got.names == ["a", "b", "c d"]
    np.testing.assert_array_equal(got.wavelengths, WL)
    np.testing.assert_array_equal(got.spectra, s)
    assert p.read_text().startswith("# made by a test\nwavelength_nm,a,b,c d\n")


def test_csv_semicolon_and_empty_cell(tmp_path):
    p = tmp_path / "s.csv"
    rows = ["wl;x;y"] + [f"{w};1.0;{'' if w == 500 else 2.0}" for w in range(380, 781, 5)]
    p.write_text("\n".join(rows) + "\n")
    got = read_spectra_csv(p)
    assert got.names == ["x", "y"]
    assert np.isnan(got.spectra[1, (500 - 380) // 5]) and np.isfinite(got.spectra[0]).all()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", r"s\.csv: no header row"),
        ("380,1,2\n381,1,2\n", r"s\.csv line 1: first row must be a header"),
        ("wl,a,b\n380,1,2\n385,1\n", r"s\.csv line 3: expected 3 fields .* found 2"),
        ("wl,a,b\n380,1,2\n385,1,2,3\n", r"s\.csv line 3: expected 3 fields .* found 4"),
        ("wl,a,a\n380,1,2\n", r"s\.csv line 1: spectrum name 'a' appears twice"),
        ("wl,a,\n380,1,2\n", r"s\.csv line 2: expected 2 fields"),
        ("wl,a\n", r"s\.csv: header but no data rows"),
        ("wl,a\nx,1\n", r"s\.csv line 2: cannot read 'x' as a number \(wavelength"),
    ],
)
def test_malformed_csv_names_file_and_line(tmp_path, content, match):
    p = tmp_path / "s.csv"
    p.write_text(content)
    with pytest.raises(AnalysisInputError, match=match):
        read_spectra(p)


def test_missing_file():
    with pytest.raises(AnalysisInputError, match="nope.csv: file not found"):
        read_spectra("nope.csv")


def test_tm27_round_trip_and_colour_reads_it(tmp_path):
    s = leds(1, seed=8, total_w=0.5)[0]
    p = tmp_path / "led.xml"
    write_tm27(
        p,
        WL,
        s,
        description="LED module 3000K",
        spectral_quantity="flux",
        header={"Manufacturer": "ACME & Co", "CatalogNumber": "X-1"},
        bandwidth_fwhm_nm=2.0,
        bandwidth_corrected=True,
    )
    got = read_tm27(p)
    assert got.names == ["led"]  # no UniqueIdentifier: the file name, not the description
    assert got.header["Description"] == "LED module 3000K"
    assert got.header["Manufacturer"] == "ACME & Co" and got.spectral_quantity == "flux"
    np.testing.assert_array_equal(got.spectra[0], s)
    np.testing.assert_array_equal(got.wavelengths, WL)
    sd = colour.SpectralDistribution_IESTM2714(str(p)).read()
    np.testing.assert_allclose(sd.values, s, rtol=1e-15)
    np.testing.assert_allclose(sd.wavelengths, WL)
    assert sd.header.description == "LED module 3000K"
    assert sd.spectral_quantity == "flux"


def test_reads_colour_sample_tm27():
    # colour-science's sample file (BSD-3-Clause), copied into tests/data
    sample = Path(__file__).parent / "data" / "Fluorescent.spdx"
    got = read_spectra(sample)
    ref = colour.SpectralDistribution_IESTM2714(str(sample)).read()
    np.testing.assert_allclose(got.wavelengths, ref.wavelengths)
    np.testing.assert_allclose(got.spectra[0], ref.values)
    assert got.names == ["C3567553-C75B-4354-961E-35CEB9FEB42C"]  # its UniqueIdentifier
    assert got.spectral_quantity == "relative"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (
            "<IESTM2714><Header>\n<Description>x</Description>\n</IESTM27>",
            r"t\.xml line 3: malformed XML",
        ),
        ("<foo/>", r"t\.xml: not an IES TM-27 file: root element is <foo>"),
        (
            "<IESTM2714>\n<SpectralDistribution>\n<SpectralData wavelength='380'>1</SpectralData>\n"
            "<SpectralData wavelength='385'>one</SpectralData>\n</SpectralDistribution></IESTM2714>",
            r"t\.xml line 4: cannot read value 'one' at 385 nm",
        ),
        (
            "<IESTM2714>\n<SpectralDistribution>\n<SpectralData>1</SpectralData>\n"
            "</SpectralDistribution></IESTM2714>",
            r"t\.xml line 3: <SpectralData> without a wavelength",
        ),
        ("<IESTM2714><Header/></IESTM2714>", r"t\.xml: no <SpectralDistribution>"),
    ],
)
def test_malformed_tm27(tmp_path, content, match):
    p = tmp_path / "t.xml"
    p.write_text(content)
    with pytest.raises(AnalysisInputError, match=match):
        read_spectra(p)


# ----------------------------------------------------------------------- CLI


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_csv_to_stdout(tmp_path, capsys):
    s = leds(3, seed=9)
    p = tmp_path / "in.csv"
    write_spectra_csv(p, WL5, s[:, ::5], ["a", "b", "c"])
    code, out, err = run(["analyze", str(p)], capsys)
    assert code == 0, err
    df = pd.read_csv(io.StringIO(out))
    assert list(df.columns) == [*EXPECTED_COLUMNS, "error"]
    ref = analyze(WL5, s[:, ::5], ["a", "b", "c"])
    np.testing.assert_allclose(
        df[QUANTITIES].to_numpy(float), ref[QUANTITIES].to_numpy(float), rtol=1e-9
    )
    assert list(df["name"]) == ["a", "b", "c"]


def test_cli_json_output_file_absolute_and_tm27(tmp_path, capsys):
    s = leds(1, seed=10, total_w=0.25)[0]
    p = tmp_path / "led.xml"
    write_tm27(p, WL, s, description="module 1", spectral_quantity="flux")
    out_path = tmp_path / "out.json"
    code, out, err = run(["analyze", str(p), "-o", str(out_path), "--absolute"], capsys)
    assert code == 0, err
    assert out == ""
    rec = json.loads(out_path.read_text())
    assert len(rec) == 1 and rec[0]["name"] == "led"
    assert rec[0]["radiant_flux"] == pytest.approx(0.25, rel=1e-12)
    assert rec[0]["error"] is None
    assert rec[0]["luminous_flux"] == pytest.approx(
        colour.luminous_flux(colour.SpectralDistribution(s, WL), V, K_m=KM_LM_PER_W), rel=1e-6
    )
    code, out, err = run(["analyze", str(p), "--format", "json"], capsys)
    rec = json.loads(out)
    assert rec[0]["luminous_flux"] is None and "efficacy" not in rec[0]
    assert list(rec[0])[: len(EXPECTED_COLUMNS)] == EXPECTED_COLUMNS
    code, out, err = run(["analyze", str(p), "--absolute", "--power-w", "0.5"], capsys)
    assert code == 0 and "efficacy" in out.splitlines()[0]


def test_cli_bad_spectrum_reported_and_strict(tmp_path, capsys):
    s = leds(2, seed=11)
    s[1, 50] = np.nan
    p = tmp_path / "in.csv"
    write_spectra_csv(p, WL, s, ["good", "broken"])
    code, out, err = run(["analyze", str(p)], capsys)
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert pd.isna(df["error"][0]) and df["error"][1].startswith("broken: ")
    assert "warning: 1 of 2 spectra" in err
    code, out, err = run(["analyze", str(p), "--strict"], capsys)
    assert code == 2
    assert err.startswith(f"error: {p}: broken: ") and "NaN" in err


def test_cli_malformed_file_exit_2(tmp_path, capsys):
    p = tmp_path / "bad.csv"
    p.write_text("wl,a,b\n380,1,2\n385,1\n")
    code, out, err = run(["analyze", str(p)], capsys)
    assert code == 2
    assert "bad.csv line 3: expected 3 fields" in err
    code, out, err = run(["analyze", str(tmp_path / "missing.csv")], capsys)
    assert code == 2 and "missing.csv: file not found" in err
    q = tmp_path / "short.csv"
    write_spectra_csv(q, np.arange(400.0, 701.0, 5.0), np.ones((1, 61)), ["a"])
    code, out, err = run(["analyze", str(q)], capsys)
    assert code == 2 and "short.csv: wavelength grid 400-700 nm does not cover 380-780 nm" in err


def test_cli_help(capsys):
    code, out, _ = run(["analyze", "--help"], capsys)
    assert code == 0
    for flag in ("--output", "--format", "--absolute", "--strict"):
        assert flag in out


def test_rendering_failure_isolated_to_its_spectrum(monkeypatch):
    """If the CRI computation gives NaN for one spectrum, only that row gets a reason."""
    from lightcomp.analysis import cri

    real = cri.Ri_from_products

    def fake_ri(V_t, T, *args):
        ri = real(V_t, T, *args)
        ri[V_t[:, 1] > 1.0] = np.nan  # the marked (brightest) spectrum
        return ri

    monkeypatch.setattr(cri, "Ri_from_products", fake_ri)
    s = leds(4, seed=12)
    s[2] *= 1e6
    df = analyze(WL, s, ["a", "b", "c", "d"])
    assert df["error"][2].startswith("c: Ra, R1, R2,") and "not finite" in df["error"][2]
    assert np.isnan(df["Ra"][2]) and np.isfinite(df["x"][2])
    assert np.isfinite(df["Ra"][[0, 1, 3]]).all()
    assert df["error"][[0, 1, 3]].isna().all()
    assert df[["Rf", "Rg"]].notna().all().all()  # TM-30 is unaffected by the CRI failure
    with pytest.raises(AnalysisInputError, match="^c: Ra, R1"):
        analyze(WL, s, ["a", "b", "c", "d"], strict=True)


def test_power_w_shape_checked():
    with pytest.raises(AnalysisInputError, match="power_w must be one value or one per spectrum"):
        analyze(WL, leds(3), absolute=True, power_w=[1.0, 2.0])


# ------------------------------------------------------------- no silent NaN / inf


def test_extreme_scales_give_the_same_chromaticity():
    """Spectra in absurd units (x1e306, x1e-310) are analysed like any other."""
    s = leds(3, seed=21)
    ref = analyze(WL, s)
    cols = [c for c in QUANTITIES if c not in ("luminous_flux", "radiant_flux", "Rf", "Rg")]
    for factor in (1e306 / s.max(), 1e-310 / s.max()):
        df = analyze(WL, s * factor)
        assert df["error"].isna().all()
        np.testing.assert_allclose(
            df[cols].to_numpy(float), ref[cols].to_numpy(float), rtol=1e-9, atol=1e-9
        )
        # Rf, Rg: float32 test side (normalised input rounds differently), 0.01 budget
        np.testing.assert_allclose(df[["Rf", "Rg"]], ref[["Rf", "Rg"]], atol=1e-3)
    tiny = analyze(WL, s * (1e-310 / s.max()), absolute=True)
    assert np.isfinite(tiny["luminous_flux"]).all() and (tiny["luminous_flux"] > 0).all()
    huge = analyze(WL, s * (1e306 / s.max()), absolute=True)
    assert np.isfinite(huge["x"]).all()
    assert huge["error"].str.contains("exceed the float range").all()


def test_every_non_finite_result_has_a_reason():
    """Monochromatic lines, steps, narrow mixes: a NaN anywhere comes with a reason."""
    rows = []
    for peak in range(390, 780, 15):  # 1 nm lines and 10 nm wide bands
        line = np.zeros(WL.size)
        line[peak - 380] = 1.0
        rows.append(line)
        rows.append(np.exp(-0.5 * ((WL - peak) / 4.0) ** 2))
    rows.append(np.r_[np.zeros(200), np.ones(201)])  # step: no half maximum on the right
    rows.append(np.r_[np.ones(100), np.zeros(301)])
    s = np.vstack([np.array(rows), leds(6, seed=22)])
    df = analyze(WL, s)
    values = df[[c for c in QUANTITIES if c not in ("luminous_flux", "radiant_flux")]]
    silent = ~np.isfinite(values.to_numpy(float)).all(axis=1) & df["error"].isna().to_numpy()
    assert not silent.any(), df.loc[silent, ["name", "CCT", "Ra", "Rf", "Rg", "fwhm"]]
    assert df["error"].iloc[-6:].isna().all()  # the white LEDs are complete


def test_monochromatic_line_has_no_cct():
    """CIE 15:2018: CCT is not meaningful beyond |Duv| = 0.05: no CCT, Ra or Rf."""
    line = np.zeros(WL.size)
    line[550 - 380] = 1.0
    df = analyze(WL, np.vstack([line, leds(1, seed=23)]), ["green", "white"])
    row = df.iloc[0]
    assert np.isnan(row["CCT"]) and np.isnan(row["Ra"]) and np.isnan(row["Rf"])
    assert np.isnan(row[[f"R{i}" for i in range(1, 16)]].astype(float)).all()
    assert abs(row["Duv"]) > 0.05 and row["dominant_wavelength"] == pytest.approx(550, abs=0.5)
    assert row["error"].startswith("green: |Duv| = ") and "CIE 15" in row["error"]
    assert df["error"][1] is None and np.isfinite(df["CCT"][1])


def test_non_positive_sum_is_not_called_mostly_negative():
    s = leds(1, seed=24)[0]
    s[200:220] = -100.0 * s.max()  # 5 % of the samples negative, but the sum too
    msg = analyze(WL, s, ["offset"])["error"][0]
    assert msg.startswith("offset: the sum of the spectrum over 380-780 nm is not positive")
    assert "mostly negative" not in msg


# ------------------------------------------------------------- long and odd grids


def _peak_mib(fn) -> float:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("uniform", [True, False])
def test_fine_grid_resampling_memory_is_linear(uniform):
    """A 0.05 nm grid (8 000 points): no dense W x W operator (was ~1 GB and 10 s)."""
    wl = np.arange(379.0, 781.0 + 1e-9, 0.05)
    if not uniform:  # array-spectrometer-like pixel positions
        wl = wl + 0.01 * np.sin(np.arange(wl.size))
    s = np.interp(wl, WL, leds(1, seed=25)[0])[None, :].repeat(3, axis=0)
    peak = _peak_mib(lambda: analyze(wl, s))
    assert peak < 60, f"{peak:.0f} MiB"
    df = analyze(wl, s)
    ref = analyze(WL, np.interp(WL, wl, s[0]))
    assert df["error"].isna().all()
    np.testing.assert_allclose(df["CCT"], ref["CCT"][0], rtol=1e-4)


def test_absurd_grid_refused_in_one_line():
    wl = np.linspace(379.0, 781.0, 4_000_001)  # 1e-4 nm: no instrument
    with pytest.raises(AnalysisInputError, match=r"^wavelength grid has 4000001 points"):
        la.validate_wavelengths(wl)
    wl = np.r_[np.arange(380.0, 500.0), 500.0, 500.00001, np.arange(501.0, 781.0)]
    with pytest.raises(AnalysisInputError, match=r"below 0.001 nm"):
        la.validate_wavelengths(wl)


# ------------------------------------------------------------- files and the CLI


def test_cli_power_w_needs_absolute(tmp_path, capsys):
    p = tmp_path / "in.csv"
    write_spectra_csv(p, WL, leds(1, seed=26), ["a"])
    code, out, err = run(["analyze", str(p), "--power-w", "2"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: --power-w needs --absolute") and len(err.splitlines()) == 1


def test_one_bad_cell_reports_that_spectrum_only(tmp_path, capsys):
    s = leds(3, seed=27)
    p = tmp_path / "in.csv"
    write_spectra_csv(p, WL, s, ["a", "b", "c"])
    lines = p.read_text().splitlines()
    cells = lines[1 + 57].split(",")  # 437 nm
    cells[2] = "abc"
    lines[1 + 57] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    code, out, err = run(["analyze", str(p)], capsys)
    assert code == 0, err
    df = pd.read_csv(io.StringIO(out))
    assert df["error"].isna().tolist() == [True, False, True]
    assert df["error"][1] == f"b: cannot read 'abc' as a number ({p} line 59, 437 nm)"
    assert np.isfinite(df.loc[[0, 2], "Ra"]).all()
    code, out, err = run(["analyze", str(p), "--strict"], capsys)
    assert code == 2 and "b: cannot read 'abc'" in err


def test_hints_for_decimal_comma_and_metres(tmp_path, capsys):
    p = tmp_path / "de.csv"
    rows = ["wl;x"] + [f"{w};{0.5 + w / 1000:.3f}".replace(".", ",") for w in range(380, 781, 5)]
    p.write_text("\n".join(rows) + "\n")
    code, out, err = run(["analyze", str(p)], capsys)
    assert code == 0  # the wavelengths read ("380"), the values do not: that spectrum's row
    assert "a decimal comma? write numbers with a point" in out and "warning: 1 of 1" in err
    q = tmp_path / "m.csv"
    write_spectra_csv(q, WL * 1e-9, leds(1, seed=28), ["a"])
    code, out, err = run(["analyze", str(q)], capsys)
    assert code == 2 and "(metres? give the wavelengths in nm)" in err


def test_tm27_named_by_identifier(tmp_path):
    p = tmp_path / "x.xml"
    write_tm27(
        p,
        WL,
        leds(1, seed=29)[0],
        description="warm white module, 3000 K, batch 7",
        header={"UniqueIdentifier": "LAB-2026-0042"},
    )
    assert read_tm27(p).names == ["LAB-2026-0042"]


def test_terminal_table_has_units_and_digits():
    """Headings, units and digits from the quantity catalogue; files keep full precision."""
    from lightcomp import quantities
    from lightcomp.commands.analyze import format_terminal

    s = leds(2, seed=30, total_w=0.5)
    df = analyze(WL, s, ["m1", "m2"], absolute=True, power_w=2.0)
    lines = format_terminal(df).splitlines()
    assert lines[0].split() == ["m1", "m2"]
    for key in ("CCT", "luminous_flux", "efficacy", "x"):
        q = quantities.by_key(key)
        line = next(ln for ln in lines if ln.startswith(q.label_short + " "))
        assert line.split()[-1] == quantities.format_value(q, df[key][1])
    assert quantities.by_key("CCT").label_short.endswith("(K)")


def test_large_csv_parsed_within_three_times_the_numbers(tmp_path):
    """Streaming parse: peak memory about the numeric data, not 12x the file."""
    n = 3000
    s = np.tile(leds(10, seed=31), (n // 10, 1))
    p = tmp_path / "big.csv"
    write_spectra_csv(p, WL, s, [f"s{i}" for i in range(n)])
    numeric_mib = s.nbytes / 2**20
    got = None

    def read():
        nonlocal got
        got = read_spectra(p)

    peak = _peak_mib(read)
    np.testing.assert_array_equal(got.spectra, s)
    assert peak < 3 * numeric_mib, f"{peak:.1f} MiB for {numeric_mib:.1f} MiB of numbers"


def test_float32_tm30_within_budget():
    """analyze's float32 CIE 224 test side stays within 0.01 of the float64 route.

    Validation sets of the tests: pc-LED and RGB(A) LEDs (the CCT and TM-30 tests'
    generator), CIE FL1-FL12 and narrow-band mixes.
    """
    from _led_spectra import synthetic_leds

    from lightcomp.analysis import tm30

    names, fl = fl_illuminants()
    rng = np.random.default_rng(32)
    narrow = np.array(
        [
            sum(
                rng.uniform(0.3, 1.0) * np.exp(-0.5 * ((WL - mu) / rng.uniform(5, 12)) ** 2)
                for mu in (rng.uniform(440, 470), rng.uniform(510, 550), rng.uniform(600, 640))
            )
            for _ in range(40)
        ]
    )
    s = np.vstack([synthetic_leds(300, 150, 33), la.to_analysis_grid(WL5, fl), narrow])
    df = analyze(WL, s)
    ok = df["Rf"].notna().to_numpy()
    assert ok.sum() > 450
    exact = tm30.TM30_CIE224(WL, s[ok], CCT=df["CCT"].to_numpy()[ok])
    assert np.abs(df["Rf"].to_numpy()[ok] - exact["Rf"]).max() < 0.01
    assert np.abs(df["Rg"].to_numpy()[ok] - exact["Rg"]).max() < 0.01
