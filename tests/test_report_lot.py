"""Lot / period yield report (HTML and PDF) and the `lightcomp report` command."""

from __future__ import annotations

import base64
import io
import re
from collections import Counter

import numpy as np
import pytest
from _report_fixtures import fill_lot

from lightcomp.cli import main
from lightcomp.errors import ReportError
from lightcomp.reports.lot_report import build_lot_report, render, write_lot_report
from lightcomp.store import Lot, Store


@pytest.fixture(scope="module")
def lots(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('rep') / 'lightcomp.db'}"
    store = Store.open(url)
    a = fill_lot(store, lot="LOT-A", n=200, seed=1)
    b = fill_lot(store, lot="LOT-B", n=150, seed=2)
    with store.transaction() as s:
        s.add(Lot(name="EMPTY"))
    yield url, store, a, b
    store.dispose()


def _pngs(html: str) -> list[np.ndarray]:
    from matplotlib.image import imread

    blobs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [imread(io.BytesIO(base64.b64decode(b)), format="png") for b in blobs]


def _kv(html: str, key: str) -> str:
    m = re.search(rf"<tr><th>{re.escape(key)}</th><td>(.*?)</td></tr>", html)
    assert m, f"no row {key!r} in the report"
    return m.group(1)


def test_html_report_numbers_equal_the_store(lots, tmp_path):
    url, store, a, _ = lots
    out = tmp_path / "lot.html"
    write_lot_report(store, out, lot="LOT-A")
    html = out.read_text(encoding="utf-8")
    c = Counter(a.verdict.tolist())
    assert _kv(html, "Pass") == str(c["pass"])
    assert _kv(html, "Fail") == str(c["fail"])
    assert _kv(html, "Error (not tested)") == str(c["error"])
    assert _kv(html, "Components measured") == str(a.n)
    assert _kv(html, "Yield") == f"{100 * c['pass'] / (c['pass'] + c['fail']):.2f} %"
    assert _kv(html, "Station(s)") == "S1"
    assert "lm79-module-ac v1.2" in _kv(html, "Plan(s)")
    assert "CAL-S1-2026-02" in _kv(html, "Calibration(s)")
    verdict = _kv(html, "Verdict")
    from _verdict_oracle import expected_verdict

    assert verdict.split(" (")[0] == expected_verdict(c["pass"], c["fail"])
    # every failed or errored component is listed (fewer than the bound)
    from lightcomp.coding import format_code

    for code, v in zip(a.codes, a.verdict, strict=True):
        assert (format_code(code) in html) == (v != "pass")
    assert "<script" not in html and "http://" not in html  # self-contained


def test_html_images_are_real_plots(lots, tmp_path):
    _, store, _, _ = lots
    with store.session() as s:
        html = render(build_lot_report(s, lot="LOT-A"), "html").decode()
    images = _pngs(html)
    # Pareto, histograms, CIE 1931, CIE 1976, trend, control chart
    assert len(images) >= 6
    for img in images:
        h, w = img.shape[:2]
        assert w >= 400 and h >= 250
        rgb = np.round(img[::3, ::3, :3] * 255).astype(np.int64).reshape(-1, 3)
        assert rgb.std() > 5, "blank image"
        colours = np.unique(rgb[:, 0] * 65536 + rgb[:, 1] * 256 + rgb[:, 2])
        assert colours.size > 20


def test_bounded_failed_table(lots):
    _, store, a, _ = lots
    with store.session() as s:
        html = render(build_lot_report(s, lot="LOT-A", max_failed_rows=3), "html").decode()
    bad = int((a.verdict != "pass").sum())
    assert f"and {bad - 3} more failed or errored components" in html


def test_selection_report_family_and_dates(lots, tmp_path):
    _, store, a, b = lots
    with store.session() as s:
        doc = build_lot_report(s, family="LM1-AC-4000", since="2026-03-02", until="2026-03-02")
        html = render(doc, "html").decode()
    assert _kv(html, "Components measured") == str(a.n + b.n)
    assert "LOT-A" in _kv(html, "Lots") and "LOT-B" in _kv(html, "Lots")
    with store.session() as s, pytest.raises(ReportError, match="no measured components"):
        build_lot_report(s, family="LM1-AC-4000", since="2030-01-01")


def test_pdf_report(lots, tmp_path):
    _, store, _, _ = lots
    out = tmp_path / "lot.pdf"
    info = write_lot_report(store, out, lot="LOT-B")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert info["format"] == "pdf"
    pages = len(re.findall(rb"/Type /Page[^s]", data))
    assert pages >= 3
    assert len(re.findall(rb"/Subtype /Image", data)) >= 6


