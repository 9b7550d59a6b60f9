"""`lightcomp records`: CSV / JSON / Parquet records and CSV / TM-27 spectra export."""

from __future__ import annotations

import io
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from _report_fixtures import WL, fill_lot

from lightcomp.cli import main
from lightcomp.errors import ReportError
from lightcomp.reports.export import write_records, write_spectra
from lightcomp.store import Store
from lightcomp.store.queries import component_spectrum, lot_records

REQUIRED = [
    "product_code",
    "lot",
    "verdict",
    "failed_limits",
    "ansi_category",
    "quadrangle_verdict",
    "sdcm_steps",
    "photometric_code",
    "luminous_flux_lm",
    "cct_k",
    "duv",
    "ra",
    "r9",
    "power_w",
    "r1",
    "r15",
    "rf",
    "u_prime",
    "v_prime",
    "peak_wavelength_nm",
    "fwhm_nm",
    "dominant_wavelength_nm",
    "thd_pct",
    "U_luminous_flux_lm",
]


@pytest.fixture(scope="module")
def lots(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('rec') / 'lightcomp.db'}"
    store = Store.open(url)
    a = fill_lot(store, lot="LOT-A", n=60, seed=7)
    b = fill_lot(store, lot="LOT-B", n=30, seed=8)
    yield url, store, a, b
    store.dispose()


def test_csv_records_equal_the_store(lots):
    _, store, a, _ = lots
    n, text = write_records(store, "csv", lot="LOT-A")
    df = pd.read_csv(io.StringIO(text))
    assert n == len(df) == a.n
    assert all(c in df.columns for c in REQUIRED)
    assert df["product_code"].tolist() == a.codes
    assert Counter(df["verdict"]) == Counter(a.verdict.tolist())
    with store.session() as s:
        ref = lot_records(s, lot="LOT-A", include_quantities=True)
    ref_q = ref["quantities"]
    ok = (ref["verdict"] != "error").to_numpy()
    np.testing.assert_array_equal(df.loc[ok, "luminous_flux_lm"], ref.loc[ok, "luminous_flux_lm"])
    # one column per quantity: no second copy under another name
    assert not [c for c in df.columns if c.startswith("q_")]
    assert len(set(df.columns)) == len(df.columns)
    assert "ansi_inside" not in df.columns  # reported once, as quadrangle_verdict
    r1 = [q["R1"] for q in ref_q.loc[ok]]
    np.testing.assert_array_equal(df.loc[ok, "r1"], r1)
    np.testing.assert_allclose(df.loc[ok, "thd_pct"], 100 * ref.loc[ok, "thd_current"], rtol=1e-15)
    fails = df[df["verdict"] == "fail"]
    assert fails["failed_limits"].str.len().min() > 0
    expected = ref.loc[ref["verdict"] == "fail", "failed_limits"].map("; ".join).tolist()
    assert fails["failed_limits"].tolist() == expected
    assert set(df.loc[ok, "quadrangle_verdict"]) <= {"inside", "outside"}


def test_json_and_parquet(lots, tmp_path):
    _, store, a, b = lots
    n, text = write_records(store, "json")  # every lot
    rows = json.loads(text)
    assert n == len(rows) == a.n + b.n
    assert {r["lot"] for r in rows} == {"LOT-A", "LOT-B"}
    assert all(isinstance(r["failed_limits"], list) for r in rows)
    # shortest round-trip floats: the JSON value is the stored double, exactly
    with store.session() as s:
        ref = lot_records(s)
    stored = dict(zip(ref["product_code"], ref["luminous_flux_lm"], strict=True))
    for r in rows:
        if r["luminous_flux_lm"] is not None:
            assert r["luminous_flux_lm"] == stored[r["product_code"]]
    assert '"luminous_flux_lm": NaN' not in text
    out = tmp_path / "r.parquet"
    n, text = write_records(store, "parquet", out, lot="LOT-B")
    assert text is None
    back = pd.read_parquet(out)
    assert len(back) == n == b.n
    assert back["product_code"].tolist() == b.codes
    assert pd.api.types.is_datetime64_any_dtype(back["measured_at"])  # a timestamp, not text
    with pytest.raises(ReportError, match="binary"):
        write_records(store, "parquet")
    with pytest.raises(ReportError, match="unknown records format"):
        write_records(store, "xlsx")


