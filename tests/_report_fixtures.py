"""A realistic synthetic lot written straight into a store (reports, records, certificate tests).

No station is involved: rows are bulk-inserted through the models, the way the
station would leave them (components, one test run, current measurements with
key columns, quantities/verdicts JSON, failed limits, stabilisation history,
spectra BLOBs). Units are a phosphor-converted white LED module (blue pump +
green-yellow and red phosphor Gaussians) with normal production spreads and a
few defects, so a lot of 200 yields roughly 93-97 %.

Used by tests/test_report*.py, tests/test_records*.py, tests/test_certificate*.py
and benchmarks/bench_reports.py (``with_spectra=False``, ``analysis=False`` for
100 000 components).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select

from lightcomp.station.run_records import measurement_columns
from lightcomp.store import (
    Calibration,
    Component,
    Family,
    Lot,
    Manufacturer,
    Measurement,
    TestRun,
    encode_array,
)
from lightcomp.store.models import point_unmeasured_to_latest

WL = np.arange(380.0, 781.0, 1.0)
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

# Plan limits as the station names them (lightcomp.station.plan.QUANTITIES short names).
LIMITS = {
    "flux": {"quantity": "luminous_flux", "unit": "lm", "min": 1080.0, "max": None},
    "efficacy": {"quantity": "efficacy", "unit": "lm/W", "min": 90.0, "max": None},
    "cct": {"quantity": "CCT", "unit": "K", "min": 3710.0, "max": 4260.0},
    "duv": {"quantity": "Duv", "unit": "", "min": -0.005, "max": 0.007},
    "ra": {"quantity": "Ra", "unit": "", "min": 80.0, "max": None},
    "r9": {"quantity": "R9", "unit": "", "min": 0.0, "max": None},
    "power": {"quantity": "power_w", "unit": "W", "min": None, "max": 13.0},
    "pf": {"quantity": "power_factor", "unit": "", "min": 0.90, "max": None},
}


@dataclass
class SyntheticLot:
    lot: str
    n: int
    codes: list[str]
    verdict: np.ndarray
    flux: np.ndarray
    run_id: int


def _gauss(peak: np.ndarray, fwhm: float) -> np.ndarray:
    s = fwhm / 2.3548200450309493
    b = np.exp(-0.5 * ((WL[None, :] - np.asarray(peak, float)[:, None]) / s) ** 2)
    return b / b.sum(axis=1, keepdims=True)


def pc_led_spectra(cct_k: np.ndarray, duv: np.ndarray, red_peak_nm: np.ndarray, flux_lm):
    """(N, 401) spectral flux (W/nm) with chromaticity (cct, duv) and luminous flux ``flux_lm``.

    Weights of the three bands solved per unit, vectorised: chromaticity
    constraints are linear in the weights, so the weight vector is the cross
    product of the two constraint rows.
    """
    from lightcomp.analysis.binning import cct_duv_to_xy
    from lightcomp.analysis.data import load_cmfs

    n = cct_k.size
    cmfs = load_cmfs("1931_2")  # (401, 3) at 1 nm
    bands = np.stack(
        [
            _gauss(np.full(n, 451.0), 20.0),
            _gauss(np.full(n, 548.0), 110.0),
            _gauss(red_peak_nm, 80.0),
        ],
        axis=1,
    )  # (N, 3, W)
    xyz = bands @ cmfs  # (N, 3, 3)
    xy = cct_duv_to_xy(cct_k, duv)
    d = xy[:, 0] / xy[:, 1], (1 - xy[:, 0] - xy[:, 1]) / xy[:, 1]
    row_x = xyz[:, :, 0] - d[0][:, None] * xyz[:, :, 1]
    row_z = xyz[:, :, 2] - d[1][:, None] * xyz[:, :, 1]
    w = np.cross(row_x, row_z)
    w *= np.sign(w.sum(axis=1, keepdims=True))
    spec = np.einsum("nk,nkw->nw", w, bands)
    lm = 683.002 * spec @ cmfs[:, 1]
    return spec * (np.asarray(flux_lm, float) / lm)[:, None]


def fill_lot(
    store,
    *,
    lot: str = "LOT-A",
    n: int = 200,
    seed: int = 1,
    start: datetime = T0,
    with_spectra: bool = True,
    analysis: bool = True,
    manufacturer: str = "Bright Photonics Co.",
    family: str = "LM1-AC-4000",
    n_untested: int = 0,
) -> SyntheticLot:
    """Write a measured lot of ``n`` components into ``store``; returns what was written.

    ``analysis=True`` computes Ra/R1..R15 from the spectra with the analysis
    core (consistent certificates); ``False`` draws them (fast, for benchmarks).
    """
    rng = np.random.default_rng(seed)
    with store.transaction() as s:
        man = s.scalars(select(Manufacturer).where(Manufacturer.name == manufacturer)).first()
        if man is None:
            n_man = s.scalar(select(func.count()).select_from(Manufacturer)) or 0
            man = Manufacturer(
                registry_id=f"M{42 + n_man:04d}",
                name=manufacturer,
                address="18 Keji Road, Foshan, Guangdong, China",
                country="CN",
            )
            s.add(man)
            s.flush()
        fam = s.scalars(select(Family).where(Family.name == family)).first()
        if fam is None:
            from lightcomp.coding import encode_type

            n_fam = s.scalar(select(func.count()).select_from(Family)) or 0
            fam = Family(
                manufacturer_id=man.id,
                name=family,
                level=1,
                category="EG",
                input_class="AC",
                nominal_cct_k=4000,
                cri_class=80,
                nominal_flux_lm=1200.0,
                model_seq=7 + n_fam,
                type_code=encode_type(
                    {
                        "level": 1,
                        "category": "EG",
                        "manufacturer": man.registry_id,
                        "nominal_cct_k": 4000,
                        "cri_class": 80,
                        "nominal_flux_lm": 1250,
                        "input_class": "AC",
                        "model_seq": 7 + n_fam,
                    }
                ),
                rated={"power_w": 12.0, "voltage_v": 230.0, "frequency_hz": 50.0},
                limits=LIMITS,
                spec_version="2026.1",
            )
            s.add(fam)
            s.flush()
        cal = s.scalars(select(Calibration).where(Calibration.calib_id == "CAL-S1-2026-02")).first()
        if cal is None:
            cal = Calibration(
                calib_id="CAL-S1-2026-02",
                station="S1",
                valid_from=start - timedelta(days=20),
                valid_until=start + timedelta(days=160),
                operator="lin",
                standard_lamp_id="SL-1103 (NIM certificate 2025-0417)",
                certificate_id="NIM-GX2025-0417",
                uncertainty=encode_array(np.full(WL.size, 0.018)),
            )
            s.add(cal)
            s.flush()
        lot_row = Lot(name=lot, family_id=fam.id, received_at=start - timedelta(days=3))
        s.add(lot_row)
        s.flush()
        run = TestRun(
            run_uid=f"RUN-{lot}-{seed}",
            lot_id=lot_row.id,
            station="S1",
            plan_name="lm79-module-ac",
            plan_version="1.2",
            operator="wang",
            started_at=start,
            ended_at=start + timedelta(seconds=60 * n),
            status="completed",
            calibration_id=cal.id,
            software_version="0.1.0",
            params={
                "lab": "Guangdong LED Component Test Centre",
                "lab_address": "88 Photonics Avenue, Guangzhou 510000, China",
                "method": "ANSI/IES LM-79-19; CIE S 025/E:2015",
                "ambient_c": 25.0,
            },
        )
        s.add(run)
        s.flush()
        base_id = (s.scalar(select(func.max(Component.id))) or 0) + 1
        base_serial = (s.scalar(select(func.max(Component.item_serial))) or 0) + 1
        base_mid = (s.scalar(select(func.max(Measurement.id))) or 0) + 1

        # --- production model (vectorised) -----------------------------------------
        lot_flux = 1 + 0.008 * rng.standard_normal()
        flux = 1200.0 * lot_flux * (1 + 0.022 * rng.standard_normal(n))
        cct = 3985.0 + 45.0 * rng.standard_normal(n)
        duv = 0.001 + 0.0011 * rng.standard_normal(n)
        red = 622.0 + 1.5 * rng.standard_normal(n)
        power = 12.0 * (1 + 0.012 * rng.standard_normal(n))
        pf = np.clip(0.94 + 0.008 * rng.standard_normal(n), 0, 1)
        u = rng.random(n)
        low_flux = u < 0.015
        colour = (u >= 0.015) & (u < 0.027)
        low_cri = (u >= 0.027) & (u < 0.035)
        high_p = (u >= 0.035) & (u < 0.043)
        error = ((u >= 0.043) & (u < 0.056)) | (np.arange(n) % 97 == 50)
        flux[low_flux] *= rng.uniform(0.8, 0.87, low_flux.sum())
        duv[colour] += rng.choice([-1, 1], colour.sum()) * rng.uniform(0.007, 0.011, colour.sum())
        red[low_cri] -= rng.uniform(26, 34, low_cri.sum())
        power[high_p] *= rng.uniform(1.10, 1.15, high_p.sum())
        from lightcomp.analysis.binning import ansi_c78377_bin, cct_duv_to_xy, macadam_steps

        xy = cct_duv_to_xy(cct, duv)
        spectra = pc_led_spectra(cct, duv, red, flux) if (with_spectra or analysis) else None
        if analysis:
            from lightcomp.analysis.cri import CRI_CIE13_3

            ra, ri = CRI_CIE13_3(WL, spectra)
        else:
            ra = 83.0 + 1.0 * rng.standard_normal(n) - 12.0 * low_cri
            ri = np.clip(ra[:, None] + 6 * rng.standard_normal((n, 15)), -50, 100)
            ri[:, 8] = 14 + 4 * rng.standard_normal(n) - 40 * low_cri
        rf = ra + 3.0 + 0.5 * rng.standard_normal(n)
        rg = 99.0 + 1.2 * rng.standard_normal(n)
        efficacy = flux / power
        ansi = ansi_c78377_bin(cct, duv, xy[:, 0], xy[:, 1])
        sdcm = macadam_steps(xy[:, 0], xy[:, 1], 0.3818, 0.3797, cct_k=4000.0)
        voltage = 230.0 + 0.3 * rng.standard_normal(n)
        current = power / (voltage * pf)
        tc = 55.0 + 2.0 * rng.standard_normal(n)
        den = -2 * xy[:, 0] + 12 * xy[:, 1] + 3  # CIE 1976 u', v' from x, y
        uv = np.column_stack([4 * xy[:, 0] / den, 9 * xy[:, 1] / den])
        radiant = spectra.sum(axis=1) if spectra is not None else flux / 320.0
        values = {
            "flux": flux,
            "efficacy": efficacy,
            "duv": duv,
            "cct": cct,
            "ra": ra,
            "r9": ri[:, 8],
            "power": power,
            "pf": pf,
        }
        passes = {}
        for name, lim in LIMITS.items():
            v = values[name]
            ok = np.ones(n, bool)
            if lim["min"] is not None:
                ok &= v >= lim["min"]
            if lim["max"] is not None:
                ok &= v <= lim["max"]
            passes[name] = ok
        passes["ansi_quadrangle"] = ansi["in_quadrangle"] & (ansi["nominal_cct_k"] == 4000)
        all_ok = np.all(np.stack(list(passes.values())), axis=0)
        verdict = np.where(error, "error", np.where(all_ok, "pass", "fail"))
        measured_at = [start + timedelta(seconds=60 * i) for i in range(n)]
        from lightcomp.coding import make_code

        all_codes = [make_code(fam.type_code, base_serial + i) for i in range(n + n_untested)]
        codes = all_codes[:n]
        status = verdict

        comps = [
            {
                "id": base_id + i,
                "product_code": all_codes[i],
                "item_serial": base_serial + i,
                "family_id": fam.id,
                "lot_id": lot_row.id,
                "external_serial": f"BP-{i:05d}",
                "status": str(status[i]) if i < n else "issued",
                "created_at": start,
            }
            for i in range(n + n_untested)
        ]
        s.execute(insert(Component), comps)

        wl_blob = encode_array(WL) if with_spectra else None
        meas = []
        for i in range(n):
            v = str(verdict[i])
            if v == "error":
                meas.append(
                    {
                        "id": base_mid + i,
                        "component_id": base_id + i,
                        "family_id": fam.id,
                        "test_run_id": run.id,
                        "calibration_id": cal.id,
                        "measured_at": measured_at[i],
                        "verdict": "error",
                        "error_message": "spectroradiometer saturated (integration 2 ms)",
                        "failed_limits": [],
                        "verdicts": {},
                        "quantities": {},
                    }
                )
                continue
            q = {
                "luminous_flux": float(flux[i]),
                "efficacy": float(efficacy[i]),
                "CCT": float(cct[i]),
                "Duv": float(duv[i]),
                "x": float(xy[i, 0]),
                "y": float(xy[i, 1]),
                "Ra": float(ra[i]),
                "Rf": float(rf[i]),
                "Rg": float(rg[i]),
                "power_w": float(power[i]),
                "power_factor": float(pf[i]),
                "voltage_v": float(voltage[i]),
                "current_a": float(current[i]),
                "u_prime": float(uv[i, 0]),
                "v_prime": float(uv[i, 1]),
                "radiant_flux": float(radiant[i]),
                "LER": float(flux[i] / radiant[i]),
                "peak_wavelength": 451.0,
                "fwhm": 20.0,
                "dominant_wavelength": 580.0,
                "thd_current": 0.12,
                "tc_c": float(tc[i]),
                "ambient_c": 25.0,
                "ansi_category": str(ansi["sub_bin"][i] or ansi["nominal_cct_k"][i]),
                "ansi_inside": bool(passes["ansi_quadrangle"][i]),
                "sdcm_steps": float(sdcm[i]),
                "photometric_code": f"{int(min(ra[i], 99) // 10)}40/{int(np.ceil(sdcm[i]))}--",
                **{f"R{k + 1}": float(ri[i, k]) for k in range(15)},
            }
            verd = {}
            for name, lim in LIMITS.items():
                verd[name] = {
                    **lim,
                    "value": float(values[name][i]),
                    "pass": bool(passes[name][i]),
                }
            verd["ansi_quadrangle"] = {
                "quantity": "ansi_category",
                "value": str(ansi["sub_bin"][i] or ansi["nominal_cct_k"][i]),
                "expected": "4000",
                "pass": bool(passes["ansi_quadrangle"][i]),
            }
            failed = [k for k in passes if not passes[k][i]]
            meas.append(
                {
                    "id": base_mid + i,
                    "component_id": base_id + i,
                    "family_id": fam.id,
                    "test_run_id": run.id,
                    "calibration_id": cal.id,
                    "measured_at": measured_at[i],
                    "verdict": v,
                    "error_message": None,
                    "failed_limits": failed,
                    "verdicts": verd,
                    "quantities": q,
                    # key columns exactly as the station writes them (from the catalogue)
                    **measurement_columns(q),
                    "wavelengths": wl_blob,
                    "spectrum": encode_array(spectra[i]) if with_spectra else None,
                    "electrical": {"voltage_v": float(voltage[i]), "frequency_hz": 50.0},
                    "temperatures": {"ambient_c": 25.0, "tc_c": float(tc[i])},
                    "stabilisation": [
                        {"t_s": 0.0, "flux_lm": float(flux[i]) * 1.02, "power_w": float(power[i])},
                        {
                            "t_s": 900.0,
                            "flux_lm": float(flux[i]) * 1.002,
                            "power_w": float(power[i]),
                        },
                        {"t_s": 1800.0, "flux_lm": float(flux[i]), "power_w": float(power[i])},
                    ],
                    "instruments": {
                        "spectroradiometer": "SIMLAB,SPR-3000,SN1001,1.0",
                        "power_meter": "YOKOGAWA,WT310E,SN77,2.01",
                    },
                    "uncertainty": {
                        "luminous_flux": {"U": 0.03 * float(flux[i]), "k": 2},
                        "CCT": {"U": 20.0, "k": 2},
                    },
                }
            )
        s.execute(insert(Measurement), meas)
        point_unmeasured_to_latest(s)  # each component's one measurement is its current one
    return SyntheticLot(lot, n, codes, verdict, flux, run.id)
