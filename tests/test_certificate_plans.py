"""Certificates follow the plan that measured the item (AC: power analyser, harmonics
against IEC 61000-3-2 class C, flicker; DC: source meter, no "rms"), name everything by
its catalogue label with units, and come in English, Chinese or both with the CJK font
embedded in the PDF."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime

import numpy as np
import pytest
from _certificate_fixtures import IDENTITIES, ac_reading, dc_reading, retest
from _report_fixtures import fill_lot

from lightcomp import quantities as catalogue
from lightcomp.cli import main
from lightcomp.errors import ReportError
from lightcomp.reports.certificate import (
    DECISION_RULES,
    TEXTS,
    Words,
    build_certificate,
    instruments_used,
    issue_certificate,
)
from lightcomp.store import Store, queries

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def units(tmp_path_factory):
    """(url, store, AC code, DC code): one unit re-tested under each plan."""
    url = f"sqlite:///{tmp_path_factory.mktemp('certplans') / 'lightcomp.db'}"
    store = Store.open(url)
    ac = fill_lot(store, lot="LOT-AC", n=3, seed=3)
    dc = fill_lot(store, lot="LOT-DC", n=3, seed=4, family="LS0-COB-4000")
    retest(store, ac.codes[0], "LM1-AC-3000.toml", ac_reading(), flux=1620.0)
    retest(store, dc.codes[0], "LS0-COB-4000.toml", dc_reading(), flux=1180.0)
    yield url, store, ac.codes[0], dc.codes[0]
    store.dispose()


def _html(store, code, tmp_path, name, **kw) -> str:
    out = tmp_path / f"{name}.html"
    issue_certificate(store, code, out, authorised_by="QA", now=NOW, **kw)
    return out.read_text(encoding="utf-8")


def _record(store, code) -> dict:
    with store.session() as s:
        return queries.component_record(s, code)


def test_ac_certificate_names_the_ac_instruments(units, tmp_path):
    _, store, ac, _ = units
    html = _html(store, ac, tmp_path, "ac")
    assert "Power analyser: " + IDENTITIES["power_analyzer"] in html
    assert "AC source: " in html
    assert IDENTITIES["source"] not in html and "Source meter" not in html


def test_ac_certificate_has_the_class_c_harmonics_table(units, tmp_path):
    from lightcomp.analysis.electrical import class_c_limits

    _, store, ac, _ = units
    html = _html(store, ac, tmp_path, "ach")
    assert "Input current harmonics (IEC 61000-3-2:2018, class C)" in html
    m = _record(store, ac)["measurement"]
    ih = np.asarray(m["electrical"]["harmonics_a"])
    # 18 W: the 5-25 W regime, class D power-related limits (the analysis' own table)
    limits = class_c_limits(m["power_w"], m["power_factor"], ih[0])["class_d_a"][0]
    for h in (3, 5, 7, 39):
        cells = (
            f'<td class="r">{h}</td><td class="r">{catalogue.format_value("current", ih[h - 1])}'
            f'</td><td class="r">{100 * ih[h - 1] / ih[0]:.1f}</td>'
            f'<td class="r">{catalogue.format_value("current", limits[h - 1])}</td>'
            '<td class="l">conforms</td>'
        )
        assert cells in html, h
    assert '<td class="r">2</td>' not in html  # no class D limit for even orders
    assert "The input current harmonics conform to IEC 61000-3-2 class C." in html
    assert "Temporal light modulation (flicker, IEEE 1789-2015)" in html
    assert "Flicker is not measured" in html


def test_flicker_figures_come_from_the_analysis(units):
    from lightcomp.analysis.flicker import flicker_metrics

    _, store, ac, _ = units
    record = _record(store, ac)
    fs = 10_000.0
    t = np.arange(2000) / fs
    light = 1.0 + 0.2 * np.sin(2 * np.pi * 100.0 * t)  # 20 % at 100 Hz: above the low-risk 8 %
    record["measurement"]["electrical"]["light_waveform"] = {
        "sample_rate_hz": fs,
        "values": light.tolist(),
    }
    doc = build_certificate(
        record, None, report_id="LCR-2026-999999", issued_at=NOW, authorised_by="QA", lab={
            "name": "L", "address": "A"}
    )  # fmt: skip
    from lightcomp.reports.document import render_html

    html = render_html(doc)
    f = flicker_metrics(light, fs)
    assert f"{f['percent_flicker'][0]:.1f} %" in html
    assert f"{f['flicker_index'][0]:.3f}" in html
    assert "above the low-risk level" in html and not bool(f["ieee1789_low_risk"][0])
    assert "Flicker is not measured" not in html


def test_dc_certificate_has_no_rms_and_no_ac_instruments(units, tmp_path):
    _, store, _, dc = units
    html = _html(store, dc, tmp_path, "dc")
    text = re.sub(r'src="data:[^"]*"', "", html)  # not inside the embedded images
    assert not re.search(r"\brms\b|有效值", text, re.IGNORECASE)
    assert "Voltage (DC)" in html and "Current (DC)" in html
    assert "Source meter: " + IDENTITIES["source"] in html
    assert IDENTITIES["power_analyzer"] not in html and "Harmonic" not in html
    assert "flicker" not in html.lower()


def test_instruments_used_follow_the_plan():
    ac = {"drive": {"mode": "ac"}, "measurement": {"temperature": False}}
    dc = {"drive": {"mode": "dc-current"}}
    assert [r for r, _ in instruments_used(IDENTITIES, ac)] == [
        "ac_source",
        "power_analyzer",
        "spectro",
        "fixture",
    ]
    assert (
        dict(instruments_used({**IDENTITIES, "ac_source": "CHROMA,61502"}, ac))["ac_source"]
        == "CHROMA,61502"
    )
    assert [r for r, _ in instruments_used(IDENTITIES, dc)] == [
        "source",
        "spectro",
        "thermo",
        "fixture",
    ]


def test_no_internal_names(units, tmp_path):
    _, store, ac, dc = units
    html = _html(store, ac, tmp_path, "names")
    # stabilisation table: catalogue labels with units in the headers
    for head in ("Time (s)", "Luminous flux (lm)", "Active power (W)"):
        assert f"<th>{head}</th>" in html, head
    # conformity rows by their catalogue label, never by symbol or plan name
    m = _record(store, ac)["measurement"]
    for name in m["verdicts"]:
        q = catalogue.lookup(name)
        if q is not None and name != "ansi_quadrangle":
            assert (
                f'<tr class="{"pass" if m["verdicts"][name]["pass"] else "fail"}"><td class="l">{q.label_en}</td>'
                in html
            ), name
    for symbol in ("Φv", "ηv", "THDi", "flux_lm", "power_w", "thd_current"):
        assert symbol not in html, symbol
    # THD in %
    thd = catalogue.format_value("thd", m["thd_current"])
    assert f'<td class="l">THD of current</td><td class="r">{thd}</td><td class="l">%</td>' in html


def test_one_format_per_value(units, tmp_path):
    _, store, _, dc = units
    html = _html(store, dc, tmp_path, "digits")
    m = _record(store, dc)["measurement"]
    for col in ("luminous_flux_lm", "power_w", "voltage_v"):
        shown = catalogue.format_value(col, m[col])
        # results table, conformity table (and stabilisation) all show the same digits
        assert html.count(f'<td class="r">{shown}</td>') >= 2, col
        raw = f"{m[col]:.6g}"
        assert raw == shown or f">{raw}<" not in html


def test_guard_band_width_has_a_unit(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        a = fill_lot(store, lot="LOT-G", n=3, seed=5)
        code = a.codes[int(np.flatnonzero(a.verdict != "error")[0])]
        html = _html(store, code, tmp_path, "g", decision_rule="guarded")
        assert re.search(r"guarded, w = [\d.]+ lm<", html)
        assert re.search(r"guarded, w = [\d.]+ K<", html)
    finally:
        store.dispose()


def test_chinese_certificate_uses_the_catalogue_labels(units, tmp_path):
    _, store, ac, _ = units
    zh = _html(store, ac, tmp_path, "zh", language="zh")
    assert '<html lang="zh-CN">' in zh
    for key in ("luminous_flux", "cct", "ra", "power_factor", "thd"):
        q = catalogue.lookup(key)
        assert q.label_zh in zh and q.label_en not in zh, key
    assert "符合性声明" in zh and "Statement of conformity" not in zh
    both = _html(store, ac, tmp_path, "zhen", language="zh+en")
    flux = catalogue.lookup("luminous_flux")
    assert f"{flux.label_zh} / {flux.label_en}" in both
    assert "5. 符合性声明 / Statement of conformity" in both
    # sentences: wholly Chinese, then wholly English (no "中 / En" labels nested inside)
    r9 = catalogue.lookup("r9")
    assert f"样品不符合：{r9.label_zh}。<br>The item does NOT conform: {r9.label_en}." in both
    assert both.count("Decision rule:") == 1 and both.count("判定规则：") == 1


def test_a_label_alike_in_both_languages_is_given_once():
    assert Words("zh+en")("U (k = 2)") == "U (k = 2)"
    assert Words("zh+en")("Quantity") == "参数 / Quantity"


def test_every_fixed_text_has_chinese():
    for rule in DECISION_RULES.values():  # the rules' own wording, translated
        assert rule in TEXTS
    assert all(zh.strip() for zh in TEXTS.values())
    for en, zh in TEXTS.items():  # the same fields in both languages
        assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", zh)), en
    with pytest.raises(ReportError, match="unknown certificate language"):
        Words("fr")


def test_another_language_keeps_the_report_id(units, tmp_path):
    _, store, ac, _ = units
    first = issue_certificate(store, ac, tmp_path / "a.html", authorised_by="QA", now=NOW)
    zh = issue_certificate(store, ac, tmp_path / "a-zh.html", authorised_by="QA", language="zh+en")
    assert zh["report_id"] == first["report_id"]


def _cjk_font_or_skip():
    from lightcomp.reports.document import CJK_FONT_PACKAGE, cjk_font_path

    try:
        return cjk_font_path()
    except ReportError:
        pytest.skip(f"no CJK TrueType font installed (Debian package {CJK_FONT_PACKAGE})")


def test_chinese_pdf_embeds_the_cjk_font(units, tmp_path):
    path, index = _cjk_font_or_skip()
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) not installed")
    _, store, _, dc = units
    out = tmp_path / "zh.pdf"
    issue_certificate(store, dc, out, authorised_by="QA", language="zh", now=NOW)
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in fonts.stdout.splitlines()[2:]]
    from reportlab.pdfbase.ttfonts import TTFontFile

    face = TTFontFile(str(path), subfontIndex=index).name.decode()
    cjk = [r for r in rows if r[0].split("+")[-1].startswith(face)]
    assert cjk, fonts.stdout
    # name, type ..., emb, sub, uni, object: every CJK face embedded (as a subset)
    assert all(r[-5] == "yes" and r[-4] == "yes" for r in cjk), fonts.stdout


def test_missing_cjk_font_is_one_line(units, tmp_path, monkeypatch, capsys):
    url, _, _, dc = units
    monkeypatch.setenv("LIGHTCOMP_CJK_FONT", str(tmp_path / "missing.ttc"))
    args = ["certificate", dc, "-o", str(tmp_path / "x.pdf"), "--authorised-by", "QA"]
    assert main([*args, "--language", "zh", "--db", url]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "LIGHTCOMP_CJK_FONT" in err
    assert not (tmp_path / "x.pdf").exists()
    monkeypatch.delenv("LIGHTCOMP_CJK_FONT")
    from lightcomp.reports import document

    monkeypatch.setattr(document, "CJK_FONT_CANDIDATES", (("/nonexistent/font.ttc", 0),))
    with pytest.raises(ReportError, match="fonts-wqy-zenhei"):
        document.cjk_font_path()
    assert main([*args, "--language", "fr", "--db", url]) != 0
    assert "unknown certificate language 'fr'" in capsys.readouterr().err


def test_no_table_row_alone_on_a_page():
    from reportlab.lib.pagesizes import A4

    from lightcomp.reports.document import _keep_rows_table_class

    table_cls = _keep_rows_table_class()
    data = [["head", "value"]] + [[f"row {i}", str(i)] for i in range(10)]
    t = table_cls(data, repeatRows=1)
    _, h = t.wrap(A4[0], A4[1])
    row_h = h / len(data)
    for fit in range(1, 11):  # room for the header and `fit` rows
        parts = t.split(A4[0], row_h * (fit + 1) + 0.1)
        if not parts:
            assert fit < 2
            continue
        body = [len(p._cellvalues) - 1 for p in parts]
        assert sum(body) == 10 and min(body) >= 2, (fit, body)
