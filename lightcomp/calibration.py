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

from __future__ import annotations

import hashlib
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lightcomp.errors import CalibrationError, InstrumentError

if TYPE_CHECKING:  # pragma: no cover
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
# Standard lamp certificates
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LampCertificate:
    """Certificate of a spectral total-flux standard lamp."""

    certificate_id: str
    lamp_id: str
    wavelengths_nm: np.ndarray
    spectral_flux_w_nm: np.ndarray
    uncertainty_rel_k2: np.ndarray
    lamp_current_a: float | None
    issued: date | None
    valid_until: date | None
    path: str
    sha256: str
    meta: dict = field(default_factory=dict)

    def on_grid(self, grid: np.ndarray = GRID_NM) -> tuple[np.ndarray, np.ndarray]:
        """(spectral flux W/nm, relative uncertainty k=2) interpolated onto ``grid``."""
        if grid[0] < self.wavelengths_nm[0] - 1e-9 or grid[-1] > self.wavelengths_nm[-1] + 1e-9:
            raise CalibrationError(
                f"certificate {self.certificate_id} covers {self.wavelengths_nm[0]:g}-"
                f"{self.wavelengths_nm[-1]:g} nm, the calibration needs {grid[0]:g}-{grid[-1]:g} nm"
            )
        return (
            np.interp(grid, self.wavelengths_nm, self.spectral_flux_w_nm),
            np.interp(grid, self.wavelengths_nm, self.uncertainty_rel_k2),
        )


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def load_certificate(path: str | Path) -> LampCertificate:
    """Read a lamp certificate (TOML with ``certificate_id``, ``lamp_id``, dates,
    ``lamp_current_a`` and ``data`` = CSV of wavelength_nm, W/nm, relative uncertainty k=2)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        meta = tomllib.loads(text)
    except OSError as exc:
        raise CalibrationError(
            f"cannot read lamp certificate {path}: {exc.strerror or exc}"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"lamp certificate {path} is not valid TOML: {exc}") from exc
    for key in ("certificate_id", "lamp_id", "data"):
        if key not in meta:
            raise CalibrationError(f"lamp certificate {path} has no '{key}'")
    csv_path = p.parent / meta["data"]
    try:
        rows = [
            ln.split(",")
            for ln in csv_path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and (ln.lstrip()[0].isdigit())
        ]
        data = np.array([[float(v) for v in r[:3]] for r in rows], dtype=float)
    except (OSError, ValueError, IndexError) as exc:
        raise CalibrationError(f"cannot read lamp data {csv_path}: {exc}") from exc
    if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] < 3:
        raise CalibrationError(f"lamp data {csv_path} needs 3 columns and at least 2 rows")
    wl, flux, unc = data.T
    if np.any(np.diff(wl) <= 0):
        raise CalibrationError(f"lamp data {csv_path}: wavelengths must increase")
    if np.any(flux <= 0) or np.any(unc < 0):
        raise CalibrationError(f"lamp data {csv_path}: flux must be > 0 and uncertainty >= 0")
    digest = hashlib.sha256(text.encode() + csv_path.read_bytes()).hexdigest()
    return LampCertificate(
        certificate_id=str(meta["certificate_id"]),
        lamp_id=str(meta["lamp_id"]),
        wavelengths_nm=wl,
        spectral_flux_w_nm=flux,
        uncertainty_rel_k2=unc,
        lamp_current_a=float(meta["lamp_current_a"]) if "lamp_current_a" in meta else None,
        issued=_as_date(meta.get("issued")),
        valid_until=_as_date(meta.get("valid_until")),
        path=str(path),
        sha256=digest,
        meta={k: (v.isoformat() if isinstance(v, date) else v) for k, v in meta.items()},
    )


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


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def calibration_set_from_row(row) -> CalibrationSet:
    """Build a :class:`CalibrationSet` from a ``calibrations`` row."""
    from lightcomp.store.codec import decode_array

    inst_wl = row.inputs.get("instrument_wavelengths_nm") if row.inputs else None
    return CalibrationSet(
        id=row.id,
        calib_id=row.calib_id,
        station=row.station,
        valid_from=_aware(row.valid_from),
        valid_until=_aware(row.valid_until),
        responsivity=decode_array(row.responsivity),
        aux_reference=decode_array(row.aux_reference),
        uncertainty=decode_array(row.uncertainty),
        instrument_wavelengths=np.asarray(inst_wl, dtype=float) if inst_wl else None,
        dark=decode_array(row.dark),
        unit=(row.inputs or {}).get("unit"),
        grid=decode_array(row.wavelengths) if row.wavelengths is not None else GRID_NM.copy(),
    )


def current_calibration(session, station: str, now: datetime | None = None) -> CalibrationSet:
    """The newest valid calibration of ``station`` at ``now``.

    Raises :class:`CalibrationError` naming the station (no calibration) or the
    expired calibration and its end of validity.
    """
    from sqlalchemy import select

    from lightcomp.store.models import Calibration

    now = _aware(now or _now())
    row = session.scalars(
        select(Calibration)
        .where(Calibration.station == station, Calibration.status == "valid")
        .order_by(Calibration.valid_from.desc(), Calibration.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise CalibrationError(
            f"station {station!r} has no calibration: run `lightcomp calibrate run --station ...`"
        )
    if _aware(row.valid_until) < now:
        raise CalibrationError(
            f"calibration {row.calib_id} of station {station!r} expired on "
            f"{_aware(row.valid_until):%Y-%m-%d %H:%M} UTC: recalibrate the station"
        )
    if _aware(row.valid_from) > now:
        raise CalibrationError(
            f"calibration {row.calib_id} of station {station!r} is only valid from "
            f"{_aware(row.valid_from):%Y-%m-%d %H:%M} UTC"
        )
    return calibration_set_from_row(row)


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
    from sqlalchemy import select, update

    from lightcomp.store.codec import encode_array
    from lightcomp.store.models import Calibration

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
    calib_id = f"CAL-{station}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
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
    with store.transaction() as session:
        session.execute(
            update(Calibration)
            .where(Calibration.station == station, Calibration.status == "valid")
            .values(status="superseded")
        )
        row = Calibration(
            calib_id=calib_id,
            station=station,
            kind="spectral-responsivity",
            status="valid",
            valid_from=now,
            valid_until=valid_until,
            operator=operator,
            standard_lamp_id=certificate.lamp_id,
            certificate_id=certificate.certificate_id,
            wavelengths=encode_array(GRID_NM),
            responsivity=encode_array(res["responsivity"]),
            dark=encode_array(res["dark"]),
            aux_reference=encode_array(res["aux_reference"]),
            uncertainty=encode_array(res["uncertainty"]),
            inputs=inputs,
            results=results,
        )
        session.add(row)
        session.flush()
        row_id = row.id
        session.execute(select(Calibration.id).where(Calibration.id == row_id))
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
