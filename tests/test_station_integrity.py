"""Records the alliance sees stay put: closed lots, retests that hit errors, one current
measurement per unit, instrument 'no data' never becoming a product failure."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from _station_helpers import Lab, lot_rows

from lightcomp.errors import CodeError, PlanError, StoreError


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("integrity")
    lab = Lab(tmp, f"sqlite:///{tmp / 'lightcomp.db'}")
    yield lab
    lab.close()


def test_published_and_withdrawn_lots_take_no_new_units_or_retests(lab):
    from lightcomp.api.publication import publish_lot, withdraw_lot
    from lightcomp.coding import issue_codes
    from lightcomp.coding.registry import find_family

    lab.runner(lot="LOT-PUB").run(count=2)
    with lab.store.transaction() as s:
        publish_lot(s, "LOT-PUB")
    before = lot_rows(lab.store, "LOT-PUB")
    with pytest.raises(PlanError, match="published on .* new lot"):
        lab.runner(lot="LOT-PUB").run(count=4)
    with pytest.raises(PlanError, match="published"):
        lab.runner(lot="LOT-PUB").run(count=2, retest=True)
    with pytest.raises(CodeError, match="published"), lab.store.transaction() as s:
        issue_codes(s, find_family(s, "LS0-COB-4000"), 1, lot="LOT-PUB")
    with lab.store.transaction() as s:
        withdraw_lot(s, "LOT-PUB", "test")
    with pytest.raises(PlanError, match="withdrawn"):
        lab.runner(lot="LOT-PUB").run(count=4)
    assert lot_rows(lab.store, "LOT-PUB") == before  # nothing changed


def test_publish_waits_for_a_running_batch(lab):
    from lightcomp.api.publication import publish_lot
    from lightcomp.store.models import Lot, TestRun

    lab.runner(lot="LOT-RUN").run(count=1)
    with lab.store.transaction() as s:
        lot_id = s.scalar(sa.select(Lot.id).where(Lot.name == "LOT-RUN"))
        s.add(
            TestRun(
                run_uid="killed-run", lot_id=lot_id, station="S", plan_name="p", status="running"
            )
        )
    with pytest.raises(StoreError, match="in progress"), lab.store.transaction() as s:
        publish_lot(s, "LOT-RUN")


def test_retest_hitting_an_instrument_error_keeps_the_valid_result(lab):
    lab.runner(lot="LOT-RE").run(count=1)
    (comp,), (first,) = lot_rows(lab.store, "LOT-RE")
    assert comp[2] in ("pass", "fail") and first[3] is True
    lab.simlab.inject("spectro", "saturated", 3)  # every attempt of the retest fails
    lab.runner(lot="LOT-RE").run(count=1, retest=True)
    (comp2,), meas = lot_rows(lab.store, "LOT-RE")
    assert comp2[2] == comp[2]  # status kept
    current = [m for m in meas if m[3]]
    assert [m[0] for m in current] == [first[0]]  # the valid measurement is still current
    assert meas[-1][2] == "error" and meas[-1][3] is False  # the error is history


def test_database_allows_one_current_measurement_per_component(lab):
    from lightcomp.store.models import CurrentMeasurement, Measurement

    lab.runner(lot="LOT-ONE").run(count=1)
    (comp,), _ = lot_rows(lab.store, "LOT-ONE")
    with pytest.raises(StoreError), lab.store.transaction() as s:
        m = Measurement(component_id=comp[0], verdict="pass")
        s.add(m)
        s.flush()
        s.add(CurrentMeasurement(component_id=comp[0], measurement_id=m.id))


def test_instrument_nan_is_rejected_not_a_number():
    from lightcomp.drivers.transport import parse_floats

    with pytest.raises(ValueError, match="not finite"):
        parse_floats("1.0,NAN", 2)
    vals = parse_floats("1.0,NAN", 2, allow_nan=True)  # WT series 'no data', mapped to None
    assert vals[0] == 1.0 and vals[1] != vals[1]


def test_a_limit_no_unit_can_meet_fails_every_unit(lab, tmp_path):
    from _station_helpers import PLAN_DC

    from lightcomp.store.models import Component, Lot, Measurement, current_measurement_clause

    text = PLAN_DC.read_text()
    assert "flux_min = 1080.0" in text
    strict = tmp_path / "strict.toml"
    strict.write_text(text.replace("flux_min = 1080.0", "flux_min = 5000.0"))
    lab.runner(plan_path=strict, lot="LOT-STRICT").run(count=3)
    with lab.store.transaction() as s:
        rows = s.execute(
            sa.select(
                Component.status,
                Measurement.verdict,
                Measurement.failed_limits,
                Measurement.verdicts,
            )
            .join(Measurement, Measurement.component_id == Component.id)
            .join(Lot)
            .where(Lot.name == "LOT-STRICT", current_measurement_clause())
        ).all()
    assert len(rows) == 3
    for status, verdict, failed, verdicts in rows:
        assert status == verdict == "fail"
        assert "flux" in failed and verdicts["flux"]["pass"] is False
        assert verdicts["flux"]["value"] < 5000.0 and verdicts["flux"]["min"] == 5000.0


def test_second_ctrl_c_during_the_commit_stores_and_reports_the_component(lab, monkeypatch):
    runner = lab.runner(lot="LOT-CC")
    original = runner._store

    def store_then_second_press(*args):
        # the second SIGINT arrives while the commit is in progress: it is deferred
        runner.interrupts._critical += 1
        runner.interrupts._pending_abandon = True
        runner.interrupts._critical -= 1
        original(*args)

    monkeypatch.setattr(runner, "_store", store_then_second_press)
    s = runner.run(count=3)
    # Every plan's Monte Carlo runs while the next unit is measured (issue 19): when the
    # first unit's commit is interrupted the second has been measured too, and a measured
    # unit is stored whatever stops the batch; the third is never started.
    assert (s.status, s.measured) == ("interrupted", 2)
    assert "stored first" in s.message
    comps, meas = lot_rows(lab.store, "LOT-CC")
    assert len(meas) == 2 and all(m[3] is True for m in meas)
    assert sorted(c[2] for c in comps).count("issued") == len(comps) - 2


def test_a_limit_without_a_measured_value_makes_an_error_not_a_fail(lab):
    """No thermocouple reading for the plan's Tc limit: a measurement problem."""
    import types

    import numpy as np

    from lightcomp.calibration import GRID_NM
    from lightcomp.drivers.base import ElectricalReading

    runner = lab.runner(lot="LOT-NODATA")
    runner.calibration = types.SimpleNamespace(uncertainty=None)
    g = np.exp(-0.5 * ((GRID_NM - 450) / 10) ** 2) + 1.6 * np.exp(
        -0.5 * ((GRID_NM - 580) / 60) ** 2
    )
    spectrum = g * 1200 / (683 * np.sum(g * np.interp(GRID_NM, [380, 555, 780], [0, 1, 0])))
    elec = ElectricalReading(voltage_v=36.0, current_a=0.35, power_w=12.6)
    with_tc = runner._evaluate(None, None, spectrum, elec, {"tc_c": 25.0}, [], 1.0)
    without_tc = runner._evaluate(None, None, spectrum, elec, {}, [], 1.0)
    assert with_tc.verdict in ("pass", "fail") and "tc" not in with_tc.failed_limits
    assert without_tc.verdict == "error"
    assert "tc" in without_tc.error_message
