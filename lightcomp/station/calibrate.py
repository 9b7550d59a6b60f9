"""The calibration procedure on a station: dark readings, emission lines, standard lamp.

Drives the spectroradiometer, fixture and source; the arithmetic is
:mod:`lightcomp.calibration.processing`, the stored record
:mod:`lightcomp.calibration.records`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from lightcomp.calibration.certificates import LampCertificate
from lightcomp.calibration.processing import (
    DEFAULT_VALIDITY_DAYS,
    check_emission_lines,
    compute_calibration,
)
from lightcomp.calibration.records import _aware, _now, store_calibration
from lightcomp.drivers.base import SpectralReading
from lightcomp.errors import CalibrationError

__all__ = ["CalibrationResult", "DarkCache", "calibrate_station", "measure_emission_lines"]


class DarkCache:
    """Dark readings by integration time, taken right after the first signal reading that
    needs them (an auto-ranging array spectrometer takes its dark at the integration time of
    its last measurement; a dark contains a fixed offset, so it cannot be scaled)."""

    def __init__(self, spectro, enabled: bool = True) -> None:
        self.spectro = spectro
        self.enabled = enabled
        self._by_time: dict[float, SpectralReading | None] = {}

    def for_reading(self, reading: SpectralReading) -> SpectralReading | None:
        """The dark for ``reading`` (call right after measuring it); None without a shutter."""
        if not self.enabled:
            return None
        key = round(float(reading.integration_time_s), 9)
        if key not in self._by_time:
            dark = self.spectro.measure_dark()
            if dark is not None and not np.isclose(
                dark.integration_time_s, reading.integration_time_s, rtol=1e-9
            ):
                raise CalibrationError(
                    f"dark reading came at {dark.integration_time_s} s, the signal at "
                    f"{reading.integration_time_s} s"
                )
            self._by_time[key] = dark
        return self._by_time[key]


# ----------------------------------------------------------------------------------------
# Running a calibration on a station
# ----------------------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    """What :func:`calibrate_station` measured and stored."""

    calib_id: str
    id: int
    valid_from: datetime
    valid_until: datetime
    lamp_flux_lm: float
    certified_flux_lm: float | None
    uncertainty_rel_k2: float
    wavelength_check: dict


def measure_emission_lines(
    spectro,
    fixture,
    line_lamp: str,
    *,
    source=None,
    clock=None,
    use_dark: bool = True,
    warmup_s: float = 60.0,
) -> dict:
    """Load the emission-line lamp, read it, and check the wavelength scale.

    Returns :func:`check_emission_lines`' summary; raises CalibrationError when
    the scale is off. The lamp is switched by the station's source output, as
    the standard lamp is, and is always switched off and unloaded afterwards.
    """
    fixture.load(line_lamp, "", "line-lamp")
    try:
        if source is not None:
            source.output(True)
        if clock is not None and warmup_s > 0:
            clock.sleep(warmup_s)
        reading = spectro.measure()
        if source is not None:
            source.output(False)
        dark = DarkCache(spectro, use_dark).for_reading(reading)
    finally:
        if source is not None:
            source.safe_state()
        try:
            fixture.unload()
        except Exception:  # noqa: BLE001 - best effort
            pass
    signal = np.asarray(reading.values, dtype=float)
    if dark is not None:
        signal = signal - np.asarray(dark.values, dtype=float)
    return check_emission_lines(reading.wavelengths_nm, signal)


def calibrate_station(
    store,
    station: str,
    spectro,
    fixture,
    certificate: LampCertificate,
    *,
    source=None,
    clock=None,
    operator: str | None = None,
    validity_days: float = DEFAULT_VALIDITY_DAYS,
    warmup_s: float = 900.0,
    use_dark: bool = True,
    use_aux: bool = True,
    now: datetime | None = None,
    instruments: dict[str, str] | None = None,
    line_lamp: str | None = None,
) -> CalibrationResult:
    """Measure the standard lamp on ``station`` and store a new calibration.

    With ``line_lamp`` (the fixture id of an Hg-Ar emission-line lamp) the
    wavelength scale is checked first against :data:`HG_AR_LINES_NM`
    (:func:`check_emission_lines`); a scale off by more than
    :data:`LINE_TOLERANCE_NM` stops the calibration before anything is stored.

    Steps: load the lamp (fixture), switch it on (``source`` output; without a
    source the lamp is taken as lit while loaded), let it warm up (``clock``),
    lamp reading, dark reading at its integration time (if the instrument has a
    shutter), lamp off,
    auxiliary lamp on with the lamp in place, auxiliary lamp off, unload.  The previous valid calibrations
    of the station become ``superseded``.  The calibration is valid for
    ``validity_days`` but never beyond the certificate's ``valid_until``.
    """
    now = _aware(now or _now())
    if certificate.valid_until is not None and certificate.valid_until < now.date():
        raise CalibrationError(
            f"certificate {certificate.certificate_id} of lamp {certificate.lamp_id} expired on "
            f"{certificate.valid_until}: the lamp needs recertification"
        )
    if not validity_days > 0:
        raise CalibrationError(f"validity {validity_days} days must be > 0")
    valid_until = now + timedelta(days=validity_days)
    if certificate.valid_until is not None:
        cert_end = datetime.combine(certificate.valid_until, datetime.min.time(), tzinfo=UTC)
        valid_until = min(valid_until, cert_end)

    line_check = None
    if line_lamp is not None:
        line_check = measure_emission_lines(
            spectro, fixture, line_lamp, source=source, clock=clock, use_dark=use_dark
        )
    fixture.load(certificate.lamp_id, "", "standard-lamp")
    aux = aux_dark = None
    lamp_lit_during_aux = source is None
    try:
        if source is not None:
            # The lamp's own supply is set to the certificate current
            # (``lamp_current_a``); the station's source output switches it on.
            source.output(True)
        if clock is not None and warmup_s > 0:
            clock.sleep(warmup_s)
        darks = DarkCache(spectro, use_dark)
        lamp = spectro.measure()
        dark = darks.for_reading(lamp)
        if source is not None:
            source.output(False)
        if use_aux:
            fixture.set_aux_lamp(True)
            try:
                aux = spectro.measure()
            finally:
                fixture.set_aux_lamp(False)
            aux_dark = darks.for_reading(aux)
    finally:
        if source is not None:
            source.safe_state()
        try:
            fixture.unload()
        except Exception:  # noqa: BLE001 - best effort, the lamp stays in place otherwise
            pass
    res = compute_calibration(
        certificate,
        lamp,
        dark,
        aux,
        lamp_lit_during_aux=lamp_lit_during_aux,
        aux_dark=aux_dark if aux is not None else None,
    )
    inputs = {
        "certificate": certificate.meta,
        "certificate_path": certificate.path,
        "certificate_sha256": certificate.sha256,
        "lamp_current_a": certificate.lamp_current_a,
        "unit": lamp.unit,
        "integration_time_s": lamp.integration_time_s,
        "instrument_wavelengths_nm": np.round(np.asarray(lamp.wavelengths_nm, float), 6).tolist(),
        "instruments": instruments or {},
        "dark": dark is not None,
        "aux": aux is not None,
    }
    results = {
        "lamp_flux_lm_certified_spectrum": res["lamp_flux_lm"],
        "lamp_flux_lm_certificate": certificate.meta.get("total_flux_lm"),
        "responsivity_min": float(res["responsivity"].min()),
        "responsivity_max": float(res["responsivity"].max()),
        "aux_reference_sum": float(res["aux_reference"].sum()) if aux is not None else None,
        "wavelength_check": res["wavelength_check"],
        "wavelength_check_method": (
            f"map monotonic, step <= 5 nm, 380-780 nm covered; emission lines of {line_lamp}"
            if line_check is not None
            else "map monotonic, step <= 5 nm, 380-780 nm covered (no emission-line lamp)"
        ),
        "wavelength_lines": line_check,
        "uncertainty_rel_k2_max": float(res["uncertainty"].max()),
    }
    calib_id, row_id = store_calibration(
        store,
        station,
        certificate,
        res,
        now=now,
        valid_until=valid_until,
        operator=operator,
        inputs=inputs,
        results=results,
    )
    return CalibrationResult(
        calib_id=calib_id,
        id=row_id,
        valid_from=now,
        valid_until=valid_until,
        lamp_flux_lm=res["lamp_flux_lm"],
        certified_flux_lm=certificate.meta.get("total_flux_lm"),
        uncertainty_rel_k2=float(
            certificate.meta.get("total_flux_uncertainty_rel_k2", res["uncertainty"].max())
        ),
        wavelength_check=res["wavelength_check"],
    )
