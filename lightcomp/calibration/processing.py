"""Calibration processing: pure steps from raw readings to spectral flux (W/nm).

Arrays in, arrays out; the order of the steps is in :mod:`lightcomp.calibration`.
No instrument and no store is touched here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from lightcomp.errors import CalibrationError, InstrumentError

if TYPE_CHECKING:  # pragma: no cover
    from lightcomp.calibration.certificates import LampCertificate
    from lightcomp.drivers.base import SpectralReading

GRID_NM = np.arange(380.0, 781.0, 1.0)
"""Wavelength grid of calibrated spectra (nm): 380–780 nm in 1 nm steps."""

MAX_STEP_NM = 5.0
"""Largest wavelength step allowed (LM-79: spectroradiometer step ≤ 5 nm)."""

MAP_TOLERANCE_NM = 0.1
"""Largest allowed change of the instrument's wavelength map since calibration, nm."""

HG_AR_LINES_NM = (404.656, 435.833, 546.074, 696.543, 706.722, 750.387, 763.511)
"""Isolated emission lines of a low-pressure Hg-Ar lamp (nm, in air; NIST Atomic Spectra
Database), for the wavelength-scale check. The Hg 576.96/579.07 nm doublet is left out:
a 5 nm bandwidth blends it."""

LINE_TOLERANCE_NM = 0.5
"""Largest allowed wavelength-scale error at an emission line, nm."""

LINE_WINDOW_NM = 4.0
"""Half-width of the search window around each expected line, nm."""

SPECTRAL_ALPHA_MIN_REL = 0.05
"""Spectral self-absorption only where the auxiliary lamp gives ≥ 5 % of its peak signal."""

DEFAULT_VALIDITY_DAYS = 30


# ----------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------
# Pure processing steps (arrays in, arrays out; (N, W) batches work too)
# ----------------------------------------------------------------------------------------
def check_wavelength_map(
    wavelengths_nm: np.ndarray,
    reference_nm: np.ndarray | None = None,
    *,
    grid: np.ndarray = GRID_NM,
    tolerance_nm: float = MAP_TOLERANCE_NM,
) -> dict:
    """Check an instrument wavelength map; return a summary, raise CalibrationError if unusable.

    Strictly increasing, covering ``grid`` with steps ≤ 5 nm (LM-79), and — when
    ``reference_nm`` (the map at calibration time) is given — the same length
    and within ``tolerance_nm`` of it.
    """
    wl = np.asarray(wavelengths_nm, dtype=float)
    if wl.ndim != 1 or wl.size < 2 or not np.all(np.isfinite(wl)):
        raise CalibrationError("wavelength map is empty or not finite")
    step = np.diff(wl)
    if np.any(step <= 0):
        i = int(np.argmax(step <= 0))
        raise CalibrationError(
            f"wavelength map is not increasing at pixel {i + 1} ({wl[i]:.3f} -> {wl[i + 1]:.3f} nm)"
        )
    if wl[0] > grid[0] + 1e-9 or wl[-1] < grid[-1] - 1e-9:
        raise CalibrationError(
            f"wavelength map {wl[0]:.1f}-{wl[-1]:.1f} nm does not cover {grid[0]:g}-{grid[-1]:g} nm"
        )
    inside = (wl >= grid[0] - MAX_STEP_NM) & (wl <= grid[-1] + MAX_STEP_NM)
    max_step = float(step[inside[1:] & inside[:-1]].max(initial=0.0))
    if max_step > MAX_STEP_NM:
        raise CalibrationError(f"wavelength step {max_step:.2f} nm exceeds {MAX_STEP_NM:g} nm")
    summary = {
        "first_nm": float(wl[0]),
        "last_nm": float(wl[-1]),
        "points": int(wl.size),
        "max_step_nm": max_step,
    }
    if reference_nm is not None:
        ref = np.asarray(reference_nm, dtype=float)
        if ref.shape != wl.shape:
            raise CalibrationError(
                f"wavelength map has {wl.size} points, the calibration was made with {ref.size}: "
                "recalibrate the station"
            )
        shift = float(np.max(np.abs(wl - ref)))
        if shift > tolerance_nm:
            raise CalibrationError(
                f"wavelength map moved by {shift:.3f} nm since calibration (tolerance "
                f"{tolerance_nm} nm): recalibrate the station"
            )
        summary["max_shift_nm"] = shift
    return summary


