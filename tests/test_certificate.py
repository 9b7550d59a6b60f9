"""Component test certificate (ISO/IEC 17025 7.8 content), reissue, `lightcomp certificate`."""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from datetime import UTC, datetime

import numpy as np
import pytest
from _report_fixtures import fill_lot
from sqlalchemy import select

from lightcomp.cli import main
from lightcomp.errors import CodeError, ReportError
from lightcomp.reports.certificate import issue_certificate, lab_identity
from lightcomp.store import Certificate, Store

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def lot(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('cert') / 'lightcomp.db'}"
    store = Store.open(url)
    a = fill_lot(store, lot="LOT-C", n=40, seed=5)
    yield url, store, a
    store.dispose()


def _first(a, verdict: str) -> str:
    return a.codes[int(np.flatnonzero(a.verdict == verdict)[0])]


def _pdf_page_texts(data: bytes) -> list[bytes]:
    """Decoded content streams of the text-bearing PDF objects (ReportLab: ASCII85 + Flate)."""
    out = []
    for obj in data.split(b"endobj"):
        i = obj.find(b"stream")
        if i < 0 or b"/Image" in obj[:i]:
            continue
        head, s = obj[:i], obj[i + 6 :]
        s = s[: s.rfind(b"endstream")].strip()
        if b"ASCII85Decode" in head:
            s = base64.a85decode(s[:-2] if s.endswith(b"~>") else s)
        if b"FlateDecode" in head:
            s = zlib.decompress(s)
        if b"BT" in s:
            out.append(s)
    return out


def test_html_certificate_content(lot, tmp_path):
    _, store, a = lot
    code = _first(a, "fail")
    out = tmp_path / "c.html"
    info = issue_certificate(
        store, code, out, authorised_by="Dr. Li Na, technical manager", now=NOW
    )
    html = out.read_text(encoding="utf-8")
    rid = info["report_id"]
    assert re.fullmatch(r"LCR-2026-\d{6}", rid)
    from lightcomp.coding import format_code

    for needle in (
        "Test report",  # title
        "Guangdong LED Component Test Centre",  # lab name from the run params
        "88 Photonics Avenue",
        "Bright Photonics Co.",  # customer
        "LM-79",
        "Deviations from the method",
        format_code(code),  # item identification
        "LOT-C",
        "Date of receipt",
        "2026-02-27",  # lot received
        "Date of test",
        "2026-03-10",  # issue date
        "Ambient temperature",
        "Stabilisation history",
        "Luminous flux",
        "lm",
        "Statement of conformity",
        "ILAC-G8",
        "does not conform",
        "Expanded uncertainty U",
        "CAL-S1-2026-02",
        "NIM-GX2025-0417",  # traceability
        "Dr. Li Na, technical manager",
        "results relate only to the item tested",
        f"End of report {rid}",
    ):
        assert needle in html, needle
    assert html.count(rid) >= 3  # header, footer (repeated on printed pages), end mark
    images = re.findall(r"data:image/png;base64,", html)
    assert len(images) == 3  # spectrum, CRI bars, TM-30 graphic
    with store.session() as s:
        row = s.scalars(select(Certificate).where(Certificate.report_id == rid)).one()
        assert row.content_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
        assert row.authorised_by == "Dr. Li Na, technical manager"
        assert row.format == "html" and row.replaces_id is None


def test_certificate_values_equal_the_store(lot, tmp_path):
    _, store, a = lot
    code = _first(a, "pass")
    out = tmp_path / "p.html"
    issue_certificate(store, code, out, authorised_by="QA", now=NOW)
    html = out.read_text(encoding="utf-8")
    i = a.codes.index(code)
    assert f'<td class="r">{a.flux[i]:.5g}</td>' in html
    assert "The item conforms to every limit listed." in html


def test_pdf_certificate_has_id_on_every_page(lot, tmp_path):
    _, store, a = lot
    out = tmp_path / "c.pdf"
    info = issue_certificate(store, _first(a, "pass"), out, authorised_by="QA", now=NOW)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = _pdf_page_texts(data)
    n_pages = len(re.findall(rb"/Type /Page[^s]", data))
    assert n_pages >= 2 and len(pages) == n_pages
    rid = info["report_id"].encode()
    for k, page in enumerate(pages, start=1):
        assert rid in page, f"page {k} lacks the report id"
        assert f"page {k} of {n_pages}".encode() in page
    assert b"End of report " + rid in pages[-1]


