"""Physical model of the simulated device under test: a phosphor-converted white LED.

The spectrum is a blue InGaN pump plus a green-yellow and a red phosphor band
(Gaussians in wavelength); the three weights are solved so that a nominal unit
sits at the family's nominal CCT and Duv (CIE 1960 uv, Duv positive above the
Planckian locus, ANSI C78.377 convention).  Flux, forward voltage and colour
depend on drive current and junction temperature; the junction warms up after
power-on as a first-order system (see ``station/simlab/devices.toml``).

Units: W/nm for spectral (radiant) flux on the 380-780 nm, 1 nm grid; lm; A; V;
degC; s.  Everything is deterministic in ``(seed, lot, serial)``.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from lightcomp.constants import KM_LM_PER_W
from lightcomp.errors import PlanError
from lightcomp.labpaths import lab_path

WAVELENGTHS_NM = np.arange(380.0, 781.0, 1.0)
"""Grid of every simulated spectrum (401 points, 380-780 nm)."""

DEVICES_TOML = ("station", "simlab", "devices.toml")  # inside the lab folder (labpaths)
_CMF_CSV = Path(__file__).resolve().parents[1] / "analysis" / "data" / "cie1931_2deg_xyz_cmfs.csv"
_C2_M_K = 1.438776877e-2  # second radiation constant (CODATA 2018), m K


@lru_cache(maxsize=1)
def cmfs_1931() -> np.ndarray:
    """CIE 1931 2 deg colour-matching functions on :data:`WAVELENGTHS_NM`, shape (401, 3)."""
    lines = [ln for ln in _CMF_CSV.read_text().splitlines() if ln and ln[0].isdigit()]
    data = np.array([[float(v) for v in ln.split(",")[:4]] for ln in lines])
    return np.stack([np.interp(WAVELENGTHS_NM, data[:, 0], data[:, k]) for k in (1, 2, 3)], axis=1)


def planck_spectrum(cct_k: float) -> np.ndarray:
    """Relative spectral radiance of a blackbody at ``cct_k`` on the grid (Planck's law)."""
    lam_m = WAVELENGTHS_NM * 1e-9
    return 1.0 / (lam_m**5 * np.expm1(_C2_M_K / (lam_m * cct_k)))


def xyz_of(spectrum: np.ndarray) -> np.ndarray:
    """Tristimulus values (unnormalised sum) of a spectrum on the grid, shape (..., 3)."""
    return np.asarray(spectrum) @ cmfs_1931()


def uv_of(xyz: np.ndarray) -> np.ndarray:
    """CIE 1960 (u, v) from XYZ."""
    x, y, z = np.moveaxis(np.asarray(xyz, dtype=float), -1, 0)
    d = x + 15 * y + 3 * z
    return np.stack([4 * x / d, 6 * y / d], axis=-1)


def target_uv(cct_k: float, duv: float) -> np.ndarray:
    """Point at ``duv`` from the Planckian locus at ``cct_k`` (normal offset in CIE 1960 uv)."""
    p0 = uv_of(xyz_of(planck_spectrum(cct_k)))
    p1 = uv_of(xyz_of(planck_spectrum(cct_k * 1.001)))
    tangent = (p1 - p0) / np.linalg.norm(p1 - p0)
    normal = np.array([-tangent[1], tangent[0]])
    if normal[1] < 0:
        normal = -normal
    return p0 + duv * normal


def gaussian_band(peak_nm: float, fwhm_nm: float) -> np.ndarray:
    """Unit-area Gaussian band on the grid."""
    sigma = fwhm_nm / 2.3548200450309493
    band = np.exp(-0.5 * ((WAVELENGTHS_NM - peak_nm) / sigma) ** 2)
    return band / band.sum()


def mix_for_uv(bands: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Non-negative weights of 3 ``bands`` (shape (3, W)) whose mix has chromaticity ``uv``.

    Chromaticity constraints are linear in the weights, so the weight vector is
    the null space of a 2 x 3 matrix (cross product of its rows).
    """
    u, v = uv
    xyz = xyz_of(bands)  # (3, 3)
    d = xyz[:, 0] + 15 * xyz[:, 1] + 3 * xyz[:, 2]
    row_u = 4 * xyz[:, 0] - u * d
    row_v = 6 * xyz[:, 1] - v * d
    w = np.cross(row_u, row_v)
    if w.sum() < 0:
        w = -w
    if np.any(w < 0):
        raise PlanError(f"chromaticity {tuple(uv)} is outside the gamut of this LED's bands")
    return w


def luminous_flux_lm(spectral_flux_w_nm: np.ndarray) -> float:
    """Luminous flux (lm) of a spectral flux (W/nm) on the 1 nm grid (CIE 1931 y-bar = V)."""
    return float(KM_LM_PER_W * (np.asarray(spectral_flux_w_nm) @ cmfs_1931()[:, 1]))


@dataclass(frozen=True)
class Family:
    """A device family profile of ``devices.toml``."""

    name: str
    params: dict

    def __getattr__(self, key: str):
        try:
            return self.params[key]
        except KeyError:
            raise AttributeError(key) from None

    @property
    def is_ac(self) -> bool:
        return self.params.get("drive", "dc") == "ac"


def load_devices(path: str | Path | None = None) -> tuple[dict[str, Family], dict]:
    """Read the family profiles and the sphere table of ``devices.toml``."""
    path = Path(path) if path else lab_path(*DEVICES_TOML)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PlanError(f"cannot read device families {path}: {exc}") from exc
    fams = {name: Family(name, dict(p)) for name, p in data.get("families", {}).items()}
    if not fams:
        raise PlanError(f"{path} defines no [families.<name>] table")
    return fams, dict(data.get("sphere", {}))


def _rng(*key: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class Unit:
    """One manufactured unit: fixed properties at 25 degC junction and nominal current."""

    serial: str
    lot: str
    family: Family
    flux_factor: float
    cct_k: float
    duv: float
    red_peak_nm: float
    red_scale: float  # < 1 for a red-deficient phosphor (low Ra/R9)
    vf_v: float
    defect: str | None

    @property
    def spectrum_25c(self) -> np.ndarray:
        """Spectral flux (W/nm) at nominal current, Tj = 25 degC.

        Scaled so that a nominal unit emits ``nominal_flux_lm`` once stabilised
        at nominal current (junction at its steady temperature, 25 degC ambient).
        """
        return (
            _unit_spectrum(
                self.family.name,
                tuple(sorted(self.family.params.items())),
                self.cct_k,
                self.duv,
                self.red_peak_nm,
                self.red_scale,
            )
            * self.flux_factor
        )


@lru_cache(maxsize=4096)
def _unit_spectrum(
    family: str, items: tuple, cct_k: float, duv: float, red_peak_nm: float, red_scale: float
) -> np.ndarray:
    p = dict(items)
    bands = np.stack(
        [
            gaussian_band(p["blue_peak_nm"], p["blue_fwhm_nm"]),
            gaussian_band(p["green_peak_nm"], p["green_fwhm_nm"]),
            gaussian_band(red_peak_nm, p["red_fwhm_nm"]),
        ]
    )
    w = mix_for_uv(bands, target_uv(cct_k, duv))
    w = w * np.array([1.0, 1.0, red_scale])
    spec = w @ bands
    # nominal flux is the rated (stabilised) value: undo the warm-up drop at nominal current
    heat_w = p["heat_fraction"] * p["nominal_vf_v"] * p["nominal_current_a"]
    case_c = p.get("case_control_c", 25.0 + p.get("rth_ca_k_per_w", 0.0) * heat_w)
    warm = _temperature_factor(p, case_c + p["rth_jc_k_per_w"] * heat_w - 25.0)
    return spec * (p["nominal_flux_lm"] / luminous_flux_lm(spec * warm))


def _temperature_factor(p: dict, dt_k: float) -> np.ndarray:
    """Spectral factor at ``dt_k`` above Tj = 25 degC: flux droop and phosphor quenching."""
    blue = np.exp(-0.5 * ((WAVELENGTHS_NM - p["blue_peak_nm"]) / 15.0) ** 2)
    # phosphor bands lose 0.05 %/K more than the blue pump (thermal quenching)
    quench = 1.0 - 0.0005 * dt_k * (1.0 - blue)
    return max(1.0 + p["flux_tempco_per_k"] * dt_k, 0.05) * quench


def make_unit(family: Family, serial: str, lot: str, seed: int = 0) -> Unit:
    """The unit ``serial`` of ``lot``: a deterministic function of (seed, lot, serial)."""
    p = family.params
    lot_rng = _rng("lot", seed, family.name, lot)
    lot_flux = 1 + p.get("lot_flux_spread_rel", 0.0) * lot_rng.standard_normal()
    lot_cct = p.get("lot_cct_spread_k", 0.0) * lot_rng.standard_normal()
    r = _rng("unit", seed, family.name, lot, serial)
    z = r.standard_normal(5)
    flux = lot_flux * (1 + p["flux_spread_rel"] * z[0])
    cct = p["nominal_cct_k"] + lot_cct + p["cct_spread_k"] * z[1]
    duv = p.get("nominal_duv", 0.0) + p["duv_spread"] * z[2]
    red_peak = p["red_peak_nm"] + p["red_peak_spread_nm"] * z[3]
    vf = p["nominal_vf_v"] * (1 + p["vf_spread_rel"] * z[4])
    red_scale = 1.0
    defect = None
    u = r.random()
    edges = np.cumsum(
        [
            p.get(k, 0.0)
            for k in ("defect_low_flux", "defect_colour", "defect_low_cri", "defect_high_vf")
        ]
    )
    kind = int(np.searchsorted(edges, u, side="right"))
    if kind == 0:
        defect = "low_flux"
        flux *= r.uniform(0.78, 0.87)
    elif kind == 1:
        defect = "colour"
        if r.random() < 0.5:
            duv += r.choice([-1.0, 1.0]) * r.uniform(0.008, 0.012)
        else:
            cct *= 1 + r.choice([-1.0, 1.0]) * r.uniform(0.08, 0.12)
    elif kind == 2:
        defect = "low_cri"
        red_peak -= r.uniform(16.0, 22.0)  # red nitride replaced by an orange phosphor
    elif kind == 3:
        defect = "high_vf"
        vf *= r.uniform(1.10, 1.15)
    return Unit(
        serial,
        lot,
        family,
        float(flux),
        float(cct),
        float(duv),
        float(red_peak),
        float(red_scale),
        float(vf),
        defect,
    )


@dataclass
class OperatingPoint:
    """What the device emits and draws at one instant."""

    spectral_flux_w_nm: np.ndarray
    led_voltage_v: float
    led_current_a: float
    junction_c: float
    case_c: float


def operating_point(
    unit: Unit, current_a: float, junction_c: float, case_c: float
) -> OperatingPoint:
    """Spectrum and LED voltage at drive ``current_a`` and junction temperature ``junction_c``."""
    p = unit.family.params
    i_rel = max(current_a, 0.0) / p["nominal_current_a"]
    if i_rel <= 0:
        return OperatingPoint(np.zeros_like(WAVELENGTHS_NM), 0.0, 0.0, junction_c, case_c)
    dt = junction_c - 25.0
    spec = unit.spectrum_25c * i_rel ** p["flux_exponent"]
    spec = spec * _temperature_factor(p, dt)
    vf = unit.vf_v + p["vf_log_slope_v"] * np.log(i_rel) + p["vf_tempco_v_per_k"] * dt
    return OperatingPoint(spec, float(vf), float(current_a), junction_c, case_c)


def steady_temperatures(unit: Unit, current_a: float, ambient_c: float) -> tuple[float, float]:
    """Steady-state (junction, case) temperatures in degC at ``current_a``."""
    p = unit.family.params
    heat_w = p["heat_fraction"] * p["nominal_vf_v"] * max(current_a, 0.0)
    case = p.get("case_control_c")
    if case is None:
        case = ambient_c + p.get("rth_ca_k_per_w", 0.0) * heat_w
    return case + p["rth_jc_k_per_w"] * heat_w, case