def emission_line_positions(
    wavelengths_nm: np.ndarray,
    signal: np.ndarray,
    lines_nm: tuple[float, ...] = HG_AR_LINES_NM,
    *,
    window_nm: float = LINE_WINDOW_NM,
) -> np.ndarray:
    """Measured centre (nm) of each expected emission line in a line-lamp reading.

    For every line: the largest signal within ``window_nm`` of its expected
    position, refined by the vertex of the parabola through the logarithm of
    that pixel and its two neighbours (exact for a Gaussian line profile, on any
    pixel spacing). NaN where the window holds no usable peak. Vectorised over lines.
    """
    wl = np.asarray(wavelengths_nm, dtype=float)
    sig = np.asarray(signal, dtype=float)
    ref = np.asarray(lines_nm, dtype=float)
    inside = np.abs(wl[None, :] - ref[:, None]) <= window_nm  # (L, W)
    masked = np.where(inside, sig[None, :], -np.inf)
    k = np.clip(np.argmax(masked, axis=1), 1, wl.size - 2)
    y0, y1, y2 = (np.log(np.maximum(sig[k + d], 1e-300)) for d in (-1, 0, 1))
    x0, x1, x2 = wl[k - 1], wl[k], wl[k + 1]
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = x1 - 0.5 * num / den
    peak = sig[k]
    usable = (
        inside.any(axis=1)
        & (peak > 0)
        & (sig[k] >= sig[k - 1])
        & (sig[k] >= sig[k + 1])
        & (np.abs(centre - x1) <= np.maximum(x2 - x1, x1 - x0))
    )
    return np.where(usable, centre, np.nan)


def check_emission_lines(
    wavelengths_nm: np.ndarray,
    signal: np.ndarray,
    lines_nm: tuple[float, ...] = HG_AR_LINES_NM,
    *,
    tolerance_nm: float = LINE_TOLERANCE_NM,
) -> dict:
    """Check the wavelength scale against emission lines; raise CalibrationError if off.

    Returns ``{"lines_nm", "measured_nm", "offset_nm", "max_abs_offset_nm"}``
    (offset = measured - reference). A line that is not found, or one off by more
    than ``tolerance_nm``, raises :class:`CalibrationError` naming it.
    """
    ref = np.asarray(lines_nm, dtype=float)
    found = emission_line_positions(wavelengths_nm, signal, lines_nm)
    missing = ref[~np.isfinite(found)]
    if missing.size:
        raise CalibrationError(
            "emission line(s) "
            + ", ".join(f"{v:.3f} nm" for v in missing)
            + " not found in the line-lamp reading: is the Hg-Ar lamp loaded and lit?"
        )
    offset = found - ref
    worst = int(np.argmax(np.abs(offset)))
    if abs(offset[worst]) > tolerance_nm:
        raise CalibrationError(
            f"wavelength scale is off by {offset[worst]:+.2f} nm at the {ref[worst]:.3f} nm "
            f"line (tolerance {tolerance_nm} nm): service or re-map the spectroradiometer"
        )
    return {
        "lines_nm": ref.tolist(),
        "measured_nm": np.round(found, 4).tolist(),
        "offset_nm": np.round(offset, 4).tolist(),
        "max_abs_offset_nm": float(np.abs(offset).max()),
    }


def signal_rate(
    values: np.ndarray,
    dark: np.ndarray | None,
    integration_time_s: float,
    unit: str,
) -> np.ndarray:
    """Dark-subtracted signal, per second for ``counts`` (steps 3 and 4)."""
    sig = np.asarray(values, dtype=float)
    if dark is not None:
        sig = sig - np.asarray(dark, dtype=float)
    if unit == "counts":
        if not integration_time_s > 0:
            raise CalibrationError(f"integration time {integration_time_s!r} s is not positive")
        sig = sig / integration_time_s
    return sig


def resample_to_grid(
    wavelengths_nm: np.ndarray, signal: np.ndarray, grid: np.ndarray = GRID_NM
) -> np.ndarray:
    """Linear interpolation of ``signal`` (shape (W,) or (N, W)) onto ``grid`` (step 5)."""
    wl = np.asarray(wavelengths_nm, dtype=float)
    s = np.asarray(signal, dtype=float)
    if s.shape[-1] != wl.size:
        raise CalibrationError(f"signal has {s.shape[-1]} points, wavelength map {wl.size}")
    if s.ndim == 1 and wl.size == grid.size and np.array_equal(wl, grid):
        return s.copy()
    idx = np.clip(np.searchsorted(wl, grid) - 1, 0, wl.size - 2)
    t = (grid - wl[idx]) / (wl[idx + 1] - wl[idx])
    return s[..., idx] * (1.0 - t) + s[..., idx + 1] * t