def test_reissue_names_the_replaced_report(lot, tmp_path):
    _, store, a = lot
    code = _first(a, "pass")
    first = issue_certificate(store, code, tmp_path / "1.html", authorised_by="QA", now=NOW)
    second = issue_certificate(
        store,
        code,
        tmp_path / "2.html",
        authorised_by="QA",
        now=NOW,
        reissue=first["report_id"],
        reason="customer address corrected",
    )
    assert second["report_id"] != first["report_id"]
    html = (tmp_path / "2.html").read_text(encoding="utf-8")
    assert f"replaces report {first['report_id']}" in html
    assert "customer address corrected" in html
    with store.session() as s:
        old = s.scalars(
            select(Certificate).where(Certificate.report_id == first["report_id"])
        ).one()
        new = s.scalars(
            select(Certificate).where(Certificate.report_id == second["report_id"])
        ).one()
        assert new.replaces_id == old.id and new.reason == "customer address corrected"
    with pytest.raises(ReportError, match="already replaced by"):
        issue_certificate(
            store,
            code,
            tmp_path / "3.html",
            authorised_by="QA",
            reissue=first["report_id"],
            reason="again",
        )
    with pytest.raises(ReportError, match="needs a --reason"):
        issue_certificate(
            store, code, tmp_path / "3.html", authorised_by="QA", reissue=second["report_id"]
        )
    other = _first(a, "fail")
    with pytest.raises(ReportError, match="is for component"):
        issue_certificate(
            store,
            other,
            tmp_path / "3.html",
            authorised_by="QA",
            reissue=second["report_id"],
            reason="x",
        )
    with pytest.raises(ReportError, match="unknown report id"):
        issue_certificate(
            store,
            code,
            tmp_path / "3.html",
            authorised_by="QA",
            reissue="LCR-1999-000001",
            reason="x",
        )
    assert not (tmp_path / "3.html").exists()


def test_guarded_decision_rule(lot, tmp_path):
    _, store, a = lot
    out = tmp_path / "g.html"
    # a unit not certified yet: the first pass unit's report was issued under the simple rule,
    # and the same measurement under another rule would need --reissue
    code = a.codes[int(np.flatnonzero(a.verdict == "pass")[1])]
    issue_certificate(store, code, out, authorised_by="QA", decision_rule="guarded")
    html = out.read_text(encoding="utf-8")
    assert "guard band w = U" in html and "guarded, w = " in html


def test_errors(lot, tmp_path):
    _, store, a = lot
    with pytest.raises(ReportError, match="authorising"):
        issue_certificate(store, _first(a, "pass"), tmp_path / "x.pdf", authorised_by=" ")
    from lightcomp.coding import make_code

    unknown = make_code(a.codes[0][:22], 999_999_999)
    with pytest.raises(ReportError, match="unknown product code"):
        issue_certificate(store, unknown, tmp_path / "x.pdf", authorised_by="QA")
    mistyped = unknown[:-1] + ("0" if unknown[-1] != "0" else "1")
    with pytest.raises(CodeError, match="check character"):
        issue_certificate(store, mistyped, tmp_path / "x.pdf", authorised_by="QA")
    if (a.verdict == "error").any():
        with pytest.raises(ReportError, match="no valid measurement"):
            issue_certificate(store, _first(a, "error"), tmp_path / "x.pdf", authorised_by="QA")
    with pytest.raises(ReportError, match="does not exist"):
        issue_certificate(store, _first(a, "pass"), tmp_path / "no" / "x.pdf", authorised_by="QA")


def test_lab_identity_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("LIGHTCOMP_LAB_CONFIG", raising=False)
    monkeypatch.delenv("LIGHTCOMP_LAB_NAME", raising=False)
    assert lab_identity({})["name"] == "lightcomp test laboratory"
    params = {"station": {"lab": "Station Lab", "lab_address": "1 Road"}}
    assert lab_identity(params) == {"name": "Station Lab", "address": "1 Road"}
    cfg = tmp_path / "lab.toml"
    cfg.write_text('[lab]\nname = "File Lab"\naddress = "2 Street"\naccreditation = "CNAS L0001"\n')
    assert lab_identity(params, cfg)["accreditation"] == "CNAS L0001"
    monkeypatch.setenv("LIGHTCOMP_LAB_NAME", "Env Lab")
    assert lab_identity(params)["name"] == "Env Lab"
    monkeypatch.setenv("LIGHTCOMP_LAB_CONFIG", str(cfg))
    assert lab_identity(params)["name"] == "File Lab"
    with pytest.raises(ReportError, match="does not exist"):
        lab_identity({}, tmp_path / "missing.toml")


def test_cli_certificate(lot, tmp_path, capsys):
    url, _, a = lot
    out = tmp_path / "cli.pdf"
    code = a.codes[int(np.flatnonzero(a.verdict == "pass")[2])]  # not certified by other tests
    assert main(["certificate", code, "-o", str(out), "--authorised-by", "QA", "--db", url]) == 0
    line = capsys.readouterr().out.strip()
    rid = line.split(":")[0]
    assert re.fullmatch(r"LCR-\d{4}-\d{6}", rid) and out.exists()
    args = [
        "certificate",
        code,
        "-o",
        str(tmp_path / "r.pdf"),
        "--authorised-by",
        "QA",
        "--reissue",
        rid,
        "--reason",
        "typo",
        "--db",
        url,
    ]
    assert main(args) == 0
    assert f"replaces {rid}" in capsys.readouterr().out
    bad = main(
        ["certificate", "NOPE", "-o", str(tmp_path / "n.pdf"), "--authorised-by", "QA", "--db", url]
    )
    err = capsys.readouterr().err.strip()
    assert bad != 0 and err.startswith("error:") and "\n" not in err


