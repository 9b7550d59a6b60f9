"""An LM-80 campaign end to end on the simulated lab, checked against independent arithmetic.

One campaign (2 case temperatures x 11 samples, 6000 h every 1000 h) with a forced
catastrophic failure, a chamber excursion and a channel outage is run once per
module; the tests then check:

* the export reproduces the stored readings, one row per sample per interval;
* an independent TM-21-11 computation written here (numpy polyfit of ln of the
  mean normalised flux over the TM-21 window) on the *exported CSV* gives the
  report's alpha, B and L70;
* the measured maintenance follows the simulator's ageing truth;
* the excursion is logged against exactly the samples of its chamber, the
  outage against its channel's sample;
* the failed sample is excluded from the projection, counted out of the units
  (11 -> 10: the 5.5x limit applies) and reported with the interval in which it
  failed.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import numpy as np
import pytest

from lightcomp.errors import AnalysisInputError, PlanError, ReportError

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FAIL_CHANNEL, FAIL_AT_H = 3, 2500.0
EXC_CHAMBER, EXC_AT_H = 2, 2990.0
OUTAGE_CHANNEL = 15


def _setup_store(url):
    from lightcomp.coding import import_registry
    from lightcomp.store import Store

    store = Store.open(url)
    with store.transaction() as s:
        import_registry(s, ROOT / "station" / "registry" / "demo.toml")
    return store


def _files(sim_extra=None):
    from lightcomp.lm80.rig import load_rig
    from lightcomp.station.config import load_station

    st = load_station(ROOT / "station" / "sim.toml", lab_root=ROOT)
    rig = load_rig(ROOT / "station" / "lm80" / "sim.toml")
    sim = {**dict(rig.raw.get("simlab", {})), "excursion_rate_per_h": 0.0, "outage_rate_per_h": 0.0}
    sim["ageing"] = {**dict(sim.get("ageing", {})), "failure_rate_ref_per_h": 0.0}
    sim.update(sim_extra or {})
    return st, dataclasses.replace(rig, raw={**rig.raw, "simlab": sim})


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    from lightcomp.lm80.campaign import CampaignRunner, create_campaign
    from lightcomp.lm80.rig import open_lab

    url = f"sqlite:///{tmp_path_factory.mktemp('lm80') / 'c.db'}"
    store = _setup_store(url)
    st, rig = _files(
        {
            "failures": [{"channel": FAIL_CHANNEL, "at_h": FAIL_AT_H}],
            "excursions": [
                {"chamber": EXC_CHAMBER, "at_h": EXC_AT_H, "duration_h": 4.0, "delta_c": 7.0}
            ],
            "outages": [{"channel": OUTAGE_CHANNEL, "at_h": 1500.0, "duration_h": 12.0}],
        }
    )
    create_campaign(
        store,
        name="T1",
        family="LS0-COB-4000",
        samples=11,
        case_temps_c=[55.0, 105.0],
        current_a=0.35,
        duration_h=6000.0,
        interval_h=1000.0,
        station=st,
        rig=rig,
        clock="simlab",
    )
    truth = {}
    with open_lab(st, rig, simulated=True) as lab, CampaignRunner(store, "T1", lab) as cr:
        done = cr.run(until_done=True)
        for smp in cr.samples:
            truth[smp["code"]] = [
                lab.sim_rig.truth(smp["code"], h)["flux_factor"] for h in cr.hours
            ]
    yield {"store": store, "url": url, "done": done, "truth": truth}
    store.dispose()


def _export_csv(campaign):
    from typer.testing import CliRunner

    from lightcomp.cli import app

    res = CliRunner().invoke(
        app, ["lm80", "export", "--campaign", "T1", "--format", "csv", "--db", campaign["url"]]
    )
    assert res.exit_code == 0, res.output
    return list(csv.DictReader(io.StringIO(res.stdout)))


def _tm21_json(campaign, *extra):
    from typer.testing import CliRunner

    from lightcomp.cli import app

    res = CliRunner().invoke(
        app, ["lm80", "tm21", "--campaign", "T1", "--json", "--db", campaign["url"], *extra]
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_every_interval_measured_once(campaign):
    from lightcomp.lm80.campaign import campaign_status

    assert [d["index"] for d in campaign["done"]] == list(range(7))
    (st,) = campaign_status(campaign["store"], "T1")
    assert st["status"] == "finished" and st["intervals_done"] == 7
    assert st["failures"] == 1 and st["outages"] == 1 and st["excursions"] == 1


def test_export_one_row_per_sample_per_interval(campaign):
    rows = _export_csv(campaign)
    assert list(rows[0]) == [
        "sample_code",
        "case_temperature_c",
        "drive_current_ma",
        "hours",
        "luminous_flux_lm",
        "normalised_flux",
        "u_prime",
        "v_prime",
        "delta_u_v_prime",
        "failed",
    ]
    assert len(rows) == 22 * 7
    keys = {(r["sample_code"], float(r["hours"])) for r in rows}
    assert len(keys) == len(rows)
    first = [r for r in rows if float(r["hours"]) == 0]
    assert all(
        float(r["normalised_flux"]) == 1.0 and float(r["delta_u_v_prime"]) == 0 for r in first
    )
    assert {float(r["drive_current_ma"]) for r in rows} == {350.0}


def test_independent_tm21_on_exported_data_matches_report(campaign):
    rows = _export_csv(campaign)
    tm = {r["case_temp_c"]: r for r in _tm21_json(campaign)["by_case_temperature"]}
    for tc in (55.0, 105.0):
        mine = [r for r in rows if float(r["case_temperature_c"]) == tc]
        failed = {r["sample_code"] for r in mine if r["failed"] == "True"}
        codes = sorted({r["sample_code"] for r in mine} - failed)
        hours = np.array(sorted({float(r["hours"]) for r in mine}))
        flux = np.array(
            [
                [
                    float(r["luminous_flux_lm"])
                    for r in sorted(
                        (r for r in mine if r["sample_code"] == c), key=lambda r: float(r["hours"])
                    )
                ]
                for c in codes
            ]
        )
        mean = (flux / flux[:, :1]).mean(axis=0)
        window = hours >= max(hours[-1] - 5000.0, 1000.0)  # TM-21-11: last 5000 h, >= 1000 h
        slope, intercept = np.polyfit(hours[window], np.log(mean[window]), 1)
        alpha, b = -slope, np.exp(intercept)
        l70 = np.log(b / 0.7) / alpha
        r = tm[tc]
        assert r["units"] == len(codes)
        assert r["fit_window_h"] == [hours[window][0], hours[-1]]
        assert r["alpha"] == pytest.approx(alpha, rel=1e-9)
        assert r["b"] == pytest.approx(b, rel=1e-12)
        assert r["projection"]["L70"]["calculated_h"] == pytest.approx(l70, rel=1e-9)


def test_maintenance_follows_the_ageing_truth(campaign):
    """Measured normalised flux = simulated flux factor ratio, within the lab's noise."""
    rows = _export_csv(campaign)
    for code, factors in campaign["truth"].items():
        mine = sorted(
            (r for r in rows if r["sample_code"] == code and r["failed"] == "False"),
            key=lambda r: float(r["hours"]),
        )
        got = np.array([float(r["normalised_flux"]) for r in mine])
        want = np.array(factors[: len(got)]) / factors[0]
        np.testing.assert_allclose(got, want, rtol=4e-3)
    # hotter ages faster: lower maintenance at 105 degC than at 55 degC at 6000 h
    end = {
        tc: np.mean(
            [
                float(r["normalised_flux"])
                for r in rows
                if float(r["hours"]) == 6000
                and float(r["case_temperature_c"]) == tc
                and r["failed"] == "False"
            ]
        )
        for tc in (55.0, 105.0)
    }
    assert end[105.0] < end[55.0] - 0.02