def test_cli_report_and_errors(lots, tmp_path, capsys):
    url, _, _, _ = lots
    out = tmp_path / "r.pdf"
    assert main(["report", "--lot", "LOT-A", "-o", str(out), "--db", url]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    capsys.readouterr()
    for args, msg in (
        (["--lot", "NOPE"], "unknown lot 'NOPE'"),
        (["--lot", "EMPTY"], "lot 'EMPTY' has no measured components"),
        (["--lot", "LOT-A", "--format", "docx"], "use html or pdf"),
    ):
        code = main(["report", *args, "-o", str(tmp_path / "x.html"), "--db", url])
        err = capsys.readouterr().err.strip()
        assert code != 0
        assert err.count("\n") == 0 and msg in err, err
    assert not (tmp_path / "x.html").exists()


def test_histograms_cover_every_limited_quantity_and_skip_unmeasured():
    import pandas as pd

    from lightcomp.reports.lot_report import histogram_data

    frame = pd.DataFrame(
        {
            "luminous_flux_lm": [1000.0, 1010.0],
            "voltage_v": [36.1, 36.3],  # forward voltage, limited by the plan
            "tc_c": [55.0, 56.0],  # case temperature, limited by the plan
            "power_factor": [np.nan, np.nan],  # a DC plan does not measure it
            "x": [0.38, 0.381],  # measured but neither limited nor a key quantity
        }
    )
    limits = {"voltage_v": (None, 38.0), "tc_c": (None, 85.0), "power_factor": (0.9, None)}
    data = histogram_data(frame, limits)
    assert list(data) == ["luminous_flux_lm", "voltage_v", "tc_c"]


def test_failed_components_show_the_failed_limit_values():
    from lightcomp.reports.lot_report import _failed_with_values, plural

    row = {"r9": -3.2, "luminous_flux_lm": 1000.0}
    text = _failed_with_values(row, ["r9"], {"r9": (0.0, None)})
    assert text == ["R9 -3.2 (min 0.0)"] or (text[0].startswith("R9 -3") and "min 0" in text[0])
    assert plural(1, "failed component") == "1 failed component"
    assert plural(2, "failed component") == "2 failed components"


def test_lot_report_is_as_of_its_lot_and_reproducible(tmp_path):
    from datetime import timedelta

    from _report_fixtures import T0, fill_lot

    from lightcomp.reports.lot_report import write_lot_report
    from lightcomp.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'asof.db'}")
    try:
        fill_lot(store, lot="LOT-1", n=30, seed=2, with_spectra=False)
        fill_lot(store, lot="LOT-2", n=30, seed=3, start=T0 + timedelta(days=1), with_spectra=False)
        write_lot_report(store, tmp_path / "a.html", lot="LOT-1")
        first = (tmp_path / "a.html").read_text(encoding="utf-8")
        assert "As of 2026-03-02" in first
        # a lot of the same family measured later changes neither the trend nor anything else
        fill_lot(store, lot="LOT-3", n=30, seed=4, start=T0 + timedelta(days=5), with_spectra=False)
        write_lot_report(store, tmp_path / "b.html", lot="LOT-1")
        assert (tmp_path / "b.html").read_text(encoding="utf-8") == first
        write_lot_report(store, tmp_path / "c.html", lot="LOT-2")
        assert "LOT-3" not in (tmp_path / "c.html").read_text(encoding="utf-8")
    finally:
        store.dispose()


def test_two_family_report_has_a_section_per_family_and_never_pools_them(tmp_path, monkeypatch):
    from datetime import timedelta

    from _report_fixtures import T0

    from lightcomp.reports import lot_report, plots
    from lightcomp.store.lots import publish_lot, withdraw_lot

    store = Store.open(f"sqlite:///{tmp_path / 'fam.db'}")
    try:
        kw = {"with_spectra": False, "analysis": False}
        a = fill_lot(store, lot="F1-L1", n=60, seed=5, family="FAM-ONE", **kw)
        b = fill_lot(store, lot="F2-L1", n=40, seed=6, family="FAM-TWO", start=T0 + timedelta(days=1), **kw)  # fmt: skip
        c = fill_lot(store, lot="F1-L2", n=30, seed=7, family="FAM-ONE", start=T0 + timedelta(days=2), **kw)  # fmt: skip
        with store.transaction() as s:
            publish_lot(s, "F1-L2", now=T0 + timedelta(days=3))
            withdraw_lot(s, "F1-L2", "wrong phosphor batch", now=T0 + timedelta(days=4))
        measured = {
            "FAM-ONE": int((a.verdict != "error").sum() + (c.verdict != "error").sum()),
            "FAM-TWO": int((b.verdict != "error").sum()),
        }
        seen: list[tuple[str, set[int]]] = []
        hist, chart = plots.histograms_png, plots.control_chart_png

        def spy_hist(data, limits, **k):
            seen.append(("histograms", {int(np.isfinite(v).sum()) for v in data.values()}))
            return hist(data, limits, **k)

        def spy_chart(ch, **k):
            seen.append(("control chart", {len(ch["x"])}))
            return chart(ch, **k)

        monkeypatch.setattr(lot_report.plots, "histograms_png", spy_hist)
        monkeypatch.setattr(lot_report.plots, "control_chart_png", spy_chart)
        with store.session() as s:
            html = render(build_lot_report(s, since="2026-03-01"), "html").decode()
            period_seen = list(seen)  # the period report's figures only
            one = build_lot_report(s, lot="F1-L2")
            title_of_lot_report, footer_of_lot_report = one.title, one.footer
    finally:
        store.dispose()
    assert re.findall(r"<h2>Family ([^<]+)</h2>", html) == ["FAM-ONE", "FAM-TWO"]
    for h in ("Distributions and capability", "Control chart", "Chromaticity"):
        assert html.count(f"<h3>{h}</h3>") == 2 and f"<h2>{h}</h2>" not in html
    assert len([k for k, _ in period_seen if k == "histograms"]) == 2
    for kind, sizes in period_seen:  # each figure holds one family's components, never both
        assert max(sizes) in measured.values(), (kind, sizes)
    # the Cpk tables count one family each
    ns = set(
        re.findall(r"<td class=\"l\">Luminous flux \(lm\)</td><td class=\"r\">(\d+)</td>", html)
    )
    assert ns == {str(n) for n in measured.values()}
    # the withdrawn lot is marked wherever it is named
    assert "F1-L2 (withdrawn)" in _kv(html, "Lots")
    assert "Lot F1-L2 was withdrawn on 2026-03-06 (wrong phosphor batch)" in html
    assert "F1-L2</td>" not in html and html.count("F1-L2 (withdrawn)") >= 3
    assert "(withdrawn)" in title_of_lot_report and "(withdrawn)" in footer_of_lot_report