def test_another_format_keeps_the_report_id(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'fmt.db'}")
    try:
        a = fill_lot(store, lot="LOT-F", n=6, seed=11)
        code = _first(a, "pass")
        pdf = issue_certificate(store, code, tmp_path / "c.pdf", authorised_by="QA", now=NOW)
        html = issue_certificate(store, code, tmp_path / "c.html", authorised_by="QA")
        again = issue_certificate(store, code, tmp_path / "d.pdf", authorised_by="QA")
        assert pdf["report_id"] == html["report_id"] == again["report_id"]
        assert again["content_sha256"] == pdf["content_sha256"]  # same report, same bytes
        assert pdf["report_id"] in (tmp_path / "c.html").read_text(encoding="utf-8")
        assert "2026-03-10" in (tmp_path / "c.html").read_text(encoding="utf-8")  # issue date kept
        with pytest.raises(ReportError, match="--reissue"):  # content would change
            issue_certificate(store, code, tmp_path / "e.html", authorised_by="Someone else")
        new = issue_certificate(
            store,
            code,
            tmp_path / "r.html",
            authorised_by="B",
            reissue=pdf["report_id"],
            reason="authoriser changed",
        )
        assert new["report_id"] != pdf["report_id"]
        again = issue_certificate(store, code, tmp_path / "r.pdf", authorised_by="B")
        assert again["report_id"] == new["report_id"] and again["replaces"] == pdf["report_id"]
        with store.session() as s:
            assert len(s.scalars(select(Certificate)).all()) == 2
    finally:
        store.dispose()


def test_no_negative_zero():
    from lightcomp.reports.certificate import _fmt

    assert _fmt(-0.00001, 2) == "0.0000"
    assert _fmt(-0.00004, 6) == "-4e-05" or not _fmt(-0.00004, 6).startswith("-0")
    assert _fmt(-0.0123, 2) == "-0.0123"


def test_lab_config_refuses_unknown_keys(tmp_path):
    cfg = tmp_path / "lab.toml"
    cfg.write_text('[lab]\nname = "File Lab"\nadress = "typo"\n')
    with pytest.raises(ReportError, match="unknown key lab.adress"):
        lab_identity({}, cfg)
    cfg.write_text('[lab]\nname = "File Lab"\n[labs]\nname = "x"\n')
    with pytest.raises(ReportError, match="'labs'"):
        lab_identity({}, cfg)


def test_supply_is_a_sentence_with_units(lot, tmp_path):
    from lightcomp.reports.certificate import supply_sentence

    assert supply_sentence({"mode": "ac", "voltage_v": 230.0, "frequency_hz": 50.0}) == (
        "AC 230 V, 50 Hz"
    )
    assert supply_sentence({"mode": "dc-current", "current_a": 0.35, "voltage_limit_v": 40}) == (
        "DC constant current 0.35 A, voltage limit 40 V"
    )
    _, store, a = lot
    out = tmp_path / "s.html"
    issue_certificate(
        store, a.codes[int(np.flatnonzero(a.verdict == "pass")[3])], out, authorised_by="QA"
    )
    html = out.read_text(encoding="utf-8")
    assert "current_a" not in html and "mode =" not in html and "spectro:" not in html


def test_api_names_the_laboratory_by_the_certificates_rule(monkeypatch):
    """One rule (lightcomp.laboratory): a lab named by LIGHTCOMP_LAB_NAME is the name the
    certificates print and the name the API's records carry."""
    from types import SimpleNamespace

    from lightcomp.api import create_app
    from lightcomp.api.records import lab_name_for

    station_run = SimpleNamespace(run_params={"lab": "Station Lab"})
    # not configured: a record names the laboratory of its own run, as its certificate
    assert lab_name_for(station_run, None) == lab_identity(station_run.run_params)["name"]
    assert lab_name_for(station_run, None) == "Station Lab"
    monkeypatch.setenv("LIGHTCOMP_LAB_NAME", "Shenzhen Joint LED Lab")
    assert lab_identity({"lab": "Station Lab"})["name"] == "Shenzhen Joint LED Lab"
    assert lab_name_for(station_run, None) == "Shenzhen Joint LED Lab"
    assert create_app("sqlite://").state.lab_name is None  # per record, by the rule
    # a name given to the server is every record's
    given = create_app("sqlite://", lab_name="Given").state.lab_name
    assert lab_name_for(station_run, given) == "Given"
