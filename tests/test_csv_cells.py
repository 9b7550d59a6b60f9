"""CSV outputs never carry a cell a spreadsheet would run as a formula (=, +, -, @ at
the start of a text cell), while numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
from _report_fixtures import fill_lot

from lightcomp.cli import main
from lightcomp.csvcells import safe_cell
from lightcomp.reports.export import write_records
from lightcomp.spectrafiles import write_spectra_csv
from lightcomp.store import Store

ROOT = Path(__file__).resolve().parents[1]
EVIL = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1"]


def test_safe_cell():
    for v in EVIL:
        assert safe_cell(v) == "'" + v
    for v in ("-5", "+1.5e3", "-0.0042", "-inf", "LOT-1", "", "a=b", 3, -2.5, None):
        assert safe_cell(v) == v


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _no_formula(cells) -> None:
    bad = [
        c for c in cells if c and c[0] in "=+-@\t" and not re.fullmatch(r"[+-]?[\d.eE+-]+|-?inf", c)
    ]
    assert not bad, bad


def test_records_csv(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        fill_lot(store, lot=EVIL[0], n=4, seed=3)
        _, text = write_records(store, "csv", lot=EVIL[0])
    finally:
        store.dispose()
    _no_formula(_cells(text))
    df = pd.read_csv(io.StringIO(text))
    assert set(df["lot"]) == {"'" + EVIL[0]}
    assert df["duv"].dtype == float  # numbers stay numbers


def test_analyze_csv(tmp_path, capsys):
    wl = np.arange(380, 781)
    cols = {name: 1.0 + 0.5 * np.sin(wl / (20.0 + i)) for i, name in enumerate(EVIL)}
    src = tmp_path / "s.csv"
    pd.DataFrame({"wavelength": wl, **cols}).to_csv(src, index=False)
    capsys.readouterr()
    assert main(["analyze", str(src), "-o", str(tmp_path / "out.csv")]) == 0
    text = (tmp_path / "out.csv").read_text()
    _no_formula(_cells(text))
    df = pd.read_csv(io.StringIO(text))
    assert df["name"].tolist() == [safe_cell(n.strip()) for n in EVIL]
    assert (df["Duv"] < 0).any() or (df["Duv"] > 0).any()  # values untouched, still numbers


def test_spectra_csv(tmp_path):
    wl = np.arange(380.0, 781.0)
    path = tmp_path / "sp.csv"
    write_spectra_csv(path, wl, np.ones((len(EVIL), wl.size)) * -1.0, EVIL)
    cells = _cells(path.read_text())
    _no_formula(cells)
    assert "-1.0" in cells  # a negative number is still written as a number


def test_every_csv_writer_uses_the_one_function():
    """Any module writing CSV goes through lightcomp.csvcells (no stray writer)."""
    writers = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(")
    for path in (ROOT / "lightcomp").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if writers.search(text):
            assert "safe_cell" in text or "safe_frame" in text, path