def test_spectra_csv_round_trip(lots, tmp_path):
    from lightcomp.spectrafiles import read_spectra_csv

    _, store, _, b = lots
    out = tmp_path / "s.csv"
    n, files = write_spectra(store, "csv", out, lot="LOT-B")
    assert files == [out] and n == int((b.verdict != "error").sum())
    sf = read_spectra_csv(out)
    np.testing.assert_array_equal(sf.wavelengths, WL)
    names = list(sf.names)
    with store.session() as s:
        for k in (0, len(names) - 1):
            wl, spec = component_spectrum(s, names[k])
            np.testing.assert_array_equal(sf.spectra[k], spec)


def test_spectra_tm27(lots, tmp_path):
    from lightcomp.spectrafiles import read_tm27

    _, store, _, b = lots
    folder = tmp_path / "tm27"
    n, files = write_spectra(store, "tm27", folder, lot="LOT-B")
    assert n == len(files) == len(list(folder.glob("*.xml")))
    first = files[0]
    sf = read_tm27(first)
    with store.session() as s:
        wl, spec = component_spectrum(s, first.stem)
    np.testing.assert_allclose(sf.spectra[0], spec, rtol=1e-12)
    np.testing.assert_array_equal(sf.wavelengths, wl)


def test_cli_records(lots, tmp_path, capsys):
    url, _, a, _ = lots
    assert main(["records", "--lot", "LOT-A", "--format", "csv", "--db", url]) == 0
    cap = capsys.readouterr()
    assert len(pd.read_csv(io.StringIO(cap.out))) == a.n
    assert f"{a.n} records" in cap.err
    out = tmp_path / "r.json"
    assert main(["records", "--format", "json", "-o", str(out), "--db", url]) == 0
    assert len(json.loads(out.read_text())) > a.n
    assert (
        main(
            [
                "records",
                "--lot",
                "LOT-A",
                "--spectra",
                "tm27",
                "-o",
                str(tmp_path / "t"),
                "--db",
                url,
            ]
        )
        == 0
    )
    capsys.readouterr()
    for args, msg in (
        (["--lot", "NOPE", "--format", "csv"], "unknown lot 'NOPE'"),
        (["--lot", "LOT-A"], "give --format"),
        (["--format", "csv", "--spectra", "csv"], "not both"),
        (["--spectra", "csv"], "needs -o"),
    ):
        assert main(["records", *args, "--db", url]) != 0
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and msg in err, err


def test_records_frame_on_each_backend(store):
    """Quantities JSON decodes the same from SQLite text and PostgreSQL JSONB."""
    from lightcomp.reports.export import records_frame

    a = fill_lot(store, lot="LOT-P", n=25, seed=9)
    with store.session() as s:
        df = records_frame(s, lot="LOT-P")
    assert df["product_code"].tolist() == a.codes
    ok = df["verdict"] != "error"
    # quantities only in the JSON (R1, u', FWHM) decode the same on both back ends
    for c in ("r1", "r15", "u_prime", "fwhm_nm", "luminous_flux_lm", "r9"):
        assert df.loc[ok, c].notna().all(), c


def test_json_layout_no_escaped_slashes_no_list_noise(lots):
    """One field a line, every list (empty or not) on its field's line, '/' never escaped,
    floats that read back to the stored doubles."""
    _, store, _, _ = lots
    _, text = write_records(store, "json", lot="LOT-A")
    assert "\\/" not in text
    assert any("/" in line for line in text.splitlines() if '"photometric_code"' in line)
    lines = text.splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    # no line holds only a bracket of a list: lists are written inline
    assert not [ln for ln in lines[1:-1] if ln.strip() in ("[", "]", "],", "[]", "[],")]
    fl = [ln for ln in lines if ln.startswith('  "failed_limits": ')]
    assert fl and all(ln.endswith(("],", "]")) for ln in fl)
    assert '  "failed_limits": [],' in fl
    rows = json.loads(text)
    assert rows and isinstance(rows[0]["failed_limits"], list)
    for line in lines:  # every float written as its shortest round-trip text
        key, _, value = line.strip().rstrip(",").partition(": ")
        if value[:1].isdigit() or value[:1] == "-":
            assert repr(float(value)) == value or value.lstrip("-").isdigit(), line
