"""Raw data over the API: a station's reading and dark on the instrument's own pixels."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import sqlalchemy as sa
from _station_helpers import Lab
from fastapi.testclient import TestClient

from lightcomp.api import create_app
from lightcomp.api.keys import create_api_key
from lightcomp.store import Measurement, decode_array
from lightcomp.store.models import current_measurement_clause


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("apiraw")
    lab = Lab(tmp, f"sqlite:///{tmp / 'lightcomp.db'}", spectro="array-spectrometer")
    lab.runner(lot="LOT-RAW").run(count=1)
    with lab.store.transaction() as s:
        m = s.scalars(sa.select(Measurement).where(current_measurement_clause())).one()
        code = m.component.product_code
        raw, dark = decode_array(m.raw_spectrum), decode_array(m.dark_spectrum)
        _, key = create_api_key(s, "lab", name="t")
    yield lab, code, raw, dark, key
    lab.close()


def test_raw_reading_on_the_instrument_pixels(measured):
    lab, code, raw, dark, key = measured
    assert raw.shape == (2, 1024) and dark.shape == (1024,)  # array spectrometer
    with TestClient(create_app(lab.store)) as client:
        r = client.get(
            f"/components/{code}/spectrum",
            params={"data": "raw"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == ["instrument_wavelength_nm", "raw_signal", "dark_signal"]
    got = np.array([[float(x[k]) for k in rows[0]] for x in rows]).T
    np.testing.assert_array_equal(got[0], raw[0])  # pixel wavelengths, not the 1 nm grid
    np.testing.assert_array_equal(got[1], raw[1])
    np.testing.assert_array_equal(got[2], dark)


def test_raw_is_csv_only(measured):
    lab, code, _, _, key = measured
    with TestClient(create_app(lab.store)) as client:
        r = client.get(
            f"/components/{code}/spectrum",
            params={"data": "raw", "format": "tm27"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert r.status_code == 422


def test_raw_says_the_dark_is_stored(measured):
    lab, code, _, _, key = measured
    with TestClient(create_app(lab.store)) as client:
        r = client.get(
            f"/components/{code}/spectrum",
            params={"data": "raw"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert r.headers["X-Dark-Reading"] == "stored"


@pytest.fixture(scope="module")
def no_dark(tmp_path_factory):
    """The simulated CS-2000 (dark-corrected readings) with the usual plan, and with a plan
    that takes no dark reading."""
    from _station_helpers import PLAN_DC

    tmp = tmp_path_factory.mktemp("apiraw-nodark")
    plan = tmp / "no-dark.toml"
    plan.write_text(PLAN_DC.read_text().replace("dark = true", "dark = false"))
    assert plan.read_text() != PLAN_DC.read_text()
    lab = Lab(tmp, f"sqlite:///{tmp / 'lightcomp.db'}")
    lab.runner(lot="LOT-CS").run(count=1)
    lab.runner(plan, lot="LOT-NODARK").run(count=1)
    codes = {}
    with lab.store.transaction() as s:
        for m in s.scalars(sa.select(Measurement).where(current_measurement_clause())):
            assert m.dark_spectrum is None
            codes[m.component.lot.name] = m.component.product_code
        _, key = create_api_key(s, "lab", name="t")
    yield lab, codes, key
    lab.close()


@pytest.mark.parametrize(
    ("lot", "why"),
    [
        ("LOT-CS", "the spectrometer (CS-2000) returns readings with its own dark signal"),
        ("LOT-NODARK", "the test plan takes no dark reading ([measurement] dark = false)"),
    ],
)
def test_raw_without_a_dark_reading_keeps_the_column_and_says_why(no_dark, lot, why):
    """The documented dark column is always there: empty cells (not a missing column) when
    the measurement has no separate dark reading, and the header names the reason."""
    lab, codes, key = no_dark
    with TestClient(create_app(lab.store)) as client:
        r = client.get(
            f"/components/{codes[lot]}/spectrum",
            params={"data": "raw"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == ["instrument_wavelength_nm", "raw_signal", "dark_signal"]
    assert all(row["dark_signal"] == "" and float(row["raw_signal"]) >= 0 for row in rows)
    assert r.headers["X-Dark-Reading"].startswith(f"none: {why}")
