"""The station computes the GUM S1 Monte Carlo of every unit on the simulated lab and
stores U for every reported quantity, with the evaluation record and decision rule."""

from __future__ import annotations

import pytest
from _station_helpers import PLAN_DC, REPO, Lab, lot_rows

from lightcomp.uncertainty.model import UncertaintyModelError


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    path = tmp_path_factory.mktemp("mc-station")
    lab = Lab(path, f"sqlite:///{path / 'lightcomp.db'}")
    yield lab
    lab.close()


def _plan(tmp_path, extra: str):
    p = tmp_path / "plan.toml"
    p.write_text(PLAN_DC.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return p


def _model(tmp_path):
    m = tmp_path / "model.toml"
    text = (REPO / "station" / "uncertainty" / "sim.toml").read_text(encoding="utf-8")
    text = (
        text.replace("trials = 10000", "trials = 2000")
        .replace("max_trials = 100000", "max_trials = 4000")
        .replace("budget_trials = 2000", "budget_trials = 300")
    )
    m.write_text(text, encoding="utf-8")
    return m


def test_batch_stores_u_for_every_reported_quantity(lab, tmp_path):
    from lightcomp.store.models import Measurement, UncertaintyEvaluation

    plan = _plan(
        tmp_path,
        f'[uncertainty]\nmodel = "{_model(tmp_path)}"\nrequired = true\n'
        'decision_rule = "guarded"\n',
    )
    messages: list[str] = []
    summary = lab.runner(plan, lot="LOT-U1", echo=messages.append).run(count=3)
    assert summary.measured == 3
    comps, meas = lot_rows(lab.store, "LOT-U1")
    assert len(meas) == 3
    with lab.store.session() as s:
        rows = s.query(Measurement).filter(Measurement.id.in_([m[0] for m in meas])).all()
        for m in rows:
            u = m.uncertainty
            for key in (
                "luminous_flux",
                "efficacy",
                "x",
                "y",
                "CCT",
                "Duv",
                "Ra",
                "R9",
                "Rf",
                "Rg",
                "voltage_v",
                "current_a",
                "power_w",
                "tc_c",
            ):
                assert u[key]["k"] == 2 and u[key]["U"] > 0, key
            # never below the standard lamp's own 1.0 % (k = 2)
            assert u["luminous_flux"]["U"] / m.luminous_flux_lm >= 0.010
            ev = s.query(UncertaintyEvaluation).filter_by(measurement_id=m.id).one()
            assert ev.decision_rule == "guarded" and ev.trials >= 2000
            assert ev.budget["standard_lamp"]["luminous_flux"] > 0
            for name, v in m.verdicts.items():
                if name != "ansi_quadrangle":
                    assert v["rule"] == "guarded"
            if m.verdict == "pass":  # guarded: every limit held by at least U
                flux = m.verdicts["flux"]
                assert flux["value"] - flux["min"] >= flux["U"]
    assert any(msg.startswith("uncertainty: 3 component(s)") for msg in messages)

    # records export: U_<column> (k = 2, same unit) derived from the catalogue
    from lightcomp.reports.export import records_frame

    with lab.store.session() as s:
        frame = records_frame(s, lot="LOT-U1")
    for col in ("U_luminous_flux_lm", "U_x", "U_cct_k", "U_duv", "U_ra", "U_rf", "U_power_w"):
        assert (frame[col] > 0).all(), col
    ratio = frame["U_luminous_flux_lm"] / frame["luminous_flux_lm"]
    assert (ratio >= 0.010).all()

    # API: U beside each value
    from lightcomp.api.queries import component_row
    from lightcomp.api.records import record

    with lab.store.session() as s:
        row = component_row(s, comps[0][1])
        rec = record(row, full=False, lab_name="lab")
    assert rec["quantities"]["luminous_flux_lm"]["U"] > 0
    assert rec["quantities"]["cct_k"]["U"] > 0

    # lot report: typical U per quantity
    from lightcomp.reports.lot_report import build_lot_report, render

    with lab.store.session() as s:
        html = render(build_lot_report(s, lot="LOT-U1"), "html").decode()
    assert "typical U (k = 2)" in html


def _replace_calibration(lab, uncertainty) -> object:
    """Supersede the station's valid calibration by a copy with ``uncertainty``
    (calibrations are append-only); returns the old one's uncertainty."""
    from sqlalchemy import update

    from lightcomp.store.models import Calibration

    with lab.store.transaction() as s:
        cur = s.query(Calibration).filter(Calibration.status == "valid").one()
        cols = {
            c.key: getattr(cur, c.key)
            for c in Calibration.__table__.columns
            if c.key not in ("id", "calib_id", "status")
        }
        old = cols["uncertainty"]
        s.execute(update(Calibration).where(Calibration.id == cur.id).values(status="superseded"))
        cols["uncertainty"] = uncertainty
        s.add(Calibration(calib_id=f"{cur.calib_id}-b{cur.id}", status="valid", **cols))
    return old


def test_required_u_without_calibration_uncertainty_is_refused(lab, tmp_path):
    from sqlalchemy import func, select

    from lightcomp.store.models import TestRun

    with lab.store.session() as s:
        runs_before = s.scalar(select(func.count()).select_from(TestRun))
    saved = _replace_calibration(lab, None)
    try:
        # required is the default: the shipped plan, with no [uncertainty] section, too
        for name, plan in (("LOT-U2", _plan(tmp_path, "[uncertainty]\nrequired = true\n")),
                           ("LOT-U2B", PLAN_DC)):  # fmt: skip
            with pytest.raises(UncertaintyModelError, match="requires U"):
                lab.runner(plan, lot=name).run(count=1)
            assert lot_rows(lab.store, name) == ([], [])
        # ... refused before the store was touched: no test run, no lot, no lock
        from sqlalchemy import func, select

        from lightcomp.store.models import Lot, TestRun

        with lab.store.session() as s:
            assert s.scalar(select(func.count()).select_from(TestRun)) == runs_before
            assert not s.scalars(select(Lot).where(Lot.name.in_(["LOT-U2", "LOT-U2B"]))).all()
    finally:
        _replace_calibration(lab, saved)


def test_not_required_without_calibration_uncertainty_says_so(lab, tmp_path):
    """A plan with required = false runs on a calibration without uncertainty data,
    says that no U will be reported, and stores none (the certificate then states that
    no uncertainty is given, rather than a silent "–")."""
    from lightcomp.store.models import Measurement

    saved = _replace_calibration(lab, None)
    messages: list[str] = []
    try:
        plan = _plan(tmp_path, "[uncertainty]\nrequired = false\n")
        lab.runner(plan, lot="LOT-U4", echo=messages.append).run(count=1)
    finally:
        _replace_calibration(lab, saved)
    assert any("no U will be reported" in msg for msg in messages), messages
    _comps, meas = lot_rows(lab.store, "LOT-U4")
    with lab.store.session() as s:
        m = s.get(Measurement, meas[0][0])
        assert m.verdict in ("pass", "fail") and not m.uncertainty


def test_plan_without_section_reports_u_with_the_default_model(lab):
    """The shipped demo plan has no [uncertainty] section: every unit still gets the
    full Monte Carlo (default model, the station's meters) — U for every quantity, and
    flux U never below the standard lamp's own 1.0 % (k = 2)."""
    from lightcomp.store.models import Measurement, UncertaintyEvaluation

    messages: list[str] = []
    lab.runner(PLAN_DC, lot="LOT-U5", echo=messages.append).run(count=1)
    # the simulated clock: the quick trial counts, and the batch says so
    assert any("not the plan's (simulated clock): M = 2000" in msg for msg in messages)
    _comps, meas = lot_rows(lab.store, "LOT-U5")
    with lab.store.session() as s:
        m = s.get(Measurement, meas[0][0])
        for key in ("luminous_flux", "x", "y", "CCT", "Duv", "Ra", "R9", "Rf", "Rg",
                    "efficacy", "voltage_v", "current_a", "power_w", "tc_c",
                    "sdcm_steps"):  # fmt: skip
            assert m.uncertainty[key]["U"] > 0, key
        # the MacAdam steps' U comes from the same trials through the judging rule: a few
        # 0.1 steps, and the 95 % interval holds the stored value
        st = m.uncertainty["sdcm_steps"]
        assert 0.01 < st["U"] < 2.0
        assert st["low"] <= m.sdcm_steps <= st["high"]
        assert m.uncertainty["luminous_flux"]["U"] / m.luminous_flux_lm >= 0.010
        ev = s.query(UncertaintyEvaluation).filter_by(measurement_id=m.id).one()
        assert ev.model == "default (DC)" and ev.decision_rule == "simple"
        assert 2000 <= ev.trials <= 4000


def test_certificate_states_u_budget_and_plan_rule(lab, tmp_path):
    from lightcomp.reports.certificate import issue_certificate

    plan = _plan(
        tmp_path,
        f'[uncertainty]\nmodel = "{_model(tmp_path)}"\ndecision_rule = "guarded"\n',
    )
    lab.runner(plan, lot="LOT-U3").run(count=1)
    comps, _meas = lot_rows(lab.store, "LOT-U3")
    code = comps[0][1]
    out = tmp_path / "cert.html"
    issue_certificate(lab.store, code, out, authorised_by="Test Lead")
    html = out.read_text(encoding="utf-8")
    assert "Annex A. Uncertainty budget" in html and "JCGM 101:2008" in html
    assert "Guarded acceptance" in html  # the plan's rule, not the default
    assert "standard lamp (certificate)" in html
    # every photometric/colorimetric result with a value carries a U (the rows of the
    # results section, labelled from the catalogue; a DC plan's voltage is "(DC)")
    # the measured conditions too (the probe's U from the same Monte Carlo)
    tc_row = html.split("Case temperature", 1)[1].split("</tr>", 1)[0]
    assert "(U = " in tc_row and "k = 2)" in tc_row, tc_row
    results = html.split("Results</h2>", 1)[1]
    for label in (
        "Luminous flux",
        "Chromaticity x",
        "Correlated colour temperature",
        "Duv (Ohno 2013)",
        "Fidelity index Rf",
        "Voltage (DC)",
        "MacAdam steps from nominal centre",
    ):
        row = results.split(f'<td class="l">{label}', 1)[1].split("</tr>", 1)[0]
        assert "(k = 2)" in row, label


def test_ac_plan_gets_the_mains_model_and_u_of_the_power_factor(lab):
    """The AC plan (no [uncertainty] section): the default AC model, the power
    analyser's mains figures, U of the power factor propagated from V, I and P."""
    from _station_helpers import PLAN_AC

    from lightcomp.store.models import Measurement, UncertaintyEvaluation

    lab.runner(PLAN_AC, lot="LOT-U6").run(count=1)
    _comps, meas = lot_rows(lab.store, "LOT-U6")
    with lab.store.session() as s:
        m = s.get(Measurement, meas[0][0])
        assert m.verdict != "error", m.error_message
        for key in ("luminous_flux", "x", "CCT", "Ra", "voltage_v", "current_a", "power_w"):
            assert m.uncertainty[key]["U"] > 0, key
        assert 0 < m.uncertainty["power_factor"]["U"] < 0.05
        ev = s.query(UncertaintyEvaluation).filter_by(measurement_id=m.id).one()
        assert ev.model == "default (AC)"
        assert ev.budget["electrical"]["power_factor"] > 0
