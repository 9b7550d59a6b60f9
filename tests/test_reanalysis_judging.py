"""Re-analysis judges a stored unit as the station did: the plan's limits, its
``[modulation.limits]`` on the stored VLC results, and its decision rule with the
measurement's U carried to the re-analysed values (pure: one chunk, no store)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lightcomp.reanalysis.compute import Chunk, reanalyse_chunk
from lightcomp.station.plan import load_plan
from lightcomp.uncertainty.station import (
    NOT_REPORTED,
    carried_uncertainty,
    carry_reference,
    stored_uncertainty,
)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_reanalyze import WL, spectra  # noqa: E402

READINGS = {"power_w": 30.0, "voltage_v": 36.0, "current_a": 0.83, "tc_c": 25.0}
VLC_OK = {
    "modulation_bandwidth_mhz": 4.0,
    "modulation_bandwidth_blue_mhz": 20.0,
    "rise_time_ns": 90.0,
    "fall_time_ns": 100.0,
}


def _chunk(plan_snapshot: dict, stored: list[dict], uncertainty: list[dict] | None = None):
    n = len(stored)
    return Chunk(
        ids=np.arange(101, 101 + n),
        wavelengths=WL,
        spectra=spectra(n),
        power_w=np.array([q.get("power_w", np.nan) for q in stored], dtype=float),
        stored=stored,
        plan_keys=[1] * n,
        plans={1: plan_snapshot},
        uncertainty=uncertainty or [],
    )


def _flux(n: int) -> np.ndarray:
    snap = load_plan(REPO / "station" / "plans" / "LS0-COB-4000.toml").snapshot()
    return np.array(
        [r.quantities["luminous_flux"] for r in reanalyse_chunk(_chunk(snap, [READINGS] * n))]
    )


def test_modulation_limits_are_judged_again_on_the_stored_results():
    snap = load_plan(REPO / "station" / "plans" / "LS0-COB-4000-VLC.toml").snapshot()
    slow = {**READINGS, **VLC_OK, "modulation_bandwidth_mhz": 1.5}  # below 2.0 MHz
    missing = {**READINGS, **VLC_OK, "rise_time_ns": None}
    out = reanalyse_chunk(_chunk(snap, [{**READINGS, **VLC_OK}, slow, missing]))
    ok, low, gap = out
    # (these synthetic spectra fail the spectral limits: what matters is what is added)
    assert "bandwidth_min_mhz" not in ok.failed_limits and ok.verdict == "fail"
    assert ok.verdicts["bandwidth_min_mhz"]["pass"] is True
    assert "bandwidth_min_mhz" in low.failed_limits
    assert low.verdicts["bandwidth_min_mhz"]["value"] == 1.5
    assert gap.verdict == "error"
    assert gap.error_message == "no valid measured value for limit(s) rise_time_max_ns"


@pytest.mark.parametrize("rule, verdict", [("simple", "pass"), ("guarded", "fail")])
def test_the_plans_decision_rule_uses_the_carried_u(rule, verdict):
    flux = _flux(1)[0]
    snap = load_plan(REPO / "station" / "plans" / "LS0-COB-4000.toml").snapshot()
    snap = {**snap, "limits": {"flux_min": flux - 10.0}, "uncertainty": {"decision_rule": rule}}
    stored_u = {"luminous_flux": {"U": 20.0, "k": 2, "u": 10.0, "low": 0.0, "high": 1.0}}
    old = {**READINGS, "luminous_flux": flux - 4.0}
    (res,) = reanalyse_chunk(_chunk(snap, [old], [stored_u]))
    assert res.verdict == verdict
    v = res.verdicts["flux"]
    assert v["rule"] == rule and v["U"] == 20.0
    if rule == "guarded":
        assert res.failed_limits == ["flux"] and v["guard_band"] == 20.0
    # The new row stores no copy of the U, only which measurement's Monte Carlo they are;
    # read back, the U is the stored one, its interval moved with the value (+4 lm).
    assert res.uncertainty == {"carried_from": 101}
    u = stored_uncertainty(res.uncertainty, res.quantities, stored_u, old)["luminous_flux"]
    assert (u["U"], u["u"], u["carried_from"]) == (20.0, 10.0, 101)
    assert u["low"] == pytest.approx(4.0) and u["high"] == pytest.approx(5.0)


def test_a_reanalysis_of_a_reanalysis_carries_from_the_measurement_of_the_monte_carlo():
    flux = _flux(1)[0]
    snap = load_plan(REPO / "station" / "plans" / "LS0-COB-4000.toml").snapshot()
    snap = {
        **snap,
        "limits": {"flux_min": flux - 10.0},
        "uncertainty": {"decision_rule": "guarded"},
    }
    mc_u = {"luminous_flux": {"U": 20.0, "k": 2, "u": 10.0, "low": 0.0, "high": 1.0}}
    mc_values = {**READINGS, "luminous_flux": flux - 4.0}
    # row 101 is a re-analysis (values flux - 1) of measurement 7, which holds the arrays
    chunk = _chunk(snap, [{**READINGS, "luminous_flux": flux - 1.0}], [mc_u])
    chunk.source_ids, chunk.source_quantities = [7], [mc_values]
    (res,) = reanalyse_chunk(chunk)
    assert res.uncertainty == {"carried_from": 7}
    # guarded with U = 20 lm from measurement 7: flux - 10 is within U of the value
    assert res.verdict == "fail" and res.verdicts["flux"]["guard_band"] == 20.0
    u = stored_uncertainty(res.uncertainty, res.quantities, mc_u, mc_values)["luminous_flux"]
    assert u["low"] == pytest.approx(4.0) and u["carried_from"] == 7


def test_stored_uncertainty_reads_a_reference_and_leaves_stored_u_as_it_is():
    full = {"CCT": {"U": 30.0, "low": 3950.0, "high": 4010.0}}
    assert stored_uncertainty(full) == full  # a measurement's own U
    assert carry_reference(full, 5) == {"carried_from": 5}
    assert carry_reference({}, 5) == {}  # nothing to carry: no reference either
    ref = carry_reference(full, 5)
    out = stored_uncertainty(ref, {"CCT": 3990.0}, full, {"CCT": 3980.0})
    assert out == {"CCT": {"U": 30.0, "low": 3960.0, "high": 4020.0, "carried_from": 5}}
    # an older re-analysis row that stored the carried copy is read as stored
    assert stored_uncertainty(out) == out


def test_without_stored_u_no_rule_is_applied():
    flux = _flux(1)[0]
    snap = load_plan(REPO / "station" / "plans" / "LS0-COB-4000.toml").snapshot()
    snap = {**snap, "limits": {"flux_min": flux - 1.0}, "uncertainty": {"decision_rule": "guarded"}}
    (res,) = reanalyse_chunk(_chunk(snap, [READINGS]))
    assert res.verdict == "pass" and "rule" not in res.verdicts["flux"]
    assert res.uncertainty == {}


def test_carried_uncertainty_keeps_what_was_evaluated_and_nothing_else():
    note = {"quantities": ["rise_time_ns"], "reason": "Monte Carlo failed (x)"}
    stored = {
        "CCT": {"U": 30.0, "low": 3950.0, "high": 4010.0, "carried_from": 7},
        "Ra": {"U": 0.8, "low": 80.0, "high": 81.6},
        "R9": {"U": 2.0, "low": 1.0, "high": 5.0},
        "odd": 3.0,
        NOT_REPORTED: note,
    }
    old = {"CCT": 3980.0, "Ra": 80.8, "R9": 3.0}
    new = {"CCT": 3990.0, "Ra": 80.8, "R9": None, "Rf": 85.0}
    out = carried_uncertainty(stored, old, new, 42)
    assert set(out) == {"CCT", "Ra", NOT_REPORTED}  # R9 has no value now; Rf had no U
    assert out["CCT"]["low"] == 3960.0 and out["CCT"]["high"] == 4020.0
    assert out["CCT"]["carried_from"] == 7  # the first measurement's, through re-analyses
    assert out["Ra"]["carried_from"] == 42 and out["Ra"]["low"] == 80.0
    assert out[NOT_REPORTED] == note
    assert stored["CCT"]["low"] == 3950.0  # the stored JSON is not changed


def test_an_error_of_the_measurement_stays_one_of_the_analysis_is_judged_again():
    flux = _flux(5).min()
    snap = load_plan(REPO / "station" / "plans" / "LS0-COB-4000.toml").snapshot()
    snap = {**snap, "limits": {"flux_min": flux - 1.0}}
    kept = [
        "uncertainty: Monte Carlo failed (no usable trials)",  # a required U
        "not stable after 3600 s (flux varied 0.9 % > 0.5 %)",  # the stabilisation
    ]
    again = ["analysis: spectrum is all zeros", "no valid measured value for limit(s) tc"]
    chunk = _chunk(snap, [READINGS] * 5)
    chunk.errors = [*kept, *again, None]
    out = reanalyse_chunk(chunk)
    assert [(r.verdict, r.error_message) for r in out[:2]] == [("error", m) for m in kept]
    assert [r.verdict for r in out[2:]] == ["pass", "pass", "pass"]


def test_a_stored_lot_re_analysed_keeps_its_u_rule_and_certificate_says_whose(
    tmp_path, db_url, monkeypatch
):
    """End to end through the store: the station's U and decision rule survive a
    re-analysis (read, carried, written), and the certificate of a re-analysed unit names
    the measurement whose Monte Carlo its U are."""
    from _station_helpers import PLAN_DC, Lab
    from sqlalchemy import select

    from lightcomp.api import queries as api_queries
    from lightcomp.reanalysis.run import Selection, reanalyze
    from lightcomp.reports.certificate import issue_certificate
    from lightcomp.store import queries
    from lightcomp.store.models import Component, Measurement, current_measurement_id

    plan = tmp_path / "guarded.toml"
    plan.write_text(
        PLAN_DC.read_text(encoding="utf-8") + '\n[uncertainty]\ndecision_rule = "guarded"\n',
        encoding="utf-8",
    )
    from lightcomp.analysis.version import VERSIONS
    from lightcomp.station import run_records

    lab = Lab(tmp_path, db_url)
    try:
        # Measured by a station of the previous release (its rows on LC-2026.11).
        with monkeypatch.context() as mp:
            mp.setattr(run_records, "ANALYSIS_VERSION", VERSIONS["LC-2026.11"])
            assert lab.runner(plan, lot="LOT-U").run(count=2).measured == 2
        with lab.store.session() as s:
            station = {m.component_id: m for m in s.scalars(select(Measurement))}
        diff = reanalyze(lab.store, Selection(lot="LOT-U"))
        assert diff.written == 2
        with lab.store.session() as s:
            for comp, old in station.items():
                new = s.scalars(
                    select(Measurement).where(Measurement.id == current_measurement_id(comp))
                ).one()
                assert new.kind == "reanalysis" and new.supersedes_id == old.id
                # U has one home: the new row names the measurement whose Monte Carlo it is
                assert new.uncertainty == {"carried_from": old.id}
                # and every reader carries them to the new values: the certificate's
                # record, the lot's records (export, lot report) and the API's row
                code = s.scalars(select(Component.product_code).where(Component.id == comp)).one()
                record = queries.component_record(s, code)["measurement"]["uncertainty"]
                (lot_u,) = queries.lot_records(s, lot="LOT-U", include_uncertainty=True).loc[
                    lambda d, comp=comp: d["component_id"] == comp, "uncertainty"
                ]
                api_u = api_queries.row_uncertainty(api_queries.component_row(s, code))
                assert record == lot_u == api_u
                assert set(record) == set(old.uncertainty) > {"luminous_flux", "CCT"}
                for key, e in record.items():
                    assert e["U"] == old.uncertainty[key]["U"] and e["carried_from"] == old.id
                    assert e["low"] <= new.quantities[key] <= e["high"]
                    shift = new.quantities[key] - old.quantities[key]
                    assert e["low"] == pytest.approx(old.uncertainty[key]["low"] + shift)
                assert (new.verdict, new.failed_limits) == (old.verdict, old.failed_limits)
                assert new.verdicts["flux"]["rule"] == "guarded"
                assert new.verdicts["flux"]["U"] == old.uncertainty["luminous_flux"]["U"]
            code = s.scalars(select(Component.product_code).order_by(Component.id)).first()
            measured = min(m.measured_at for m in station.values()).date().isoformat()
        out = tmp_path / "c.html"
        issue_certificate(lab.store, code, out, fmt="html", authorised_by="Dr. Lin")
        html = out.read_text(encoding="utf-8")
        assert "Monte Carlo method (JCGM" in html
        assert f"re-analysis of the stored spectra of the measurement of {measured}" in html
        assert "(analysis version LC-2026.11)" in html
        assert "carried to the re-analysed values" in html
    finally:
        lab.close()
