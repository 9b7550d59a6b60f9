"""The whole VLC plan on the simulated lab: calibrate, run a lot through the station with the
modulation test, store, then every output: `lightcomp records` columns, the certificate's
modulation section, the lot report's bandwidth histogram/Cpk, the API record and search."""

from __future__ import annotations

import html as html_text
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lightcomp.cli import app, main
from lightcomp.coding import import_registry
from lightcomp.store import Store

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "station" / "registry" / "demo.toml"

pytestmark = pytest.mark.filterwarnings("ignore:It is not known whether:FutureWarning")


@pytest.fixture(scope="module")
def vlc_lot(tmp_path_factory):
    """(db url, tmp dir, records frame) after a 3-unit run of LS0-COB-4000-VLC on sim-vlc."""
    tmp = tmp_path_factory.mktemp("vlc")
    mp = pytest.MonkeyPatch()
    mp.chdir(REPO)
    try:
        db = f"sqlite:///{tmp / 'vlc.db'}"
        store = Store.open(db)
        with store.transaction() as s:
            import_registry(s, REGISTRY)
        store.dispose()
        cli = CliRunner()
        r = cli.invoke(app, ["calibrate", "run", "--station", "sim-vlc", "--simlab", "--db", db])
        assert r.exit_code == 0, r.output
        args = ["station", "run", "--station", "sim-vlc", "--plan", "LS0-COB-4000-VLC"]
        args += ["--lot", "LOT-VLC", "--count", "3", "--simlab", "--db", db, "--no-progress"]
        r = cli.invoke(app, args)
        assert r.exit_code == 0, r.output
        assert "3 measured" in r.output
        out = tmp / "records.csv"
        r = cli.invoke(
            app, ["records", "--lot", "LOT-VLC", "--format", "csv", "-o", str(out)] + ["--db", db]
        )
        assert r.exit_code == 0, r.output
        yield db, tmp, pd.read_csv(out)
    finally:
        mp.undo()


def test_records_export_the_vlc_columns(vlc_lot):
    _, _, df = vlc_lot
    assert len(df) == 3
    white, blue = df["modulation_bandwidth_mhz"], df["modulation_bandwidth_blue_mhz"]
    # phosphor-limited white response vs the blue chip: several times apart
    assert (white.between(1.5, 5.0)).all() and (blue > 5 * white).all()
    assert df["rise_time_ns"].between(100, 200).all()
    assert df["fall_time_ns"].between(100, 200).all()
    # the plan's modulation limits were judged and none fails on this family
    # (an all-empty column reads back as floats: NaN, which is no failed limit either)
    failed = ";".join(str(v) for v in df["failed_limits"] if isinstance(v, str))
    for name in ("bandwidth_min_mhz", "bandwidth_blue_min_mhz", "rise_time_max_ns"):
        assert name not in failed


def test_curves_are_stored_with_the_measurement(vlc_lot):
    from lightcomp.store.models import Measurement

    db, _, _ = vlc_lot
    store = Store.open(db)
    try:
        with store.session() as s:
            rows = s.query(Measurement).filter(Measurement.modulation.isnot(None)).all()
            curves = rows[0].modulation
            verdicts = rows[0].verdicts
    finally:
        store.dispose()
    assert len(rows) == 3
    assert len(curves["frequencies_hz"]) == 25
    assert len(curves["response_db"]) == 3 and len(curves["response_blue_db"][0]) == 25
    # bandwidth vs bias: the blue chip slows down at lower bias (longer carrier lifetime)
    bw_blue = curves["bandwidth_blue_hz"]
    assert bw_blue[0] > bw_blue[1] > bw_blue[2]
    assert verdicts["bandwidth_min_mhz"]["min"] == 2.0 and verdicts["bandwidth_min_mhz"]["pass"]
    assert len(curves["thd"]) == 7 and curves["thd"][-1] > curves["thd"][0]


def test_chinese_certificate_gives_the_modulation_section_in_chinese(vlc_lot, capsys):
    db, tmp, df = vlc_lot
    code = df["product_code"].iloc[0]
    out = tmp / "cert-zh.html"
    args = ["certificate", code, "-o", str(out), "--authorised-by", "QA", "--language", "zh"]
    assert main([*args, "--db", db]) == 0
    html = out.read_text(encoding="utf-8")
    from lightcomp import quantities as catalogue

    assert "调制响应（可见光通信）" in html and "结果对应的直流偏置" in html
    assert "Modulation response" not in html and "DC bias of the results" not in html
    assert catalogue.lookup("rise_time_ns").label_zh in html
    assert catalogue.lookup("rise_time_ns").label_en not in html


