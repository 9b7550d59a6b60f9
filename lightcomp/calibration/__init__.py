"""Calibration of a station's spectroradiometer + integrating sphere.

A standard lamp of known spectral total flux (certificate in
``calibration/lamps/<lamp>.toml`` + CSV, W/nm per wavelength with a relative
expanded uncertainty, k = 2) gives the spectral responsivity of the whole
sphere + spectroradiometer chain (IES LM-79-19 §9, CIE S 025:2015 §6.3,
CIE 84-1989 for the substitution method):

    R(λ) = (S_lamp(λ) - S_dark(λ)) / Φ_e,λ,cert(λ)       [signal per W/nm]

The auxiliary lamp measured with the standard lamp in place gives the
reference for the self-absorption correction of each device under test:

    α(λ) = S_aux,DUT(λ) / S_aux,std(λ)                   (LM-79 §9.2)

Order in which every raw reading is turned into spectral flux (W/nm) — the
same for the standard lamp and the devices, so that the steps cancel where
they should:

1. **Saturation** — a saturated reading is refused (InstrumentError; the
   station retries it).
2. **Wavelength-map check** — the instrument's wavelengths must increase
   strictly, cover 380–780 nm with steps ≤ 5 nm and agree (≤ 0.1 nm) with the
   map the calibration was made with. The absolute scale is checked at each
   calibration against the emission lines of an Hg-Ar lamp
   (:func:`check_emission_lines`, ≤ 0.5 nm) when the station names one
   (``[calibration] line_lamp``; the simulated lab has ``SIM-HGAR-001``).
3. **Dark subtraction** — the shutter-closed reading taken with the same
   integration time (:class:`DarkCache`) is subtracted pixel by pixel;
   instruments without a shutter subtract their dark internally and report none.
4. **Rate** — array-spectrometer counts are divided by the integration time
   (counts/s), so readings of different integration times compare.
5. **Resampling** — linear interpolation onto the analysis grid (380–780 nm,
   1 nm).
6. **Spectral responsivity** — division by R(λ): apparent spectral flux, W/nm.
7. **Self-absorption** — division by α (scalar: ratio of the summed auxiliary
   lamp signals; spectral: ratio per wavelength where the auxiliary lamp is
   strong enough, the scalar elsewhere).

Each calibration is stored (``calibrations`` table) with its inputs, results,
uncertainty and validity period; :func:`current_calibration` refuses to hand
out an expired or missing one (:class:`~lightcomp.errors.CalibrationError`).
"""

from lightcomp.calibration.certificates import LampCertificate, load_certificate
from lightcomp.calibration.processing import (
    DEFAULT_VALIDITY_DAYS,
    GRID_NM,
    HG_AR_LINES_NM,
    LINE_TOLERANCE_NM,
    LINE_WINDOW_NM,
    MAP_TOLERANCE_NM,
    MAX_STEP_NM,
    SPECTRAL_ALPHA_MIN_REL,
    CalibrationSet,
    apply_calibration,
    check_emission_lines,
    check_wavelength_map,
    compute_calibration,
    emission_line_positions,
    luminous_flux_lm,
    photopic_v,
    reading_signal,
    resample_to_grid,
    self_absorption_factor,
    signal_rate,
    spectral_responsivity,
)
from lightcomp.calibration.records import (
    calibration_set_from_row,
    current_calibration,
    store_calibration,
)

__all__ = [
    "DEFAULT_VALIDITY_DAYS",
    "GRID_NM",
    "HG_AR_LINES_NM",
    "LINE_TOLERANCE_NM",
    "LINE_WINDOW_NM",
    "MAP_TOLERANCE_NM",
    "MAX_STEP_NM",
    "SPECTRAL_ALPHA_MIN_REL",
    "CalibrationSet",
    "LampCertificate",
    "apply_calibration",
    "calibration_set_from_row",
    "check_emission_lines",
    "check_wavelength_map",
    "compute_calibration",
    "current_calibration",
    "emission_line_positions",
    "load_certificate",
    "luminous_flux_lm",
    "photopic_v",
    "reading_signal",
    "resample_to_grid",
    "self_absorption_factor",
    "signal_rate",
    "spectral_responsivity",
    "store_calibration",
]
