"""Fixtures data for the API tests: two manufacturers, lots in every publication state.

``build_world(store)`` writes, per manufacturer (``ACME`` = "own" for the
manufacturer key, ``BETA`` = "other"), one lot in each state -- unpublished,
published, withdrawn -- plus one component without a lot, each component with a
current measurement and stored spectra; and one key per role plus a revoked
key. Manufacturers, families and product codes go through :mod:`lightcomp.coding`.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import numpy as np

from lightcomp.api.keys import create_api_key, revoke_api_key
from lightcomp.api.publication import publish_lot, withdraw_lot
from lightcomp.coding import issue_codes, register_family, register_manufacturer
from lightcomp.store import (
    Lot,
    Measurement,
    TestRun,
    encode_array,
)
from lightcomp.store.models import point_unmeasured_to_latest

STATES = ("unpublished", "published", "withdrawn", "nolot")
MAKERS = ("ACME", "BETA")
WAVELENGTHS = np.arange(380.0, 781.0, 5.0)
WITHDRAW_REASON = "flux below rating on re-test"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass
class World:
    """What build_world made: codes by (maker, state), lot names, keys by role."""

    codes: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    lots: dict[tuple[str, str], str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    spectra: dict[str, np.ndarray] = field(default_factory=dict)
    raw: dict[str, np.ndarray] = field(default_factory=dict)
    measured: dict[str, dict] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)


def spectrum_for(i: int) -> np.ndarray:
    """A smooth white-LED-like spectral flux (W/nm), different per component."""
    wl = WAVELENGTHS
    blue = np.exp(-0.5 * ((wl - 450.0) / 10.0) ** 2)
    phosphor = 1.6 * np.exp(-0.5 * ((wl - 580.0 + i) / 45.0) ** 2)
    return (blue + phosphor) * 1e-3 * (1.0 + 0.01 * i)


PLAN_FLUX_MIN = 790.0
"""The test plan's flux limit (lm): not the registry family's 720 lm."""


def build_world(store, *, per_lot: int = 2, columns: dict | None = None) -> World:
    """Write the test world into ``store``; return its codes and keys."""
    w = World()
    with store.transaction() as s:
        run = TestRun(
            run_uid=f"run-{uuid.uuid4().hex[:8]}",
            station="st-1",
            plan_name="level1",
            plan_version="1.2",
            started_at=T0,
            status="completed",
        )
        s.add(run)
        s.flush()
        for maker in MAKERS:
            mfr = register_manufacturer(s, f"{maker} Lighting")
            fam = register_family(
                s,
                mfr,
                f"{maker}-E27",
                level=1,
                category="SM",
                input_class="CC-DC",
                nominal_cct_k=3000,
                cri_class=80,
                nominal_flux_lm=800.0,
                rated={"luminous_flux_lm": 800.0, "power_w": 8.0},
                limits={"luminous_flux_lm": {"min": 720.0, "max": 880.0}},
                spec_version="CSA-2024",
            )
            s.flush()
            for state in STATES:
                lot = None
                if state != "nolot":
                    lot = Lot(name=f"{maker}-{state}", family_id=fam.id, received_at=T0)
                    s.add(lot)
                    s.flush()
                    w.lots[(maker, state)] = lot.name
                comps = issue_codes(s, fam, per_lot, lot=lot)
                s.flush()
                codes = []
                for j, c in enumerate(comps):
                    i = len(w.spectra)
                    verdict = "fail" if j == 1 else "pass"
                    spd = spectrum_for(i)
                    raw = np.round(spd * 4e7)
                    q = {
                        "luminous_flux_lm": 800.0 + i,
                        "efficacy_lmw": 100.0 + i / 10,
                        "cct_k": 2950.0 + 10 * i,
                        "duv": 0.001,
                        "ra": 82.0 + i / 4,
                        "r9": 12.0,
                        "rf": 84.0,
                        "rg": 99.0,
                        "power_w": 8.0,
                        "power_factor": 0.95,
                        "thd_current": 0.12,
                    }
                    c.status = verdict
                    c.photometric_code = "830/349"
                    s.add(
                        Measurement(
                            component_id=c.id,
                            test_run_id=run.id,
                            measured_at=T0,
                            verdict=verdict,
                            quantities=q,
                            # the plan's limits (stricter than the registry's 720-880 lm)
                            verdicts={
                                "flux": {
                                    "quantity": "luminous_flux",
                                    "value": q["luminous_flux_lm"],
                                    "min": PLAN_FLUX_MIN,
                                    "max": None,
                                    "unit": "lm",
                                    "pass": True,
                                },
                                "ra": {
                                    "quantity": "ra",
                                    "value": q["ra"],
                                    "min": 83.0,
                                    "max": None,
                                    "unit": "",
                                    "pass": verdict == "pass",
                                },
                            },
                            failed_limits=[] if verdict == "pass" else ["ra"],
                            wavelengths=encode_array(WAVELENGTHS),
                            spectrum=encode_array(spd),
                            raw_spectrum=encode_array(raw),
                            photometric_code="830/349",
                            **q,
                            **(columns or {}),
                        )
                    )
                    w.spectra[c.product_code] = spd
                    w.raw[c.product_code] = raw
                    w.measured[c.product_code] = q
                    w.verdicts[c.product_code] = verdict
                    codes.append(c.product_code)
                w.codes[(maker, state)] = codes
        s.flush()
        point_unmeasured_to_latest(s)  # each component's one measurement is its current one
        for maker in MAKERS:
            publish_lot(s, f"{maker}-published", actor="test", now=T0)
            publish_lot(s, f"{maker}-withdrawn", actor="test", now=T0)
            withdraw_lot(s, f"{maker}-withdrawn", WITHDRAW_REASON, actor="test", now=T0)
        for role, mfr in (("lab", None), ("manufacturer", "ACME Lighting"), ("member", None)):
            _, key = create_api_key(s, role, manufacturer=mfr, name=f"test {role}")
            w.keys[role] = key
        p, key = create_api_key(s, "member", name="revoked member")
        s.flush()
        revoke_api_key(s, p.key_prefix, actor="test")
        w.keys["revoked"] = key
    return w


# -- module-scoped databases (the conftest fixtures are per test) -------------


def fresh_pg_url() -> tuple[str, str, str] | None:
    """(url with search_path, schema, base) of a new schema, or None without a PG server."""
    base = os.environ.get("LIGHTCOMP_TEST_PG")
    if not base:
        return None
    import sqlalchemy as sa

    schema = "t_" + uuid.uuid4().hex[:12]
    eng = sa.create_engine(base)
    with eng.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    eng.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", schema, base


def drop_pg_schema(base: str, schema: str) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(base)
    with eng.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    eng.dispose()