def test_certificate_has_the_modulation_section(vlc_lot, capsys):
    db, tmp, df = vlc_lot
    code = df["product_code"].iloc[0]
    out = tmp / "cert.html"
    assert main(["certificate", code, "-o", str(out), "--authorised-by", "QA", "--db", db]) == 0
    html = out.read_text()
    assert "Modulation response (visible light communication)" in html
    from lightcomp import quantities as catalogue

    for col in ("modulation_bandwidth_mhz", "modulation_bandwidth_blue_mhz", "rise_time_ns"):
        assert catalogue.lookup(col).label() in html
    bw = df["modulation_bandwidth_mhz"].iloc[0]
    assert f"{bw:.2f}" in html
    assert html.count("<img") >= 2  # the spectrum and the response plot


U_COLUMNS = (
    "modulation_bandwidth_mhz",
    "modulation_bandwidth_blue_mhz",
    "rise_time_ns",
    "fall_time_ns",
    "modulation_depth_usable",
)


def test_records_export_u_of_every_modulation_result(vlc_lot):
    """Issue 19: `lightcomp records` has U_<column> (k = 2, same unit) of each modulation
    result, from the Monte Carlo of the unit's own records."""
    _, _, df = vlc_lot
    for col in U_COLUMNS:
        u, v = df[f"U_{col}"], df[col]
        assert u.notna().all() and (u > 0).all(), col
        assert (u < 0.2 * v).all(), col  # a measurement, not noise
    # the blue chip's bandwidth sits high on a steep sweep: a larger U than the white's
    assert (df["U_modulation_bandwidth_blue_mhz"] > df["U_modulation_bandwidth_mhz"]).all()


def test_certificate_gives_u_of_the_modulation_results(vlc_lot):
    db, tmp, df = vlc_lot
    code = df["product_code"].iloc[0]
    out = tmp / "cert-u.html"
    assert main(["certificate", code, "-o", str(out), "--authorised-by", "QA", "--db", db]) == 0
    html = out.read_text()
    from lightcomp import quantities as catalogue

    block = html.split("Modulation response (visible light communication)", 1)[1]
    for col in U_COLUMNS:
        label = html_text.escape(catalogue.lookup(col).label_en)
        row = block.split(label, 1)[1].split("</tr>", 1)[0]
        assert "(U = " in row and "k = 2)" in row, col
    from lightcomp.reports.certificate import _fmt_u

    u = df["U_modulation_bandwidth_mhz"].iloc[0]
    assert f"(U = {_fmt_u(u)} MHz, k = 2)" in block
    assert "The modulation results (section 4): M = " in html
    annex = html.split("Annex A", 1)[1]
    assert "Modulation bandwidth (−3 dB, white)" in annex
    assert "scope record noise" in annex
    # the conformity statements of [modulation.limits] use the stored U under a guarded rule
    # (another unit: a certificate once issued is changed only by a reissue)
    other = df["product_code"].iloc[1]
    out = tmp / "cert-guarded.html"
    args = ["certificate", other, "-o", str(out), "--authorised-by", "QA", "--db", db]
    assert main([*args, "--decision-rule", "guarded"]) == 0
    conformity = out.read_text().split("Statement of conformity", 1)[1].split("</table>", 1)[0]
    for col in ("modulation_bandwidth_mhz", "rise_time_ns"):
        label = html_text.escape(catalogue.lookup(col).label_en)
        row = conformity.split(label, 1)[1].split("</tr>", 1)[0]
        unit = catalogue.lookup(col).shown_unit
        assert f"guarded, w = {_fmt_u(df[f'U_{col}'].iloc[1])} {unit}" in row, row


def _certificate(db, tmp, code, language) -> str:
    out = tmp / f"cert-{code}-{language}.html"
    args = ["certificate", code, "-o", str(out), "--authorised-by", "QA", "--language", language]
    assert main([*args, "--db", db]) == 0
    return out.read_text(encoding="utf-8")