def test_chromaticity_shift_grows_with_ageing(campaign):
    rows = _export_csv(campaign)
    hot = [r for r in rows if float(r["case_temperature_c"]) == 105 and r["failed"] == "False"]
    by_h = {}
    for r in hot:
        by_h.setdefault(float(r["hours"]), []).append(float(r["delta_u_v_prime"]))
    means = [np.mean(by_h[h]) for h in sorted(by_h)]
    assert means[-1] > 0.001 and means[-1] > means[2] > means[0] == 0.0


def test_excursion_and_outage_logged_against_the_samples_they_affect(campaign):
    from lightcomp.lm80.results import campaign_data

    data = campaign_data(campaign["store"], "T1")
    chamber_of = {s["code"]: s["chamber"] for s in data["samples"]}
    channel_of = {s["code"]: s["channel"] for s in data["samples"]}
    exc = [e for e in data["events"] if e["kind"] == "excursion"]
    assert sorted(e["sample"] for e in exc) == sorted(
        c for c, k in chamber_of.items() if k == EXC_CHAMBER
    )
    assert {(e["start_h"], e["duration_h"], e["details"]["peak_delta_c"]) for e in exc} == {
        (EXC_AT_H, 4.0, 7.0)
    }
    (out,) = [e for e in data["events"] if e["kind"] == "outage"]
    assert channel_of[out["sample"]] == OUTAGE_CHANNEL and out["duration_h"] == 12.0


