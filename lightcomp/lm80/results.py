"""LM-80 results from the stored readings: table, TM-21-11 projections, chromaticity shift.

* Export (one row per sample per interval): sample code, case temperature,
  drive current, hours, luminous flux, flux normalised to the sample's 0 h
  reading, u', v', Delta u'v' from the 0 h point (CIE 1976 UCS distance), and
  the failure flag.
* TM-21-11 per case temperature with :func:`lightcomp.analysis.lumen_maintenance.tm21_projection`:
  units normalised at 0 h and averaged, ln fit on the TM-21 window, Lp with the
  6x (>= 20 units) / 5.5x (10-19 units) limits and TM-21's wording.
  Catastrophically failed units are excluded from the average and from the
  unit count, and reported with the hours between which they failed (IES
  TM-21-11 section 5 *verify*: failed units are not part of the projection;
  IES LM-80-20 requires failures to be reported).
* In-situ case temperature Ts: TM-21's Arrhenius interpolation between the two
  tested case temperatures that bracket Ts (the lower unit count and shorter
  duration of the two set the limit).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import select

from lightcomp import quantities as catalogue
from lightcomp.analysis.lumen_maintenance import (
    TM21_MIN_DURATION_H,
    tm21_in_situ,
    tm21_lifetime,
    tm21_projection,
)
from lightcomp.errors import AnalysisInputError, ReportError
from lightcomp.lm80.campaign import get_campaign, interval_hours, sample_size_note

#: How a campaign names itself as the source of a family's registry LM-80 data.
CAMPAIGN_SOURCE = "LM-80 campaign "


def _export(name: str) -> str:
    """Export column of a catalogued quantity (one home for names and units)."""
    return catalogue.export_column(catalogue.lookup(name))


EXPORT_COLUMNS = (
    "sample_code",
    "case_temperature_c",  # the LM-80 condition Ts (the registry's LM-80 key)
    "drive_current_ma",
    "hours",
    _export("luminous_flux"),  # luminous_flux_lm
    _export("normalised_flux"),
    _export("u_prime"),
    _export("v_prime"),
    _export("delta_u_v_prime"),
    "failed",
)


def campaign_data(store, name: str) -> dict[str, Any]:
    """Everything stored about a campaign, as arrays over (sample, completed interval)."""
    from lightcomp.store.models import (
        Component,
        Lm80Event,
        Lm80Interval,
        Lm80Reading,
        Lm80Sample,
    )

    with store.transaction() as s:
        c = get_campaign(s, name)
        info = {
            "campaign": c.name,
            "family": c.family.name,
            "family_type_code": c.family.type_code,
            "manufacturer": c.family.manufacturer.name,
            "status": c.status,
            "station": c.station,
            "rig": c.rig,
            "case_temps_c": [float(t) for t in c.case_temps_c],
            "current_a": c.current_a,
            "duration_h": c.duration_h,
            "interval_h": c.interval_h,
            "planned_hours": interval_hours(c.duration_h, c.interval_h),
            "started_at": c.started_at,
            "ended_at": c.ended_at,
            "end_reason": c.end_reason,
            "operator": c.operator,
        }
        samples = s.execute(
            select(Lm80Sample, Component.product_code)
            .join(Component, Component.id == Lm80Sample.component_id)
            .where(Lm80Sample.campaign_id == c.id)
            .order_by(Lm80Sample.channel)
        ).all()
        intervals = s.execute(
            select(Lm80Interval.interval_index, Lm80Interval.hours, Lm80Interval.chamber_temps_c)
            .where(Lm80Interval.campaign_id == c.id)
            .order_by(Lm80Interval.interval_index)
        ).all()
        readings = s.execute(
            select(
                Lm80Reading.sample_id,
                Lm80Reading.interval_index,
                Lm80Reading.luminous_flux_lm,
                Lm80Reading.u_prime,
                Lm80Reading.v_prime,
                Lm80Reading.failed,
                Lm80Reading.error_message,
                Lm80Reading.case_temp_c,
            ).where(Lm80Reading.campaign_id == c.id)
        ).all()
        events = s.execute(
            select(
                Lm80Event.sample_id,
                Lm80Event.kind,
                Lm80Event.event_key,
                Lm80Event.start_h,
                Lm80Event.duration_h,
                Lm80Event.details,
            )
            .where(Lm80Event.campaign_id == c.id)
            .order_by(Lm80Event.id)
        ).all()
    # only the leading run of completed intervals (0, 1, 2 ...) forms the data set
    idx = []
    for i, (ii, _h, _t) in enumerate(intervals):
        if ii != i:
            break
        idx.append(i)
    hours = np.array([intervals[i][1] for i in idx], dtype=float)
    sid = {smp.id: j for j, (smp, _code) in enumerate(samples)}
    n_s, n_t = len(samples), len(idx)
    shape = (n_s, n_t)
    flux, u, v, tc = (np.full(shape, np.nan) for _ in range(4))
    failed = np.zeros(shape, dtype=bool)
    error = np.zeros(shape, dtype=bool)
    present = np.zeros(shape, dtype=bool)
    for r in readings:
        j, k = sid.get(r.sample_id), r.interval_index
        if j is None or k >= n_t:
            continue
        present[j, k] = True
        flux[j, k] = np.nan if r.luminous_flux_lm is None else r.luminous_flux_lm
        u[j, k] = np.nan if r.u_prime is None else r.u_prime
        v[j, k] = np.nan if r.v_prime is None else r.v_prime
        tc[j, k] = np.nan if r.case_temp_c is None else r.case_temp_c
        failed[j, k] = bool(r.failed)
        error[j, k] = bool(r.error_message) and not r.failed
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = flux / flux[:, :1] if n_t else flux
        duv = np.hypot(u - u[:, :1], v - v[:, :1]) if n_t else u
    sample_rows = [
        {
            "id": smp.id,
            "code": code,
            "case_temp_c": smp.case_temp_c,
            "chamber": smp.chamber,
            "channel": smp.channel,
            "position": smp.position,
        }
        for smp, code in samples
    ]
    ev = [
        {
            "sample": samples[sid[e.sample_id]][1] if e.sample_id in sid else None,
            "case_temp_c": samples[sid[e.sample_id]][0].case_temp_c if e.sample_id in sid else None,
            "kind": e.kind,
            "key": e.event_key,
            "start_h": e.start_h,
            "duration_h": e.duration_h,
            "details": e.details,
        }
        for e in events
    ]
    return {
        **info,
        "samples": sample_rows,
        "hours": hours,
        "flux": flux,
        "normalised": norm,
        "u": u,
        "v": v,
        "delta_uv": duv,
        "tc": tc,
        "failed": failed,
        "error": error,
        "present": present,
        "events": ev,
        "chamber_temps": [intervals[i][2] for i in idx],
    }


def export_rows(data: dict) -> list[dict]:
    """One row per sample per completed interval (columns :data:`EXPORT_COLUMNS`)."""
    rows = []
    for j, smp in enumerate(data["samples"]):
        for k, h in enumerate(data["hours"]):
            if not data["present"][j, k]:
                continue

            def val(a, j=j, k=k):
                x = a[j, k]
                return None if not np.isfinite(x) else float(x)

            values = (
                smp["code"],
                smp["case_temp_c"],
                data["current_a"] * 1000.0,  # A -> mA
                float(h),
                val(data["flux"]),
                val(data["normalised"]),
                val(data["u"]),
                val(data["v"]),
                val(data["delta_uv"]),
                bool(data["failed"][j, k]),
            )
            rows.append(dict(zip(EXPORT_COLUMNS, values, strict=True)))
    return rows


def _failure_list(data: dict, rows: np.ndarray) -> list[dict]:
    out = []
    for j in np.flatnonzero(rows):
        k = int(np.argmax(data["failed"][j]))
        h = data["hours"]
        out.append(
            {
                "sample": data["samples"][j]["code"],
                "after_h": float(h[k - 1]) if k > 0 else 0.0,
                "by_h": float(h[k]),
            }
        )
    return out


def tm21_by_temperature(data: dict, percents: tuple[float, ...] = (70.0, 90.0)) -> list[dict]:
    """TM-21-11 projection per case temperature (one dict each)."""
    hours = data["hours"]
    temps = np.array([s["case_temp_c"] for s in data["samples"]])
    out = []
    for t in data["case_temps_c"]:
        rows = temps == t
        failed = data["failed"][rows].any(axis=1) if hours.size else np.zeros(rows.sum(), bool)
        complete = (
            np.isfinite(data["flux"][rows]).all(axis=1) & (data["flux"][rows] > 0).all(axis=1)
            if hours.size
            else np.zeros(rows.sum(), bool)
        )
        use = complete & ~failed
        res: dict[str, Any] = {
            "case_temp_c": float(t),
            "units_tested": int(rows.sum()),
            "units": int(use.sum()),
            "failures": _failure_list(
                {
                    **data,
                    "samples": [s for s, r in zip(data["samples"], rows, strict=True) if r],
                    "failed": data["failed"][rows],
                },
                failed,
            ),
            "incomplete": int((~complete & ~failed).sum()),
            "test_duration_h": float(hours[-1]) if hours.size else 0.0,
            "hours": hours.tolist(),
            "mean_normalised": (
                np.nanmean(data["normalised"][rows][use], axis=0).tolist() if use.any() else []
            ),
            "note": sample_size_note(int(use.sum())),
        }
        duv = data["delta_uv"][rows][use] if use.any() else np.empty((0, hours.size))
        res["delta_uv_mean"] = duv.mean(axis=0).tolist() if duv.size else []
        res["delta_uv_max"] = duv.max(axis=0).tolist() if duv.size else []
        if res["test_duration_h"] < TM21_MIN_DURATION_H or use.sum() == 0:
            res["projection"] = None
            res["reason"] = (
                f"TM-21 needs >= {TM21_MIN_DURATION_H:.0f} h of LM-80 data "
                f"(have {res['test_duration_h']:g} h)"
                if use.sum()
                else "no complete unit"
            )
            out.append(res)
            continue
        proj = tm21_projection(hours, data["flux"][rows][use], percents)
        res["fit_window_h"] = [float(proj["window_start_h"]), float(proj["test_duration_h"])]
        res["n_points"] = int(proj["n_points"])
        res["alpha"] = float(proj["alpha"][0])
        res["b"] = float(proj["b"][0])
        res["projection"] = {}
        for p in percents:
            lp = proj[f"L{p:g}"]
            res["projection"][f"L{p:g}"] = {
                "calculated_h": float(lp["calculated_h"][0]),
                "reported_h": None
                if not np.isfinite(lp["reported_h"][0])
                else float(lp["reported_h"][0]),
                "limit_h": None if not np.isfinite(lp["limit_h"]) else float(lp["limit_h"]),
                "capped": bool(lp["capped"][0]),
                "text": str(lp["text"][0]),
            }
        out.append(res)
    return out


def tm21_in_situ_result(
    by_temp: list[dict], ts_c: float, percents: tuple[float, ...] = (70.0, 90.0)
) -> dict:
    """TM-21 in-situ projection at case temperature ``ts_c`` from the bracketing results."""
    ok = sorted((r for r in by_temp if r.get("projection")), key=lambda r: r["case_temp_c"])
    if not math.isfinite(ts_c):
        raise AnalysisInputError(f"--ts must be a temperature in degC, got {ts_c!r}")
    exact = [r for r in ok if abs(r["case_temp_c"] - ts_c) < 1e-9]
    if exact:
        r = exact[0]
        return {
            "ts_c": ts_c,
            "from_c": [r["case_temp_c"]],
            "alpha": r["alpha"],
            "b": r["b"],
            "projection": r["projection"],
            "units": r["units"],
            "test_duration_h": r["test_duration_h"],
        }
    lo = [r for r in ok if r["case_temp_c"] < ts_c]
    hi = [r for r in ok if r["case_temp_c"] > ts_c]
    if not lo or not hi:
        have = ", ".join(f"{r['case_temp_c']:g}" for r in ok) or "none"
        raise AnalysisInputError(
            f"--ts {ts_c:g} degC is not between two projected case temperatures ({have} degC): "
            "TM-21 interpolates, never extrapolates"
        )
    r1, r2 = lo[-1], hi[0]
    if r1["alpha"] <= 0 or r2["alpha"] <= 0:
        raise AnalysisInputError(
            f"no decay (alpha <= 0) at {r1['case_temp_c']:g} or {r2['case_temp_c']:g} degC: "
            "TM-21 cannot interpolate"
        )
    a_s, b_s = tm21_in_situ(
        r1["alpha"], r1["b"], r1["case_temp_c"], r2["alpha"], r2["b"], r2["case_temp_c"], ts_c
    )
    units = min(r1["units"], r2["units"])
    dur = min(r1["test_duration_h"], r2["test_duration_h"])
    proj = {}
    for p in percents:
        lp = tm21_lifetime(np.atleast_1d(a_s), np.atleast_1d(b_s), dur, units, p)
        proj[f"L{p:g}"] = {
            "calculated_h": float(lp["calculated_h"][0]),
            "reported_h": None
            if not np.isfinite(lp["reported_h"][0])
            else float(lp["reported_h"][0]),
            "limit_h": None if not np.isfinite(lp["limit_h"]) else float(lp["limit_h"]),
            "capped": bool(lp["capped"][0]),
            "text": str(lp["text"][0]),
        }
    return {
        "ts_c": ts_c,
        "from_c": [r1["case_temp_c"], r2["case_temp_c"]],
        "alpha": float(np.asarray(a_s).ravel()[0]),
        "b": float(np.asarray(b_s).ravel()[0]),
        "units": units,
        "test_duration_h": dur,
        "projection": proj,
    }


def publish_to_registry(
    store,
    name: str,
    case_temp_c: float,
    *,
    rated_life_h: float | None = None,
    actor: str | None = None,
) -> dict:
    """Make a finished campaign the family's LM-80 data in the registry (the IEC 62717
    maintained digits of every component measured afterwards come from it).

    ``families.lm80`` gets the surviving units' flux at ``case_temp_c`` with
    ``source`` naming the campaign; the previous value is kept in the audit trail.
    """
    from lightcomp.coding.registry import check_lm80
    from lightcomp.store.models import AuditEvent, Family, Lm80Campaign

    data = campaign_data(store, name)
    if data["status"] != "finished":
        raise ReportError(
            f"campaign {name!r} is {data['status']}: only a finished campaign can feed the registry"
        )
    results = {r["case_temp_c"]: r for r in tm21_by_temperature(data)}
    if case_temp_c not in results:
        raise ReportError(
            f"campaign {name!r} has no case temperature {case_temp_c:g} degC "
            f"(has {', '.join(f'{t:g}' for t in results)})"
        )
    res = results[case_temp_c]
    temps = np.array([s["case_temp_c"] for s in data["samples"]])
    rows = temps == case_temp_c
    use = ~data["failed"][rows].any(axis=1) & np.isfinite(data["flux"][rows]).all(axis=1)
    if not use.any():
        raise ReportError(f"campaign {name!r}: no complete unit at {case_temp_c:g} degC")
    with store.transaction() as s:
        camp = s.scalar(select(Lm80Campaign).where(Lm80Campaign.name == name))
        fam = s.get(Family, camp.family_id)
        previous = fam.lm80
        life = rated_life_h
        if life is None:
            life = (previous or {}).get("rated_life_h") or (fam.rated or {}).get("rated_life_h")
        if life is None:
            raise ReportError(
                f"family {fam.name!r} has no rated life: give --rated-life-h (IEC 62717 states "
                "maintenance at 25 % of it)"
            )
        # the registry's own rule for LM-80 data (keys, shapes, IEC 62717 usable)
        value = check_lm80(
            {
                "source": f"{CAMPAIGN_SOURCE}{name}",
                "case_temperature_c": float(case_temp_c),
                "drive_current_a": float(data["current_a"]),
                "hours": data["hours"].tolist(),
                "flux": data["flux"][rows][use].tolist(),
                "rated_life_h": float(life),
                "notes": (
                    f"{int(use.sum())} of {int(rows.sum())} units; "
                    f"{len(res['failures'])} catastrophic failure(s) excluded (TM-21-11)"
                ),
            },
            fam.name,
        )
        fam.lm80 = value
        s.add(
            AuditEvent(
                actor=actor,
                kind="lm80-registry",
                subject=fam.name,
                details={"campaign": name, "case_temp_c": case_temp_c, "previous": previous},
            )
        )
    return value


def family_lm80_record(session, family: str) -> dict | None:
    """A family's published LM-80/TM-21 results (its registry LM-80 data), or None.

    ``family``: name or type code. The record names its source (a campaign, or
    data imported with the registry), the case temperature and drive current,
    the reading times with the mean normalised flux of the units, and the TM-21
    result (units, fit window, alpha, B, L70/L90 as TM-21 words them).
    """
    from lightcomp.coding.registry import find_family
    from lightcomp.errors import CodeError

    try:
        fam = find_family(session, family)
    except CodeError:
        return None
    lm = fam.lm80 or None
    out: dict[str, Any] = {
        "family": fam.name,
        "type_code": fam.type_code,
        "manufacturer": fam.manufacturer.name,
        "lm80": None,
    }
    if not lm:
        return out
    hours = np.asarray(lm.get("hours", []), dtype=float)
    flux = np.asarray(lm.get("flux", []), dtype=float)
    mean = None
    if flux.ndim == 2 and flux.shape[1] == hours.size and hours.size and np.all(flux[:, :1] > 0):
        mean = (flux / flux[:, :1]).mean(axis=0).tolist()
    tm = None
    if mean is not None and hours.size and hours[-1] >= TM21_MIN_DURATION_H:
        try:
            proj = tm21_projection(hours, flux, (70.0, 90.0))
            tm = {
                "units": int(proj["n_units"]),
                "fit_window_h": [float(proj["window_start_h"]), float(proj["test_duration_h"])],
                "alpha": float(proj["alpha"][0]),
                "b": float(proj["b"][0]),
                "projection": {k: {"text": str(proj[k]["text"][0])} for k in ("L70", "L90")},
            }
        except AnalysisInputError:
            tm = None
    source = str(lm.get("source") or "registry import")
    out["lm80"] = {
        "source": source,
        "campaign": source[len(CAMPAIGN_SOURCE) :] if source.startswith(CAMPAIGN_SOURCE) else None,
        "case_temperature_c": lm.get("case_temperature_c"),
        "drive_current_a": lm.get("drive_current_a"),
        "units": int(flux.shape[0]) if flux.ndim == 2 else None,
        "hours": hours.tolist(),
        "mean_normalised_flux": mean,
        "rated_life_h": lm.get("rated_life_h"),
        "notes": lm.get("notes"),
        "tm21": tm,
    }
    return out
