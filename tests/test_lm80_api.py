"""API: a family's published LM-80/TM-21 results (``GET /families/{family}/lm80``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from lightcomp.analysis.lumen_maintenance import tm21_projection

ROOT = Path(__file__).resolve().parents[1]
HOURS = [0.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0]


@pytest.fixture
def client_and_key(store):
    from sqlalchemy import select

    from lightcomp.api import create_app
    from lightcomp.api.keys import create_api_key
    from lightcomp.coding import import_registry
    from lightcomp.store.models import Family

    with store.transaction() as s:
        import_registry(s, ROOT / "station" / "registry" / "demo.toml")
        fam = s.scalar(select(Family).where(Family.name == "LS0-COB-4000"))
        t = np.array(HOURS)
        rates = np.linspace(4e-6, 8e-6, 12)[:, None]
        fam.lm80 = {
            "source": "LM-80 campaign C7",
            "case_temperature_c": 85.0,
            "drive_current_a": 0.35,
            "hours": HOURS,
            "flux": (1000.0 * np.exp(-rates * t)).tolist(),
            "rated_life_h": 24000.0,
        }
        _p, key = create_api_key(s, "member", name="member")
    with TestClient(create_app(store, auth_cache_s=0)) as client:
        yield client, key


def test_family_lm80_record_with_its_tm21_projection(client_and_key):
    client, key = client_and_key
    r = client.get("/families/LS0-COB-4000/lm80", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    body = r.json()
    lm = body["lm80"]
    assert lm["source"] == "LM-80 campaign C7" and lm["campaign"] == "C7"
    assert lm["units"] == 12 and lm["hours"] == HOURS
    rates = np.linspace(4e-6, 8e-6, 12)[:, None]
    proj = tm21_projection(np.array(HOURS), 1000.0 * np.exp(-rates * np.array(HOURS)))
    assert lm["tm21"]["alpha"] == pytest.approx(float(proj["alpha"][0]), rel=1e-12)
    assert lm["tm21"]["projection"]["L70"]["text"] == str(proj["L70"]["text"][0])
    assert lm["tm21"]["fit_window_h"] == [1000.0, 6000.0]


def test_family_lm80_unknown_family_and_no_data_and_no_key(client_and_key):
    client, key = client_and_key
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/families/NOPE/lm80", headers=auth).status_code == 404
    r = client.get("/families/LM1-AC-3000/lm80", headers=auth)
    assert r.status_code == 200 and r.json()["family"] == "LM1-AC-3000"
    assert client.get("/families/LS0-COB-4000/lm80").status_code == 401
