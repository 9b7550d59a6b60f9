"""Station side of the Monte Carlo: plan section, inputs from a calibration, stored
form, ILAC-G8 decision rules, background worker."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_uncertainty import _led

from lightcomp.analysis import WL
from lightcomp.uncertainty import UncertaintyModel
from lightcomp.uncertainty.model import UncertaintyModelError
from lightcomp.uncertainty.station import (
    MCWorker,
    UncertaintyPlan,
    apply_decision_rule,
    component_inputs,
    plan_uncertainty,
    stored_form,
)

VERDICTS = {
    "flux_min": {
        "quantity": "luminous_flux",
        "value": 1100.0,
        "min": 1080.0,
        "max": None,
        "pass": True,
    },
    "ra_min": {"quantity": "Ra", "value": 85.0, "min": 80.0, "max": None, "pass": True},
    "power_max": {"quantity": "power_w", "value": 13.7, "min": None, "max": 13.6, "pass": False},
    "ansi_quadrangle": {
        "quantity": "ansi_category",
        "value": "4000",
        "expected": "4000",
        "pass": True,
    },
}
UNC = {
    "luminous_flux": {"U": 25.0, "k": 2},
    "Ra": {"U": 0.5, "k": 2},
    "power_w": {"U": 0.02, "k": 2},
}


def test_simple_acceptance_keeps_verdicts_and_names_u():
    v, failed = apply_decision_rule(VERDICTS, UNC, "simple")
    assert failed == ["power_max"]
    assert v["flux_min"]["U"] == 25.0 and v["flux_min"]["rule"] == "simple"


def test_guarded_acceptance_fails_inside_the_guard_band():
    v, failed = apply_decision_rule(VERDICTS, UNC, "guarded")
    # 1100 - 1080 = 20 < U = 25: not accepted; Ra 5 > 0.5: accepted
    assert failed == ["flux_min", "power_max"]
    assert v["flux_min"]["pass"] is False and v["flux_min"]["guard_band"] == 25.0
    assert v["ra_min"]["pass"] is True and v["ansi_quadrangle"]["pass"] is True
    assert VERDICTS["flux_min"]["pass"] is True  # input left alone


def test_plan_without_section_gets_the_default_model():
    """Every plan gets the Monte Carlo: no [uncertainty] section means the documented
    default model with the station's meters, U required, simple acceptance."""
    dc = plan_uncertainty(None, drive_mode="dc-current", drivers={"source": "e36312a"})
    assert dc.required and dc.decision_rule == "simple"
    assert dc.model.name == "default (DC)" and dc.model.voltage_meter == "e36312a"
    assert dc.model.power_meter is None and dc.model.electrical_mode == "dc"
    ac = plan_uncertainty({}, drive_mode="ac", drivers={"power_analyzer": "wt310e"})
    assert ac.model.electrical_mode == "ac" and ac.model.power_meter == "wt310e"
    # AC figures, not DC: WT310E at 45-66 Hz ±(0.1 % of reading + 0.05 % of range)
    assert ac.model.meter("power").range_gain == 0.0005
    assert dc.model.with_(power_meter="wt310e").meter("power").range_gain == 0.002
    # a meter without a data sheet is refused, not given a made-up accuracy
    with pytest.raises(UncertaintyModelError, match="no data-sheet figure.*'e36312a'"):
        plan_uncertainty(None, drive_mode="ac", drivers={"power_analyzer": "e36312a"})
    assert plan_uncertainty({"required": False}).required is False


def test_plan_section(tmp_path):
    p = plan_uncertainty(
        {
            "model": "station/uncertainty/sim.toml",
            "required": True,
            "decision_rule": "guarded",
            "trials": 4000,
        }
    )
    assert p.required and p.decision_rule == "guarded" and p.model.trials == 4000
    assert p.model.name == "sim-station-1"
    with pytest.raises(UncertaintyModelError, match="decision_rule"):
        plan_uncertainty({"decision_rule": "optimistic"})
    with pytest.raises(UncertaintyModelError, match="trials"):
        plan_uncertainty({"trials": 0})
    with pytest.raises(UncertaintyModelError, match="cannot read"):
        plan_uncertainty({"model": str(tmp_path / "missing.toml")})


def test_calibration_without_uncertainty_refused_when_required():
    with pytest.raises(UncertaintyModelError, match="requires U"):
        component_inputs(WL, _led(), calibration_u_rel_k2=None, required=True)
    with pytest.raises(UncertaintyModelError, match="requires U"):
        component_inputs(WL, _led(), calibration_u_rel_k2=np.zeros(WL.size), required=True)
    inp = component_inputs(
        WL,
        _led(),
        calibration_u_rel_k2=np.full(WL.size, 0.02),
        certificate={"total_flux_uncertainty_rel_k2": 0.01},
        wavelength_lines={"offset_nm": [0.05, -0.02, 0.03, 0.0, 0.01, -0.04, 0.02]},
        readings={
            "voltage_v": 36.0,
            "current_a": 0.35,
            "power_w": 12.6,
            "tc_c": 25.0,
            "frequency_hz": None,
        },
    )
    assert inp.lamp_total_u_rel_k2 == 0.01 and inp.wavelength_lines_nm.size == 7
    assert set(inp.readings) == {"voltage_v", "current_a", "power_w", "tc_c"}