def test_budget_annex_names_the_input_groups_in_the_certificate_language(vlc_lot):
    """Issue 19: Annex A's input groups (spectral and modulation Monte Carlo) follow the
    certificate's language: Chinese labels from the one EN->ZH table in a Chinese
    certificate, and in zh+en each contributions cell all Chinese, then all English."""
    from lightcomp.reports.certificate import TEXTS
    from lightcomp.uncertainty.model import GROUP_LABELS
    from lightcomp.uncertainty.modulation import MODULATION_GROUP_LABELS

    db, tmp, df = vlc_lot
    code = df["product_code"].iloc[0]
    en = _certificate(db, tmp, code, "en").split("Annex A", 1)[1]
    zh = _certificate(db, tmp, code, "zh").split("附录 A", 1)[1]
    both = _certificate(db, tmp, code, "zh+en").split("附录 A", 1)[1]
    labels = [*GROUP_LABELS.values(), *MODULATION_GROUP_LABELS.values()]
    shown = [g for g in labels if html_text.escape(g) in en]
    # both Monte Carlos' groups are in the budget: the spectral and the modulation ones
    assert set(shown) & set(GROUP_LABELS.values()), shown
    assert set(shown) & set(MODULATION_GROUP_LABELS.values()), shown
    for g in labels:
        assert html_text.escape(g) not in zh, g
        assert (TEXTS[g] in zh) == (g in shown), g
        assert (TEXTS[g] in both) == (g in shown), g
    # zh+en: a list of labels is not "中 / En" nested; Chinese line, then English line
    scope = MODULATION_GROUP_LABELS["scope_noise"]
    assert f"{TEXTS[scope]} / {scope}" not in both
    cell = re.search(rf"<td[^>]*>({re.escape(TEXTS[scope])} [^<]*)<br>([^<]*)</td>", both)
    assert cell is not None and cell[2].startswith(scope), both


def _stored_u(db, code) -> tuple[dict, dict]:
    """(uncertainty JSON, values) of the unit's measurement, as stored."""
    from lightcomp.store import queries

    store = Store.open(db)
    try:
        with store.session() as s:
            m = queries.component_record(s, code)["measurement"]
    finally:
        store.dispose()
    values = {c: m.get(c) for c in U_COLUMNS}
    values["modulation_depth_usable"] = (m.get("quantities") or {})["modulation_depth_usable"]
    return m["uncertainty"], values


@pytest.mark.parametrize("language", ["en", "zh"])
def test_certificate_gives_the_shortest_coverage_interval_of_the_modulation_results(
    vlc_lot, language
):
    """Issue 19: the modulation results' Monte Carlo has one-sided inputs, so their stored
    shortest 95 % coverage interval is not symmetric about the value: the certificate's VLC
    block states it beside U (ends to U's decimal place), with the sentence saying why, in
    the certificate's language."""
    import math

    from lightcomp import quantities as catalogue
    from lightcomp.reports.certificate import TEXTS

    db, tmp, df = vlc_lot
    code = df["product_code"].iloc[2]
    html = _certificate(db, tmp, code, language)
    uncertainty, values = _stored_u(db, code)
    zh = language == "zh"
    title = "调制响应（可见光通信）" if zh else "Modulation response (visible light communication)"
    block = html.split(title, 1)[1].split("<figure", 1)[0]
    name = "Shortest 95 % coverage interval"
    for col in U_COLUMNS:
        q = catalogue.lookup(col)
        entry = uncertainty[col]
        assert entry["low"] < values[col] < entry["high"], col
        d = max(0, 1 - math.floor(math.log10(entry["U"])))
        text = f"[{entry['low']:.{d}f}, {entry['high']:.{d}f}] {q.shown_unit}".strip()
        label = html_text.escape(q.label_zh if zh else q.label_en)
        row = block.split(label, 1)[1].split("</tr>", 1)[0]
        assert f"k = 2)<br>{TEXTS[name] if zh else name} {text}</td>" in row, (col, row)
    why = next(k for k in TEXTS if k.startswith("The shortest 95 % coverage intervals"))
    assert "JCGM 101:2008 §6.4.2.1" in why and "de-embedded" in why
    assert block.count(html_text.escape(TEXTS[why] if zh else why)) == 1
    if zh:
        assert name not in html and why.split(":")[0] not in html


def test_lot_report_has_bandwidth_histogram_and_cpk(vlc_lot):
    db, tmp, _ = vlc_lot
    out = tmp / "lot.html"
    assert main(["report", "--lot", "LOT-VLC", "-o", str(out), "--db", db]) == 0
    html = out.read_text()
    assert "Modulation bandwidth" in html
    assert "Cpk" in html
    # issue 19: the bandwidths' typical U (median over the lot) beside their Cpk
    vlc = html.split("Modulation bandwidth (visible light communication)", 1)[1]
    assert "typical U (k = 2)" in vlc.split("</table>", 1)[0]