def spectral_responsivity(lamp_signal: np.ndarray, certified_flux_w_nm: np.ndarray) -> np.ndarray:
    """R(λ) = lamp signal / certified spectral flux (signal per W/nm), on the grid."""
    sig = np.asarray(lamp_signal, dtype=float)
    cert = np.asarray(certified_flux_w_nm, dtype=float)
    if np.any(cert <= 0):
        raise CalibrationError("certified spectral flux must be > 0 on the whole grid")
    r = sig / cert
    if np.any(~np.isfinite(r)) or np.any(r <= 0):
        bad = GRID_NM[np.argmax(~(np.isfinite(r) & (r > 0)))] if r.size == GRID_NM.size else None
        where = f" (first at {bad:g} nm)" if bad is not None else ""
        raise CalibrationError(
            f"standard-lamp signal is zero or negative{where}: is the lamp on and in the sphere?"
        )
    return r


def self_absorption_factor(
    aux_dut_signal: np.ndarray, aux_reference_signal: np.ndarray, mode: str = "scalar"
) -> np.ndarray | float:
    """Self-absorption factor α of the DUT relative to the standard lamp (LM-79 §9.2).

    ``aux_dut_signal``: auxiliary lamp with the DUT (unpowered) in place;
    ``aux_reference_signal``: auxiliary lamp with the standard lamp in place
    (both dark-subtracted, on the grid). ``mode`` ``"scalar"`` gives one factor
    (ratio of the sums), ``"spectral"`` one per wavelength (scalar where the
    auxiliary lamp is weaker than 5 % of its peak), ``"none"`` gives 1.
    """
    if mode == "none":
        return 1.0
    dut = np.asarray(aux_dut_signal, dtype=float)
    ref = np.asarray(aux_reference_signal, dtype=float)
    scalar = float(dut.sum() / ref.sum()) if ref.sum() > 0 else float("nan")
    if not np.isfinite(scalar) or not 0.3 < scalar < 1.5:
        raise CalibrationError(
            f"self-absorption factor {scalar:.3f} is implausible: check the auxiliary lamp"
        )
    if mode == "scalar":
        return scalar
    if mode != "spectral":
        raise CalibrationError(f"unknown self-absorption mode {mode!r}")
    strong = ref >= SPECTRAL_ALPHA_MIN_REL * ref.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(strong, dut / ref, scalar)
    return alpha


def apply_calibration(
    signal_on_grid: np.ndarray, responsivity: np.ndarray, alpha: np.ndarray | float = 1.0
) -> np.ndarray:
    """Spectral flux (W/nm) from a dark-subtracted signal on the grid (steps 6 and 7)."""
    return np.asarray(signal_on_grid, dtype=float) / np.asarray(responsivity) / alpha


def luminous_flux_lm(spectral_flux_w_nm: np.ndarray, grid: np.ndarray = GRID_NM) -> np.ndarray:
    """Luminous flux Φv = Km Σ Φe,λ V(λ) Δλ (lm): the analysis core's photometry.

    The same function, V(λ) table and Km (:mod:`lightcomp.constants`) as
    :func:`lightcomp.analysis.analyze`, so calibration, stabilisation and analysis
    agree to the last digit.
    """
    from lightcomp.analysis.photometry import luminous_flux, luminous_flux_grid

    flux = np.asarray(spectral_flux_w_nm, dtype=float)
    grid = np.asarray(grid, dtype=float)
    if grid.shape == GRID_NM.shape and np.array_equal(grid, GRID_NM):
        out = luminous_flux_grid(flux)
    else:
        out = luminous_flux(grid, flux)
    return out[0] if flux.ndim == 1 else out


def photopic_v() -> np.ndarray:
    """CIE 1924 photopic V(λ) on :data:`GRID_NM` (the analysis core's table)."""
    from lightcomp.analysis.data import load_photopic

    return load_photopic()


