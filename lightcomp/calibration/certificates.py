"""Standard-lamp certificates: the certified spectral flux a calibration starts from."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lightcomp.calibration.processing import GRID_NM
from lightcomp.errors import CalibrationError

__all__ = ["LampCertificate", "load_certificate"]


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