def test_api_record_and_bandwidth_search(vlc_lot):
    from fastapi.testclient import TestClient

    from lightcomp.api.app import create_app
    from lightcomp.api.keys import create_api_key

    db, _, df = vlc_lot
    store = Store.open(db)
    try:
        with store.transaction() as s:
            _, key = create_api_key(s, "lab", name="vlc-test")
        auth = {"Authorization": f"Bearer {key}"}
        with TestClient(create_app(store, auth_cache_s=0)) as client:
            code = df["product_code"].iloc[0]
            r = client.get(f"/components/{code}", headers=auth)
            assert r.status_code == 200, r.text
            measured = r.json()["measured"]
            assert measured["modulation_bandwidth_mhz"] == pytest.approx(
                df["modulation_bandwidth_mhz"].iloc[0], rel=1e-12
            )
            assert measured["rise_time_ns"] == pytest.approx(df["rise_time_ns"].iloc[0])
            # issue 19: U beside each value
            quantities = r.json()["quantities"]
            for col in ("modulation_bandwidth_mhz", "rise_time_ns", "fall_time_ns"):
                assert quantities[col]["U"] == pytest.approx(df[f"U_{col}"].iloc[0]), col
            detail = r.json()["detail"]["uncertainty"]
            assert detail["modulation_depth_usable"]["U"] == pytest.approx(
                df["U_modulation_depth_usable"].iloc[0]
            )
            # search: a threshold between the units' bandwidths splits the lot
            bw = df.set_index("product_code")["modulation_bandwidth_mhz"].sort_values()
            cut = float((bw.iloc[0] + bw.iloc[1]) / 2)
            r = client.get("/components", params={"bandwidth_min": cut}, headers=auth)
            assert r.status_code == 200, r.text
            assert {i["product_code"] for i in r.json()["items"]} == set(bw.index[1:])
            r = client.get(
                "/components", params={"bandwidth_min": 5, "bandwidth_max": 1}, headers=auth
            )
            assert r.status_code == 422
    finally:
        store.dispose()


def test_a_refused_vlc_bench_stores_no_test_run(vlc_lot, tmp_path, capsys, monkeypatch):
    """Issue 19 review: a VLC plan (U required) on a station that is not the simulated lab
    (the VLC station file without [simlab], same name and calibration) whose model file
    does not set the photoreceiver's rise time is refused before the test run is opened:
    one line naming the key, exit code != 0, no test_runs row, no lot."""
    import re

    from sqlalchemy import func, select

    from lightcomp.store.models import Lot, TestRun

    db, _, _ = vlc_lot
    monkeypatch.chdir(REPO)
    text = (REPO / "station" / "sim-vlc.toml").read_text(encoding="utf-8")
    real = re.sub(r"\[simlab\].*?(?=\[instruments\.source\])", "", text, flags=re.S)
    real = real.replace('kind = "simlab"', 'kind = "system"')
    assert "[simlab]" not in real
    station = tmp_path / "real-vlc.toml"
    station.write_text(real, encoding="utf-8")
    model = tmp_path / "bench.toml"
    model.write_text(
        '[model]\nname = "real bench"\n\n[modulation]\nbias_tee_resistance_rel = 0.01\n'
    )
    plan = tmp_path / "vlc-u.toml"
    plan.write_text(
        (REPO / "station" / "plans" / "LS0-COB-4000-VLC.toml").read_text(encoding="utf-8")
        + f"\n[uncertainty]\nmodel = '{model}'\n",
        encoding="utf-8",
    )
    store = Store.open(db)

    def runs() -> int:
        with store.session() as s:
            return s.scalar(select(func.count()).select_from(TestRun))

    try:
        before = runs()
        capsys.readouterr()
        args = ["station", "run", "--station", str(station), "--plan", str(plan)]
        args += ["--lot", "LOT-VLC-REFUSED", "--count", "1", "--db", db, "--no-progress"]
        assert main(args) != 0
        out = capsys.readouterr()
        lines = [line for line in (out.out + out.err).splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert "[modulation] receiver_rise_ns" in lines[0] and "Traceback" not in lines[0]
        assert runs() == before
        with store.session() as s:
            assert s.scalar(select(Lot).where(Lot.name == "LOT-VLC-REFUSED")) is None
    finally:
        store.dispose()