# ----------------------------------------------------------------------------------------
# A calibration in use
# ----------------------------------------------------------------------------------------
@dataclass
class CalibrationSet:
    """A stored calibration, ready to apply to raw readings."""

    id: int
    calib_id: str
    station: str
    valid_from: datetime
    valid_until: datetime
    responsivity: np.ndarray
    aux_reference: np.ndarray | None
    uncertainty: np.ndarray | None
    instrument_wavelengths: np.ndarray | None
    dark: np.ndarray | None = None
    unit: str | None = None
    grid: np.ndarray = field(default_factory=lambda: GRID_NM.copy())

    def signal(self, reading: SpectralReading, dark: SpectralReading | None) -> np.ndarray:
        """Steps 1–5: checked, dark-subtracted signal rate on the grid."""
        return reading_signal(
            reading, dark, reference_nm=self.instrument_wavelengths, grid=self.grid
        )

    def spectral_flux(
        self, reading: SpectralReading, dark: SpectralReading | None, alpha=1.0
    ) -> np.ndarray:
        """Steps 1–7: spectral flux (W/nm) on the grid."""
        return apply_calibration(self.signal(reading, dark), self.responsivity, alpha)

    def alpha(self, aux_reading: SpectralReading, dark: SpectralReading | None, mode: str):
        """Self-absorption factor of what is in the sphere from an auxiliary-lamp reading."""
        if mode == "none":
            return 1.0
        if self.aux_reference is None:
            raise CalibrationError(
                f"calibration {self.calib_id} has no auxiliary-lamp reference: "
                'cannot correct self-absorption (set self_absorption = "none" or recalibrate)'
            )
        return self_absorption_factor(self.signal(aux_reading, dark), self.aux_reference, mode)


def reading_signal(
    reading: SpectralReading,
    dark: SpectralReading | None,
    *,
    reference_nm: np.ndarray | None = None,
    grid: np.ndarray = GRID_NM,
) -> np.ndarray:
    """Steps 1–5 for one raw reading: dark-subtracted signal rate on ``grid``."""
    if reading.saturated:
        raise InstrumentError(
            f"spectroradiometer reading saturated (integration {reading.integration_time_s} s)"
        )
    check_wavelength_map(reading.wavelengths_nm, reference_nm, grid=grid)
    dark_values = None
    if dark is not None:
        if dark.values.shape != reading.values.shape:
            raise CalibrationError("dark reading and signal have different lengths")
        dark_values = np.asarray(dark.values, dtype=float)
        if not np.isclose(dark.integration_time_s, reading.integration_time_s, rtol=1e-9):
            raise CalibrationError(
                f"dark reading taken at {dark.integration_time_s} s, signal at "
                f"{reading.integration_time_s} s: a dark must use the signal's integration time"
            )
    rate = signal_rate(reading.values, dark_values, reading.integration_time_s, reading.unit)
    return resample_to_grid(reading.wavelengths_nm, rate, grid)


def compute_calibration(
    certificate: LampCertificate,
    lamp: SpectralReading,
    lamp_dark: SpectralReading | None,
    aux_with_lamp: SpectralReading | None,
    *,
    aux_dark: SpectralReading | None = None,
    lamp_lit_during_aux: bool = False,
    grid: np.ndarray = GRID_NM,
) -> dict:
    """Responsivity, auxiliary reference and uncertainty from the standard-lamp readings.

    ``aux_with_lamp`` is the reading with the auxiliary lamp on and the
    standard lamp in place, unlit; with ``lamp_lit_during_aux`` (a lamp that
    cannot be switched off in place) the lamp reading is subtracted from it.
    """
    check = check_wavelength_map(lamp.wavelengths_nm, grid=grid)
    lamp_signal = reading_signal(lamp, lamp_dark, grid=grid)
    cert_flux, cert_unc = certificate.on_grid(grid)
    responsivity = spectral_responsivity(lamp_signal, cert_flux)
    aux_reference = None
    if aux_with_lamp is not None:
        aux_reference = reading_signal(aux_with_lamp, aux_dark or lamp_dark, grid=grid)
        if lamp_lit_during_aux:
            aux_reference = aux_reference - lamp_signal
        if aux_reference.sum() <= 0:
            raise CalibrationError(
                "auxiliary lamp gives no signal with the standard lamp in place: is it working?"
            )
    dark_rate = None
    if lamp_dark is not None:
        dark_rate = resample_to_grid(
            lamp_dark.wavelengths_nm,
            signal_rate(lamp_dark.values, None, lamp_dark.integration_time_s, lamp_dark.unit),
            grid,
        )
    return {
        "responsivity": responsivity,
        "aux_reference": aux_reference,
        "uncertainty": cert_unc,
        "dark": dark_rate,
        "wavelength_check": check,
        "lamp_flux_lm": float(luminous_flux_lm(cert_flux, grid)),
    }