def test_single_family_report_has_no_family_sections(lots):
    _, store, _, _ = lots
    with store.session() as s:
        html = render(build_lot_report(s, family="LM1-AC-4000"), "html").decode()
    assert "Family LM1-AC-4000</h2>" not in html and "<h2>Chromaticity</h2>" in html


def test_cpk_table_one_resolution_per_quantity():
    from lightcomp.quantities import format_spread
    from lightcomp.reports.lot_report import _cpk_table

    assert format_spread("luminous_flux_lm", 37.30512, like=1204.66) == "37.3"
    assert format_spread("thd_current", 0.01234, like=0.12) == "1.2"  # display unit %
    assert format_spread("duv", -0.00001, like=0.001) == "0.0000"  # never "-0.0000"
    rng = np.random.default_rng(2)
    data = {"luminous_flux_lm": 1200 + 37 * rng.standard_normal(50), "duv": 0.001 + 0.0018 * rng.standard_normal(50)}  # fmt: skip
    t = _cpk_table(data, {"luminous_flux_lm": (1080.0, None), "duv": (-0.005, 0.007)})
    for row in t.rows:  # mean, std dev, LSL, USL: the same decimals
        decimals = {len(c.partition(".")[2]) for c in row[2:6] if c != "–"}
        assert len(decimals) == 1, row
        assert all(len(c.partition(".")[2]) == 2 for c in row[6:8] if c != "–"), row  # Cp, Cpk


def test_dc_items_never_labelled_rms(lots):
    import pandas as pd

    from lightcomp import quantities as catalogue
    from lightcomp.reports.lot_report import _cpk_table, dc_driven
    from lightcomp.reports.plots import _panel_title
    from lightcomp.store import Family

    assert catalogue.lookup("voltage_v").label(dc=True) == "Voltage (DC) (V)"
    assert catalogue.lookup("voltage_v").label("zh", dc=True) == "电压（直流） (V)"
    assert catalogue.lookup("luminous_flux_lm").label(dc=True) == "Luminous flux (lm)"
    v = np.array([35.8, 35.9, 36.0])
    assert _cpk_table({"voltage_v": v}, {}, dc=True).rows[0][0] == "Voltage (DC) (V)"
    assert "rms" in _cpk_table({"voltage_v": v}, {}).rows[0][0]
    assert _panel_title("current_a", dc=True) == "Current (DC) (A)"
    # the Pareto's causes too (a DC plan's voltage limit is not "Voltage (rms)")
    assert catalogue.limit_label("voltage", full=True, dc=True) == "Voltage (DC)"
    assert catalogue.limit_label("voltage", full=True) == "Voltage (rms)"
    _, store, _, _ = lots
    with store.session() as s:
        frame = pd.DataFrame({"family": ["LM1-AC-4000"]})
        assert not dc_driven(s, frame)  # the fixture's family is AC
        fam = s.query(Family).filter_by(name="LM1-AC-4000").one()
        fam.input_class = "CC-DC"
        s.flush()
        assert dc_driven(s, frame)
        s.rollback()


def test_pareto_names_causes_by_their_catalogue_label(lots):
    from lightcomp.quantities import limit_label
    from lightcomp.store.queries import lot_records

    _, store, _, _ = lots
    with store.session() as s:
        html = render(build_lot_report(s, lot="LOT-A"), "html").decode()
        causes = {c for fl in lot_records(s, lot="LOT-A")["failed_limits"] for c in fl}
    assert limit_label("efficacy", full=True) == "Luminous efficacy"
    assert limit_label("efficacy") == "ηv"  # the compact form of the failed-components table
    for c in causes:
        assert f'<td class="l">{limit_label(c, full=True)}</td>' in html, c