def test_worker_runs_in_background_and_stored_form():
    plan = UncertaintyPlan(UncertaintyModel(trials=2000, adaptive=False, budget_trials=300))
    inp = component_inputs(
        WL,
        _led(),
        calibration_u_rel_k2=np.full(WL.size, 0.02),
        readings={"voltage_v": 36.0, "current_a": 0.35, "power_w": 12.6},
    )
    w = MCWorker(plan)
    fut = w.submit(inp)
    res = w.result(fut)
    w.close()
    assert w.done == 1 and w.busy_s > 0 and w.waited_s >= 0
    form = stored_form(res)
    for key in ("luminous_flux", "x", "CCT", "Duv", "Ra", "Rf", "efficacy", "voltage_v"):
        assert form[key]["k"] == 2 and form[key]["U"] == pytest.approx(2 * form[key]["u"])
        assert form[key]["low"] < res.stats[key].value < form[key]["high"]
    assert all(math.isfinite(e["U"]) for e in form.values())
    assert set(res.budget) >= {"standard_lamp", "electrical"}


def test_budget_rows_and_typical_u():
    from lightcomp.uncertainty.report import budget_rows, typical_u

    budget = {
        "standard_lamp": {"luminous_flux": 6.0, "x": 0.0003},
        "sphere": {"luminous_flux": 3.0},
        "electrical": {"luminous_flux": 0.0},
    }
    unc = {"luminous_flux": {"U": 13.5, "k": 2}, "x": {"U": 0.0007, "k": 2}}
    rows = budget_rows(budget, unc, ["luminous_flux", "x", "CCT"])
    assert rows[0][0] == "luminous_flux" and rows[0][1] == "14"
    assert rows[0][2] == "standard lamp (certificate) 80 %, sphere spatial non-uniformity 20 %"
    assert rows[1][2] == "standard lamp (certificate) 100 %" and len(rows) == 2
    # the group labels through the caller's translator (the certificate's language)
    zh = {"standard lamp (certificate)": "标准灯（证书）", "sphere spatial non-uniformity": "球"}
    rows = budget_rows(budget, unc, ["luminous_flux"], group_label=zh.__getitem__)
    assert rows[0][2] == "标准灯（证书） 80 %, 球 20 %"
    t = typical_u(
        [unc, {"luminous_flux": {"U": 12.0}}, None, {"luminous_flux": {"U": 20.0}}],
        ["luminous_flux", "x", "CCT"],
    )
    assert t == {"luminous_flux": 13.5, "x": 0.0007}


@pytest.mark.parametrize(
    "old, new, words",
    [
        ("u_nm = 0.1", "u_nm = -0.1", "negative"),
        ("u_nm = 0.1", 'u_nm = ""', "missing"),
        ("noise_rel = 0.002", "nois_rel = 0.002", "unknown input 'nois_rel'"),
        ("voltage_current_correlation = 0.0", "voltage_current_correlation = 1.5", "outside"),
    ],
)
def test_station_check_checks_the_plans_model_file(tmp_path, capsys, old, new, words):
    """`lightcomp station check PLAN` reads the plan's [uncertainty] model file as the
    station would and names the plan's line and the model file's line."""
    from _station_helpers import PLAN_DC, REPO

    from lightcomp.cli import main

    text = (REPO / "station" / "uncertainty" / "sim.toml").read_text(encoding="utf-8")
    assert old in text
    model = tmp_path / "model.toml"
    model.write_text(text.replace(old, new, 1), encoding="utf-8")
    bad_line = text.splitlines().index(next(ln for ln in text.splitlines() if old in ln)) + 1
    plan = tmp_path / "plan.toml"
    plan_text = PLAN_DC.read_text(encoding="utf-8") + f'\n[uncertainty]\nmodel = "{model}"\n'
    plan.write_text(plan_text, encoding="utf-8")
    plan_line = plan_text.splitlines().index(f'model = "{model}"') + 1
    capsys.readouterr()
    rc = main(["station", "check", str(plan), str(PLAN_DC)])
    err = capsys.readouterr().err
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, err
    assert f"{plan}:{plan_line}: {model}:{bad_line}:" in lines[0] and words in lines[0]
    assert "1 of 2 file(s) have errors" in err
