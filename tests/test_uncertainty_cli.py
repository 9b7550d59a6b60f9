"""``lightcomp analyze SPECTRA --uncertainty MODEL.toml [--trials M]``."""

from __future__ import annotations

import csv
import math

import numpy as np
from _led_spectra import led_spectra

from lightcomp.analysis import WL
from lightcomp.cli import main

MODEL = "station/uncertainty/sim.toml"


def _spectra_csv(path, scale=0.003):
    s = led_spectra(2, 1) * scale
    with open(path, "w", encoding="utf-8") as f:
        f.write("wavelength,a,b\n")
        for i, w in enumerate(WL):
            f.write(f"{w:g},{float(s[0, i])!r},{float(s[1, i])!r}\n")
    return path


def _rows(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_u_columns_added(tmp_path, capsys):
    src = _spectra_csv(tmp_path / "s.csv")
    out = tmp_path / "o.csv"
    code = main(
        [
            "analyze",
            str(src),
            "--absolute",
            "--uncertainty",
            MODEL,
            "--trials",
            "1000",
            "-o",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = _rows(out)
    for col in ("U_luminous_flux", "U_x", "U_y", "U_CCT", "U_Duv", "U_Ra", "U_Rf", "U_R9"):
        vals = [float(r[col]) for r in rows]
        assert all(math.isfinite(v) and v > 0 for v in vals), col
    # flux U is relative: at least the standard lamp's share, and scales with the flux
    for r in rows:
        assert 0.01 < float(r["U_luminous_flux"]) / float(r["luminous_flux"]) < 0.05
    # same file twice: same numbers (seeded)
    out2 = tmp_path / "o2.csv"
    main(
        [
            "analyze",
            str(src),
            "--absolute",
            "--uncertainty",
            MODEL,
            "--trials",
            "1000",
            "-o",
            str(out2),
        ]
    )
    assert _rows(out2) == rows


def test_relative_spectra_get_no_flux_u(tmp_path, capsys):
    src = _spectra_csv(tmp_path / "s.csv")
    out = tmp_path / "o.csv"
    assert (
        main(["analyze", str(src), "--uncertainty", MODEL, "--trials", "500", "-o", str(out)]) == 0
    )
    row = _rows(out)[0]
    assert "U_luminous_flux" not in row and "U_Y" not in row
    assert np.isfinite(float(row["U_x"]))


def test_bad_model_file_is_one_line_error(tmp_path, capsys):
    src = _spectra_csv(tmp_path / "s.csv")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\ntrials = 100\n\n[electrical]\nvoltage_current_correlation = -1.2\n")
    out = tmp_path / "o.csv"
    code = main(["analyze", str(src), "--uncertainty", str(bad), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "bad.toml:5:" in err and "[-1, 1]" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
