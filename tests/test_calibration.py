"""Calibration: processing steps, standard-lamp round trip on the simulated lab, validity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from _station_helpers import LAMP, Lab

from lightcomp import calibration as cal
from lightcomp.drivers.base import SpectralReading
from lightcomp.errors import CalibrationError, InstrumentError
from lightcomp.station.calibrate import DarkCache


def _reading(wl, values, t=0.1, unit="counts", saturated=False):
    return SpectralReading(np.asarray(wl, float), np.asarray(values, float), t, unit, saturated)


# -- pure steps ---------------------------------------------------------------------------
def test_certificate_reads_the_published_lamp():
    cert = cal.load_certificate(LAMP)
    assert cert.certificate_id == "SIM-CERT-2026-001" and cert.lamp_id == "SIM-STD-001"
    flux, unc = cert.on_grid()
    assert flux.shape == unc.shape == cal.GRID_NM.shape
    # the certificate's spectral data integrate to its stated total flux (1500 lm)
    import colour

    sd = colour.SpectralDistribution(dict(zip(cal.GRID_NM, flux, strict=True)))
    assert colour.luminous_flux(sd) == pytest.approx(1500.0, rel=1e-3)
    assert float(cal.luminous_flux_lm(flux)) == pytest.approx(colour.luminous_flux(sd), rel=1e-4)


def test_responsivity_dark_rate_resampling_round_trip():
    """A synthetic array instrument with known responsivity and dark: calibrating with one
    spectrum and applying to another recovers the second exactly (up to interpolation)."""
    pix = 340.0 + 0.45 * np.arange(1024)
    true_resp = 2e6 * np.exp(-(((pix - 600.0) / 250.0) ** 2))  # counts/s per W/nm
    dark_counts = 1000.0 + 80.0 * np.sin(pix / 7.0)
    t = 0.2
    std = 1e-3 + 4e-5 * (pix - 340.0)  # W/nm, smooth
    dut = 0.02 * np.exp(-(((pix - 550.0) / 60.0) ** 2)) + 0.01 * np.exp(-(((pix - 450) / 10) ** 2))
    lamp_r = _reading(pix, std * true_resp * t + dark_counts, t)
    dark_r = _reading(pix, dark_counts, t)
    std_grid = np.interp(cal.GRID_NM, pix, std)
    resp = cal.spectral_responsivity(cal.reading_signal(lamp_r, dark_r), std_grid)
    assert resp == pytest.approx(np.interp(cal.GRID_NM, pix, true_resp), rel=2e-3)
    # a DUT read with another integration time, with its own dark (fixed offset + rate)
    t2 = 0.05
    dark2 = dark_counts + 50.0 * t2
    dut_r = _reading(pix, dut * true_resp * t2 + dark2, t2)
    got = cal.apply_calibration(cal.reading_signal(dut_r, _reading(pix, dark2, t2)), resp, 1.0)
    want = np.interp(cal.GRID_NM, pix, dut)
    assert np.max(np.abs(got - want)) < 2e-3 * want.max()
    with pytest.raises(CalibrationError, match="integration time"):
        cal.reading_signal(dut_r, dark_r)  # a dark of another integration time is refused


def test_self_absorption_factor_scalar_and_spectral():
    ref = 1.0 + np.exp(-(((cal.GRID_NM - 600) / 120) ** 2))
    dut = 0.97 * ref
    assert cal.self_absorption_factor(dut, ref) == pytest.approx(0.97)
    alpha = cal.self_absorption_factor(dut, ref, "spectral")
    assert alpha == pytest.approx(np.full(ref.shape, 0.97))
    assert cal.self_absorption_factor(dut, ref, "none") == 1.0
    with pytest.raises(CalibrationError, match="implausible"):
        cal.self_absorption_factor(0.01 * ref, ref)


def test_wavelength_map_checks():
    good = np.arange(370.0, 790.0, 0.5)
    assert cal.check_wavelength_map(good)["max_step_nm"] == pytest.approx(0.5)
    with pytest.raises(CalibrationError, match="not increasing"):
        cal.check_wavelength_map(np.r_[good[:10], good[8:]])
    with pytest.raises(CalibrationError, match="does not cover"):
        cal.check_wavelength_map(np.arange(400.0, 790.0, 1.0))
    with pytest.raises(CalibrationError, match="exceeds 5 nm"):
        cal.check_wavelength_map(np.arange(380.0, 790.0, 10.0))
    with pytest.raises(CalibrationError, match="moved by 0.300 nm"):
        cal.check_wavelength_map(good + 0.3, good)
    with pytest.raises(InstrumentError, match="saturated"):
        cal.reading_signal(_reading(good, np.ones_like(good), saturated=True), None)


# -- on the simulated lab -------------------------------------------------------------------
@pytest.fixture
def lab(tmp_path, sqlite_url):
    lab = Lab(tmp_path, sqlite_url)
    yield lab
    lab.close()


def test_calibration_is_stored_with_inputs_and_validity(lab):
    from lightcomp.store.models import Calibration

    with lab.store.transaction() as s:
        row = s.get(Calibration, lab.calibration.id)
        assert row.station == lab.station.name and row.status == "valid"
        assert row.certificate_id == "SIM-CERT-2026-001" and row.standard_lamp_id == "SIM-STD-001"
        assert row.inputs["certificate_sha256"] and row.inputs["instruments"]["spectro"]
        assert row.valid_until - row.valid_from == timedelta(days=30)
        assert row.responsivity and row.aux_reference and row.uncertainty


@pytest.mark.parametrize("spectro", ["cs2000", "array-spectrometer"])
def test_standard_lamp_measured_as_a_device_recovers_its_certified_flux(
    tmp_path, sqlite_url, spectro
):
    """Calibration round trip: the standard lamp, measured like a DUT through the whole
    chain (dark, aux-lamp self-absorption, responsivity), gives its certified 1500 lm
    within the certificate's expanded uncertainty (1 %, k=2); its CCT is the 2856 K of
    CIE illuminant A's distribution temperature within 20 K (colour-science oracle)."""
    import colour

    from lightcomp.station.runner import StationInstruments

    lab = Lab(tmp_path, sqlite_url, spectro=spectro)
    cset = cal.current_calibration(lab.store.session(), lab.station.name)
    inst = StationInstruments(lab.station).open_all()
    try:
        sp, fixture, source = inst["spectro"], inst["fixture"], inst["source"]
        darks = DarkCache(sp)
        fixture.load("SIM-STD-001", "", "standard-lamp")
        fixture.set_aux_lamp(True)
        aux = sp.measure()
        fixture.set_aux_lamp(False)
        alpha = cset.alpha(aux, darks.for_reading(aux), "scalar")
        source.output(True)
        reading = sp.measure()
        flux = cset.spectral_flux(reading, darks.for_reading(reading), alpha)
    finally:
        inst.close_all()
        lab.close()
    assert alpha == pytest.approx(1.0, abs=0.005)
    sd = colour.SpectralDistribution(dict(zip(cal.GRID_NM, flux, strict=True)))
    assert colour.luminous_flux(sd) == pytest.approx(1500.0, rel=0.010)
    xy = colour.XYZ_to_xy(colour.sd_to_XYZ(sd))
    cct = colour.uv_to_CCT(colour.xy_to_UCS_uv(xy), method="Ohno 2013")[0]
    assert cct == pytest.approx(2856.0, abs=20.0)