def test_failed_sample_reported_as_tm21_requires(campaign):
    from lightcomp.lm80.results import campaign_data

    data = campaign_data(campaign["store"], "T1")
    failed_code = next(s["code"] for s in data["samples"] if s["channel"] == FAIL_CHANNEL)
    r55 = next(r for r in _tm21_json(campaign)["by_case_temperature"] if r["case_temp_c"] == 55)
    assert r55["units_tested"] == 11 and r55["units"] == 10
    assert r55["failures"] == [{"sample": failed_code, "after_h": 2000.0, "by_h": 3000.0}]
    l70 = r55["projection"]["L70"]
    assert l70["limit_h"] == 5.5 * 6000  # 10 units: 5.5 x the test duration
    assert l70["text"].startswith("L70(6k) ")
    if l70["capped"]:
        assert l70["text"] == "L70(6k) > 33,000 h"
    rows = [r for r in _export_csv(campaign) if r["sample_code"] == failed_code]
    assert [r["failed"] for r in rows] == ["False"] * 3 + ["True"] * 4
    assert all(r["luminous_flux_lm"] == "" for r in rows[3:])


def test_in_situ_interpolation_and_refusal(campaign):
    out = _tm21_json(campaign, "--ts", "80")
    ins = out["in_situ"]
    by = {r["case_temp_c"]: r for r in out["by_case_temperature"]}
    a1, a2 = by[55.0]["alpha"], by[105.0]["alpha"]
    t1, t2, ts = 328.15, 378.15, 353.15
    ea_k = np.log(a1 / a2) / (1 / t2 - 1 / t1)  # TM-21-11 Arrhenius, written out here
    assert ins["alpha"] == pytest.approx(a1 * np.exp(ea_k / t1) * np.exp(-ea_k / ts), rel=1e-9)
    assert ins["b"] == pytest.approx(np.sqrt(by[55.0]["b"] * by[105.0]["b"]), rel=1e-12)
    assert a1 < ins["alpha"] < a2
    from lightcomp.lm80.results import tm21_in_situ_result

    with pytest.raises(AnalysisInputError, match="never extrapolates"):
        tm21_in_situ_result(out["by_case_temperature"], 120.0)


