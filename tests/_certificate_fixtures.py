"""AC and DC measurements stored through the station's own path, for certificate tests.

A component of a :func:`_report_fixtures.fill_lot` lot is re-tested the way the
station does it: a test run with the plan's snapshot (``station/plans/*.toml``),
:func:`lightcomp.station.evaluate.evaluate` on a pc-LED spectrum and an
electrical reading, :func:`lightcomp.station.run_records.store_result` with the
identities of every instrument the station opened (the source meter too, as a
real AC station opens it to switch the mains relay).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from _report_fixtures import pc_led_spectra
from sqlalchemy import select

from lightcomp.drivers.base import ElectricalReading
from lightcomp.jsonvalues import json_safe
from lightcomp.station.evaluate import evaluate
from lightcomp.station.plan import load_plan
from lightcomp.station.run_records import store_result
from lightcomp.store import Component, TestRun

PLANS = Path(__file__).resolve().parents[1] / "station" / "plans"

#: What a station opens (every role, whatever the plan drives).
IDENTITIES = {
    "source": "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C30",
    "power_analyzer": "YOKOGAWA,WT310E,C2LK12345,F1.03",
    "spectro": "KONICA MINOLTA,CS-2000,20001234,1.20",
    "thermo": "LSCI,MODEL218S,LSA1234,1.5",
    "fixture": "SIMLAB,SIM-FIXTURE,0,1.0",
}

#: A 230 V / 50 Hz driver's input current harmonics, % of the fundamental (orders 1..40).
HARMONICS_PCT = np.zeros(40)
HARMONICS_PCT[[0, 2, 4, 6, 8, 10, 12]] = [100.0, 24.0, 8.5, 4.2, 2.1, 1.4, 1.1]
HARMONICS_PCT[14:39:2] = 0.6


def ac_reading(power_w: float = 18.0, pf: float = 0.95) -> ElectricalReading:
    """A power analyser's reading of an AC module (harmonics 1..40 in A rms)."""
    i_rms = power_w / (230.0 * pf)
    pct = HARMONICS_PCT / 100.0
    i1 = i_rms / np.sqrt(np.sum(pct**2))
    thd = float(np.sqrt(np.sum(pct[1:] ** 2)))
    return ElectricalReading(
        voltage_v=230.02,
        current_a=i_rms,
        power_w=power_w,
        power_factor=pf,
        frequency_hz=50.0,
        apparent_power_va=230.02 * i_rms,
        reactive_power_var=None,
        thd_current=thd,
        harmonics_a=tuple(float(x) for x in i1 * pct),
    )


def dc_reading() -> ElectricalReading:
    """A source meter's reading of a DC-driven board (no frequency, PF or harmonics)."""
    return ElectricalReading(voltage_v=35.81, current_a=0.35, power_w=0.35 * 35.81)


def retest(store, code: str, plan_file: str, elec: ElectricalReading, *, flux: float) -> None:
    """Measure component ``code`` again under ``plan_file`` and store it as the station does."""
    plan = load_plan(PLANS / plan_file)
    nominal = float(plan.raw.get("limits", {}).get("ansi_quadrangle", 4000))
    spec = pc_led_spectra(np.array([nominal]), np.array([0.001]), np.array([628.0]), flux)[0]
    now = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    with store.transaction() as s:
        comp = s.scalars(select(Component).where(Component.product_code == code)).one()
        old = s.scalars(select(TestRun).where(TestRun.lot_id == comp.lot_id)).first()
        run = TestRun(
            run_uid=f"RUN-{plan.name}-{comp.id}",
            lot_id=comp.lot_id,
            station="S1",
            plan_name=plan.name,
            plan_version=plan.version,
            plan=json_safe(plan.snapshot()),
            operator="wang",
            started_at=now - timedelta(hours=1),
            status="completed",
            calibration_id=old.calibration_id,
            software_version="0.1.0",
            params=dict(old.params or {}),
        )
        s.add(run)
        s.flush()
        ids = (comp.id, run.id, old.calibration_id)
    history = [
        {"t_s": 0.0, "flux_lm": flux * 1.02, "power_w": elec.power_w},
        {"t_s": 900.0, "flux_lm": flux * 1.002, "power_w": elec.power_w},
        {"t_s": 1800.0, "flux_lm": flux, "power_w": elec.power_w},
    ]
    r = evaluate(plan, spec, elec, temperatures={"tc_c": 27.4, "ambient_c": 25.0}, history=history)
    store_result(store, ids[0], ids[1], ids[2], r, IDENTITIES, now)
