"""Wavelength-scale check against the emission lines of an Hg-Ar lamp."""

from __future__ import annotations

import numpy as np
import pytest
from _station_helpers import Lab

from lightcomp import calibration as cal
from lightcomp.errors import CalibrationError

LINES = np.asarray(cal.HG_AR_LINES_NM)
GRID_1NM = np.arange(380.0, 781.0)
ARRAY_GRID = 340.0 + 0.4629 * np.arange(1024) - 4.0e-6 * np.arange(1024) ** 2  # non-uniform


def _line_spectrum(wl: np.ndarray, shift_nm: float, fwhm_nm: float = 2.5) -> np.ndarray:
    heights = np.linspace(1.0, 0.3, LINES.size)
    g = np.exp(-4 * np.log(2) * ((wl[:, None] - (LINES + shift_nm)) / fwhm_nm) ** 2)
    return (heights * g).sum(axis=1) + 1e-4


@pytest.mark.parametrize("grid", [GRID_1NM, ARRAY_GRID], ids=["1nm", "array"])
@pytest.mark.parametrize("shift", [-0.35, 0.0, 0.2])
def test_line_centres_are_recovered_on_any_grid(grid, shift):
    found = cal.emission_line_positions(grid, _line_spectrum(grid, shift))
    np.testing.assert_allclose(found - LINES, shift, atol=5e-3)


def test_scale_within_tolerance_passes_with_offsets():
    res = cal.check_emission_lines(GRID_1NM, _line_spectrum(GRID_1NM, 0.3))
    assert res["max_abs_offset_nm"] == pytest.approx(0.3, abs=5e-3)
    assert len(res["offset_nm"]) == LINES.size


def test_scale_off_names_the_line():
    with pytest.raises(CalibrationError, match=r"off by \+0\.8\d nm at the .* line"):
        cal.check_emission_lines(GRID_1NM, _line_spectrum(GRID_1NM, 0.8))


def test_no_lamp_light_says_lines_not_found():
    with pytest.raises(CalibrationError, match="not found"):
        cal.check_emission_lines(GRID_1NM, np.full(GRID_1NM.size, 1e-6))


# -- on the simulated lab: the station's calibration runs the check first ----------------------
@pytest.fixture
def lab(tmp_path, sqlite_url):
    lab = Lab(tmp_path, sqlite_url, calibrate=False)
    yield lab
    lab.close()


def test_calibration_records_the_line_check(lab):
    from lightcomp.station.lab import calibrate
    from lightcomp.store.models import Calibration

    lab.simlab.world.wavelength_error_nm = 0.2
    res = calibrate(lab.store, lab.station)
    with lab.store.transaction() as s:
        lines = s.get(Calibration, res.id).results["wavelength_lines"]
    np.testing.assert_allclose(lines["offset_nm"], 0.2, atol=0.05)


def test_calibration_refused_when_the_scale_is_off(lab):
    import sqlalchemy as sa

    from lightcomp.station.lab import calibrate
    from lightcomp.store.models import Calibration

    lab.simlab.world.wavelength_error_nm = -0.9
    with pytest.raises(CalibrationError, match=r"off by -0\.9\d nm"):
        calibrate(lab.store, lab.station)
    with lab.store.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Calibration)) == 0
    w = lab.simlab.world
    assert w.source.output is False and not w.line_lamp_loaded


# -- self-absorption on a real component, against the simulator's true flux ----------------------
def test_component_flux_recovered_only_with_self_absorption_correction(tmp_path, sqlite_url):
    from lightcomp.calibration import current_calibration, luminous_flux_lm
    from lightcomp.station.runner import StationInstruments

    lab = Lab(tmp_path, sqlite_url)  # calibrated with the standard lamp (alpha = 1 there)
    inst = StationInstruments(lab.station).open_all()
    clock = lab.station.make_clock()
    try:
        with lab.store.transaction() as s:
            cset = current_calibration(s, lab.station.name)
        fx, sp, src = inst["fixture"], inst["spectro"], inst["source"]
        fx.load("ALPHA-UNIT-1", "LOT-ALPHA", "LS0-COB-4000")
        fx.set_aux_lamp(True)
        aux = sp.measure()  # aux lamp with the (dark) unit in place, LM-79
        fx.set_aux_lamp(False)
        alpha = cset.alpha(aux, None, "scalar")
        w = lab.simlab.world  # alpha is relative to the standard lamp's own absorption
        true_alpha = w.self_absorption() / float(
            w.sphere.get("standard_lamp_self_absorption", 0.99)
        )
        assert alpha == pytest.approx(true_alpha, rel=2e-3)
        assert alpha < 0.995  # the unit absorbs more than the lamp: the correction matters
        src.set_current(0.350, 48.0)
        src.output(True)
        clock.sleep(3600.0)
        reading = sp.measure()
        truth = luminous_flux_lm(lab.simlab.world.operating_point().spectral_flux_w_nm)
        src.output(False)
        corrected = float(luminous_flux_lm(cset.spectral_flux(reading, None, alpha)))
        uncorrected = float(luminous_flux_lm(cset.spectral_flux(reading, None, 1.0)))
        assert corrected == pytest.approx(truth, rel=5e-3)
        assert abs(uncorrected / truth - 1) > 2 * abs(corrected / truth - 1)
    finally:
        inst.safe_all()
        inst.close_all()
        if hasattr(clock, "close"):
            clock.close()
        lab.close()