def test_missing_and_expired_calibration_are_refused(lab):
    from lightcomp.station.lab import calibrate

    with lab.store.session() as s, pytest.raises(CalibrationError, match="'NO-SUCH' has no calib"):
        cal.current_calibration(s, "NO-SUCH")
    # a calibration made 40 days ago with 30 days validity
    old = datetime.now(UTC) - timedelta(days=40)
    from lightcomp.calibration import load_certificate
    from lightcomp.station.calibrate import calibrate_station
    from lightcomp.station.runner import StationInstruments

    inst = StationInstruments(lab.station).open_all()
    try:
        res = calibrate_station(
            lab.store,
            lab.station.name,
            inst["spectro"],
            inst["fixture"],
            load_certificate(LAMP),
            source=inst["source"],
            now=old,
            validity_days=30,
        )
    finally:
        inst.close_all()
    with lab.store.session() as s, pytest.raises(CalibrationError) as exc:
        cal.current_calibration(s, lab.station.name)
    assert res.calib_id in str(exc.value) and "expired" in str(exc.value)
    with pytest.raises(CalibrationError, match=res.calib_id):
        lab.runner().run(count=1)
    # a fresh calibration makes the station usable again
    calibrate(lab.store, lab.station)
    with lab.store.session() as s:
        assert cal.current_calibration(s, lab.station.name).calib_id != res.calib_id


def test_expired_lamp_certificate_is_refused(lab, tmp_path):
    text = LAMP.read_text().replace("valid_until = 2027-01-15", "valid_until = 2020-01-15")
    text = text.replace('data = "SIM-STD-001.csv"', f'data = "{LAMP.with_suffix(".csv")}"')
    p = tmp_path / "old.toml"
    p.write_text(text)
    from lightcomp.station.lab import calibrate

    with pytest.raises(CalibrationError, match="SIM-CERT-2026-001 .* expired on 2020-01-15"):
        calibrate(lab.store, lab.station, lamp=p)


def test_moved_wavelength_map_stops_the_batch(lab):
    """The spectroradiometer's wavelength map no longer matches the calibration's: the
    batch stops before storing anything and asks for a recalibration."""
    from sqlalchemy import update

    from lightcomp.store.models import Calibration

    # Calibrations are append-only: a calibration whose wavelength map is 0.5 nm off
    # supersedes the current one (as if taken before the instrument's map moved).
    with lab.store.transaction() as s:
        row = s.get(Calibration, lab.calibration.id)
        cols = {
            c.key: getattr(row, c.key)
            for c in Calibration.__table__.columns
            if c.key not in ("id", "calib_id", "status")
        }
        cols["inputs"] = {
            **row.inputs,
            "instrument_wavelengths_nm": [w + 0.5 for w in row.inputs["instrument_wavelengths_nm"]],
        }
        s.execute(update(Calibration).where(Calibration.id == row.id).values(status="superseded"))
        s.add(Calibration(calib_id=f"{row.calib_id}-moved", status="valid", **cols))
    with pytest.raises(CalibrationError, match=r"moved by 0.500 nm.*recalibrate"):
        lab.runner(lot="LOT-W").run(count=2)
    from _station_helpers import lot_rows

    comps, meas = lot_rows(lab.store, "LOT-W")
    assert meas == [] and all(c[2] == "issued" for c in comps)
    w = lab.simlab.world
    assert w.source.output is False and w.aux_on is False