def test_registry_takes_a_finished_campaign_as_source(campaign):
    from sqlalchemy import select

    from lightcomp.lm80.results import publish_to_registry
    from lightcomp.station.runner import family_maintenance
    from lightcomp.store.models import AuditEvent, Family

    store = campaign["store"]
    with pytest.raises(ReportError, match="no case temperature 85"):
        publish_to_registry(store, "T1", 85.0, rated_life_h=25000)
    v = publish_to_registry(store, "T1", 105.0, rated_life_h=25000, actor="lab manager")
    with store.transaction() as s:
        fam = s.scalar(select(Family).where(Family.name == "LS0-COB-4000"))
        assert fam.lm80["source"] == "LM-80 campaign T1"
        _steps, kept = family_maintenance(fam.lm80, fam.name)
        ev = s.scalars(select(AuditEvent).where(AuditEvent.kind == "lm80-registry")).all()
    assert len(v["flux"]) == 11 and len(ev) == 1 and ev[0].details["campaign"] == "T1"
    # IEC 62717: maintenance at 25 % of the rated life, at most 6000 h: here the 6000 h
    # mean normalised flux of the 11 units at 105 degC (none failed there)
    hours = np.array(v["hours"])
    flux = np.array(v["flux"])
    assert hours[-1] == 6000 and kept == pytest.approx((flux[:, -1] / flux[:, 0]).mean())
    assert 0.8 < kept < 1.0


def test_bad_start_arguments_are_one_line_errors(tmp_path):
    from lightcomp.lm80.campaign import create_campaign, parse_temperatures

    store = _setup_store(f"sqlite:///{tmp_path / 'b.db'}")
    st, rig = _files()
    base = dict(
        name="B1",
        family="LS0-COB-4000",
        samples=2,
        case_temps_c=[55.0],
        current_a=0.35,
        duration_h=6000.0,
        interval_h=1000.0,
        station=st,
        rig=rig,
        clock="simlab",
    )
    for change, words in [
        ({"interval_h": 1500.0}, "<= 1000 h"),
        ({"case_temps_c": [55.0, 55.0]}, "repeats"),
        ({"case_temps_c": [55.0, 85.0, 105.0, 120.0]}, "4 chambers"),
        ({"samples": 40, "case_temps_c": [55.0, 85.0, 105.0]}, "120 rack channels"),
        ({"family": "NOPE"}, "NOPE"),
    ]:
        with pytest.raises(Exception, match=words) as ei:
            create_campaign(store, **{**base, **change})
        assert "\n" not in str(ei.value)
    with pytest.raises(PlanError, match="comma-separated"):
        parse_temperatures("55;85")
    from lightcomp.store.models import Lm80Campaign, Lot

    with store.transaction() as s:
        assert s.query(Lm80Campaign).count() == 0 and s.query(Lot).count() == 0


