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
    "q_R1",
    "q_R15",
    "q_Rf",
    "q_luminous_flux",
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
        ref = lot_records(s, lot="LOT-A")
    ok = (ref["verdict"] != "error").to_numpy()
    np.testing.assert_array_equal(df.loc[ok, "luminous_flux_lm"], ref.loc[ok, "luminous_flux_lm"])
    np.testing.assert_array_equal(df.loc[ok, "q_luminous_flux"], ref.loc[ok, "luminous_flux_lm"])
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
    out = tmp_path / "r.parquet"
    n, text = write_records(store, "parquet", out, lot="LOT-B")
    assert text is None
    back = pd.read_parquet(out)
    assert len(back) == n == b.n
    assert back["product_code"].tolist() == b.codes
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
    np.testing.assert_array_equal(df.loc[ok, "q_luminous_flux"], df.loc[ok, "luminous_flux_lm"])
    assert df.loc[ok, "q_R9"].notna().all()