def test_report_carries_the_tm21_table_and_failures(campaign, tmp_path):
    from html import escape

    from lightcomp.lm80.results import campaign_data, tm21_by_temperature
    from lightcomp.reports.lm80_report import write_lm80_report

    store = campaign["store"]
    res = tm21_by_temperature(campaign_data(store, "T1"))
    html = write_lm80_report(store, "T1", tmp_path / "r.html", ts_c=80.0).read_text()
    for r in res:
        assert f"{r['alpha']:.4e}" in html and f"{r['b']:.4f}" in html
        assert escape(r["projection"]["L70"]["text"]) in html
    assert "catastrophic (open circuit): excluded from TM-21" in html
    assert "in situ 80 °C" in html and html.count("<img") == 4  # 2 plots x 2 case temperatures
    pdf = write_lm80_report(store, "T1", tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    with pytest.raises(ReportError, match=r"\.html or \.pdf"):
        write_lm80_report(store, "T1", tmp_path / "r.docx")


def test_cli_errors_are_one_line_and_change_nothing(campaign, capsys):
    from lightcomp.cli import main
    from lightcomp.lm80.campaign import campaign_status

    db = ["--db", campaign["url"]]
    before = len(_export_csv(campaign))
    for args, words in [
        (["lm80", "measure", "--campaign", "NOPE"], "no LM-80 campaign 'NOPE'"),
        (["lm80", "stop", "--campaign", "T1"], "already finished"),
        (["lm80", "export", "--campaign", "T1", "--format", "xml"], "csv or json"),
        (["lm80", "tm21", "--campaign", "T1", "--ts", "40"], "never extrapolates"),
    ]:
        capsys.readouterr()
        assert main([*args, *db]) == 2, args
        line = capsys.readouterr().err.strip()
        assert line.startswith("error: ") and words in line and "\n" not in line
    assert campaign_status(campaign["store"], "T1")[0]["status"] == "finished"
    assert len(_export_csv(campaign)) == before


@pytest.mark.pg
def test_small_campaign_on_postgresql(pg_url):
    """The same campaign code on the PostgreSQL store: every reading once, TM-21 computed."""
    from lightcomp.lm80.campaign import CampaignRunner, campaign_status, create_campaign
    from lightcomp.lm80.results import campaign_data, export_rows, tm21_by_temperature
    from lightcomp.lm80.rig import open_lab

    store = _setup_store(pg_url)
    try:
        st, rig = _files()
        create_campaign(
            store, name="P1", family="LS0-COB-4000", samples=2, case_temps_c=[85.0],
            current_a=0.35, duration_h=6000.0, interval_h=1000.0, station=st, rig=rig,
            clock="simlab",
        )  # fmt: skip
        with open_lab(st, rig, simulated=True) as lab, CampaignRunner(store, "P1", lab) as cr:
            cr.run(until_done=True)
        assert campaign_status(store, "P1")[0]["status"] == "finished"
        data = campaign_data(store, "P1")
        assert len(export_rows(data)) == 2 * 7
        (r,) = tm21_by_temperature(data)
        assert (
            r["units"] == 2 and r["alpha"] > 0 and "no projection" in r["projection"]["L70"]["text"]
        )
    finally:
        store.dispose()


def test_family_lm80_record_names_its_source(campaign):
    from lightcomp.lm80.results import family_lm80_record, publish_to_registry

    store = campaign["store"]
    publish_to_registry(store, "T1", 55.0, rated_life_h=24000)
    with store.transaction() as s:
        rec = family_lm80_record(s, "LS0-COB-4000")
        other = family_lm80_record(s, "LM1-AC-3000")
        missing = family_lm80_record(s, "NOPE")
    lm = rec["lm80"]
    assert lm["source"] == "LM-80 campaign T1" and lm["case_temperature_c"] == 55.0
    assert lm["campaign"] == "T1" and "1 catastrophic failure(s) excluded" in lm["notes"]
    assert lm["units"] == 10  # the failed sample is not in the family's data
    assert lm["tm21"]["units"] == 10 and lm["tm21"]["projection"]["L70"]["text"].startswith(
        "L70(6k)"
    )
    assert lm["mean_normalised_flux"][0] == 1.0 and len(lm["hours"]) == 7
    assert missing is None and other["family"] == "LM1-AC-3000"


def test_wall_clock_campaign_measures_only_what_is_due(tmp_path):
    """Hardware clock: campaign hours are wall time since the start; an interval not yet
    due is reported and nothing is measured (the simulated instruments stand in)."""
    from datetime import timedelta

    from lightcomp.lm80.campaign import CampaignRunner, campaign_status, create_campaign
    from lightcomp.lm80.rig import open_lab

    store = _setup_store(f"sqlite:///{tmp_path / 'w.db'}")
    st, rig = _files()
    create_campaign(
        store, name="W1", family="LS0-COB-4000", samples=1, case_temps_c=[85.0],
        current_a=0.35, duration_h=6000.0, interval_h=100.0, station=st, rig=rig,
        clock="system",
    )  # fmt: skip
    with store.transaction() as s:
        from lightcomp.lm80.campaign import get_campaign

        t0 = get_campaign(s, "W1").started_at
    said: list[str] = []
    with open_lab(st, rig, simulated=True) as lab:
        # (the calibration, valid 30 days, must stay valid: short intervals here)
        for offset_h, expect in [(0.1, [0]), (50.0, []), (100.5, [1]), (101.0, [])]:
            now = t0 + timedelta(hours=offset_h)
            with CampaignRunner(store, "W1", lab, echo=said.append, now=lambda n=now: n) as cr:
                assert [d["index"] for d in cr.run(until_done=True)] == expect
    assert any("interval 1 (100 h) not due yet (campaign at 50.0 h)" in m for m in said)
    st_ = campaign_status(store, "W1")[0]
    assert st_["intervals_done"] == 2 and st_["next_due_h"] == 200.0
