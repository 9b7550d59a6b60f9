"""The shared physical state behind every simulated instrument.

One :class:`World` holds the virtual clock, the unit in the sphere, the state of
the source (and the mains relay for AC modules), the auxiliary lamp and the
thermal state of the device; the simulated instruments only read it (or set the
source), so what the spectroradiometer sees, what the source measures and what
the thermocouple reads are consistent.

The standard lamp (fixture serial ``SIM-STD-001``) has its own supply, switched by
the source role's output (its settings are ignored; the source sees an open
circuit).  AC modules are supplied by the programmable AC source (``mains``: its
voltage and frequency reach the module's input) or, on a station without one, by the
laboratory mains through a relay switched by the source's output.  The module's
built-in driver runs from ``UVLO_FRACTION`` of its rated voltage up.

Sphere model (what reaches the spectroradiometer, W/nm before its responsivity):
``spectral_flux(DUT) * alpha(loaded) + aux_lamp * alpha(loaded)`` where ``alpha`` is
the self-absorption of the loaded object (family ``self_absorption``, the
standard lamp ``[sphere] standard_lamp_self_absorption``, empty sphere 1.0).
"""

from __future__ import annotations

import math
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lightcomp.errors import ConfigError, PlanError
from lightcomp.labpaths import lab_path
from lightcomp.simlab import device as dev


def _default_lamps() -> Path:
    try:
        return lab_path("calibration", "lamps")
    except ConfigError:  # reported when a lamp is read, with the folder named
        return Path.cwd() / "calibration" / "lamps"


CALIBRATION_LAMPS = _default_lamps()
STANDARD_LAMP_ID = "SIM-STD-001"
LINE_LAMP_ID = "SIM-HGAR-001"
"""Hg-Ar emission-line lamp of the simulated lab (wavelength-scale check)."""
LINE_LAMP_LINES_NM = (
    404.656,
    435.833,
    546.074,
    576.960,
    579.066,
    696.543,
    706.722,
    750.387,
    763.511,
)
LINE_LAMP_PEAK_W_NM = (2.0e-3, 3.0e-3, 4.0e-3, 0.6e-3, 0.6e-3, 1.0e-3, 0.8e-3, 1.2e-3, 1.5e-3)
LINE_LAMP_FWHM_NM = 2.0  # as the spectroradiometer sees the lines (its bandwidth)


def load_standard_lamp(
    lamp_id: str = STANDARD_LAMP_ID, folder: str | Path | None = None
) -> tuple[np.ndarray, dict]:
    """Certified spectral flux (W/nm on the 380-780 nm grid) and certificate of a lamp,
    read from ``folder`` (default: the lab folder's ``calibration/lamps``)."""
    lamps = Path(folder) if folder is not None else CALIBRATION_LAMPS
    toml_path = lamps / f"{lamp_id}.toml"
    try:
        cert = tomllib.loads(toml_path.read_text())
        rows = [
            ln.split(",")
            for ln in (lamps / cert["data"]).read_text().splitlines()
            if ln and ln[0].isdigit()
        ]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise PlanError(f"cannot read standard lamp {lamp_id} in {lamps}: {exc}") from exc
    data = np.array([[float(r[0]), float(r[1])] for r in rows])
    return np.interp(dev.WAVELENGTHS_NM, data[:, 0], data[:, 1], left=0, right=0), cert


@dataclass
class SourceState:
    """Settings of the DC source (or E36312A channel 1) feeding the DUT."""

    output: bool = False
    mode: str = "current"  # "current" or "voltage"
    current_a: float = 0.0
    voltage_v: float = 0.0
    voltage_limit_v: float = 21.0
    current_limit_a: float = 1.05e-4


@dataclass
class MainsState:
    """Output of the programmable AC source (Chroma 61600 simulator) feeding an AC module."""

    output: bool = False
    voltage_v: float = 0.0
    frequency_hz: float = 60.0  # the 61600's *RST frequency *(verify)*
    current_limit_a: float = 16.0


UVLO_FRACTION = 0.70
"""An AC module's built-in driver starts from this fraction of its rated mains voltage."""


class World:
    """Virtual time, loaded unit, source, aux lamp and thermal state (thread-safe)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        speedup: float = 0.0,
        devices_path: str | Path | None = None,
        lamps_folder: str | Path | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.lamps_folder = lamps_folder
        self.seed = seed
        self.speedup = float(speedup)
        self.families, self.sphere = dev.load_devices(devices_path)
        self.ambient_c = float(self.sphere.get("ambient_c", 25.0))
        self.rng = np.random.default_rng(seed)
        self._virtual_s = 0.0
        self._real0 = time.monotonic()
        self.source = SourceState()
        self.mains = MainsState()
        self.aux_on = False
        self.unit: dev.Unit | None = None
        # Unit -> Unit applied at load (the LM-80 rig ages its samples: simlab/lm80rig.py)
        self.unit_modifier = None
        self.lamp_loaded = False
        self.line_lamp_loaded = False
        # reported minus true wavelength of the spectroradiometers (0: a perfect scale)
        self.wavelength_error_nm = float(self.sphere.get("wavelength_error_nm", 0.0))
        self._lamp_spectrum: np.ndarray | None = None
        aux = dev.planck_spectrum(float(self.sphere.get("aux_lamp_cct_k", 3000.0)))
        self._aux_spectrum = aux * (
            float(self.sphere.get("aux_lamp_flux_lm", 300.0)) / dev.luminous_flux_lm(aux)
        )
        # first-order thermal state: temperatures at t_ref, relaxing to the steady state
        self._t_ref = 0.0
        self._tj_ref = self.ambient_c
        self._tc_ref = self.ambient_c

    # -- time -------------------------------------------------------------------
    def now(self) -> float:
        """Virtual seconds since the lab started."""
        with self.lock:
            return self._virtual_s + self.speedup * (time.monotonic() - self._real0)

    def advance(self, seconds: float) -> float:
        """Let ``seconds`` of device time pass instantly; returns the new time."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"cannot advance the clock by {seconds!r} s")
        with self.lock:
            self._virtual_s += seconds
            return self.now()

    # -- fixture ------------------------------------------------------------------
    def load(self, serial: str, lot: str, family: str) -> None:
        """Put unit ``serial`` (or the standard lamp) in the sphere, cold."""
        with self.lock:
            self.line_lamp_loaded = serial == LINE_LAMP_ID
            if serial == STANDARD_LAMP_ID:
                if self._lamp_spectrum is None:
                    self._lamp_spectrum, _ = load_standard_lamp(serial, self.lamps_folder)
                self.unit, self.lamp_loaded = None, True
            elif serial == LINE_LAMP_ID:
                self.unit, self.lamp_loaded = None, False
            else:
                fam = self.families.get(family)
                if fam is None:
                    raise KeyError(f"unknown family {family!r} (known: {sorted(self.families)})")
                self.unit = dev.make_unit(fam, serial, lot, self.seed)
                if self.unit_modifier is not None:
                    self.unit = self.unit_modifier(self.unit)
                self.lamp_loaded = False
            self._t_ref, self._tj_ref, self._tc_ref = self.now(), self.ambient_c, self.ambient_c

    def unload(self) -> None:
        with self.lock:
            self.unit, self.lamp_loaded, self.line_lamp_loaded = None, False, False

    def set_aux(self, on: bool) -> None:
        with self.lock:
            self.aux_on = bool(on)

    # -- source -------------------------------------------------------------------
    def update_source(self, **changes) -> None:
        """Change source settings; the thermal state is re-based first."""
        with self.lock:
            self._rebase()
            for key, value in changes.items():
                setattr(self.source, key, value)

    def update_mains(self, **changes) -> None:
        """Change the AC source's output; the thermal state is re-based first."""
        with self.lock:
            self._rebase()
            for key, value in changes.items():
                setattr(self.mains, key, value)

    def _mains(self) -> tuple[float, float] | None:
        """(voltage V rms, frequency Hz) at an AC module's input, None when unpowered:
        the AC source's output, else the laboratory mains through the source's relay."""
        u = self.unit
        if u is None or not u.family.is_ac:
            return None
        p = u.family.params
        if self.mains.output:
            v, f = self.mains.voltage_v, self.mains.frequency_hz
        elif self.source.output:
            v, f = p["mains_voltage_v"], p["mains_frequency_hz"]
        else:
            return None
        return (v, f) if v >= UVLO_FRACTION * p["mains_voltage_v"] else None

    def _drive_current_a(self) -> float:
        """LED current from the source settings and the loaded unit's I-V curve."""
        u, s = self.unit, self.source
        if u is not None and u.family.is_ac:  # the built-in driver sets the string current
            return u.family.params["nominal_current_a"] if self._mains() else 0.0
        if u is None or not s.output:
            return 0.0
        p = u.family.params
        slope = p["vf_log_slope_v"]
        dt = self._temperatures()[0] - 25.0
        v0 = u.vf_v + p["vf_tempco_v_per_k"] * dt  # Vf at nominal current

        def current_at(v: float) -> float:
            return p["nominal_current_a"] * math.exp(min((v - v0) / slope, 50.0))

        if s.mode == "current":
            return min(s.current_a, current_at(s.voltage_limit_v))
        return min(current_at(s.voltage_v), s.current_limit_a)

    # -- thermal ------------------------------------------------------------------
    def _targets(self) -> tuple[float, float]:
        if self.unit is None:
            return self.ambient_c, self.ambient_c
        current = self._drive_current_nominal()
        return dev.steady_temperatures(self.unit, current, self.ambient_c)

    def _drive_current_nominal(self) -> float:
        u, s = self.unit, self.source
        if u is not None and u.family.is_ac:
            return u.family.params["nominal_current_a"] if self._mains() else 0.0
        if u is None or not s.output:
            return 0.0
        return (
            s.current_a
            if s.mode == "current"
            else min(s.current_limit_a, 2 * u.family.nominal_current_a)
        )

    def _temperatures(self) -> tuple[float, float]:
        tau = self.unit.family.params["thermal_tau_s"] if self.unit else 60.0
        k = math.exp(-max(self.now() - self._t_ref, 0.0) / tau)
        tj_end, tc_end = self._targets()
        return tj_end + (self._tj_ref - tj_end) * k, tc_end + (self._tc_ref - tc_end) * k

    def _rebase(self) -> None:
        self._tj_ref, self._tc_ref = self._temperatures()
        self._t_ref = self.now()

    def temperatures_c(self) -> tuple[float, float]:
        """(junction, case) temperature of the loaded unit now, degC."""
        with self.lock:
            return self._temperatures()

    # -- observables --------------------------------------------------------------
    def operating_point(self) -> dev.OperatingPoint | None:
        with self.lock:
            if self.unit is None:
                return None
            tj, tc = self._temperatures()
            return dev.operating_point(self.unit, self._drive_current_a(), tj, tc)

    def dc_terminals(self) -> tuple[float, float, bool]:
        """(voltage V, current A, in_compliance) at the DC source terminals."""
        with self.lock:
            s = self.source
            if not s.output:
                return 0.0, 0.0, False
            op = self.operating_point()
            if op is None or self.unit is None or self.unit.family.is_ac:
                # open circuit: the source sits at its limit
                v = s.voltage_limit_v if s.mode == "current" else s.voltage_v
                return v, 0.0, s.mode == "current"
            if s.mode == "current":
                comp = op.led_current_a < s.current_a * 0.999
                return (s.voltage_limit_v if comp else op.led_voltage_v), op.led_current_a, comp
            comp = op.led_current_a >= s.current_limit_a * 0.999
            return (op.led_voltage_v if comp else s.voltage_v), op.led_current_a, comp

    def ac_input(self) -> dict[str, float] | None:
        """Mains-side quantities of an AC module (None unless an AC unit is powered).

        The built-in driver draws constant power whatever the voltage (above its
        under-voltage lock-out), so the input current is P / (U PF)."""
        with self.lock:
            op = self.operating_point()
            mains = self._mains()
            if op is None or mains is None or op.led_current_a <= 0:
                return None
            p = self.unit.family.params
            extra = 1.12 if self.unit.defect == "high_vf" else 1.0
            power = op.led_voltage_v * op.led_current_a / p["driver_efficiency"] * extra
            u, f_mains = mains
            pf = p["power_factor"]
            s = power / pf
            i = s / u
            thd = p["thd_current"]
            orders = np.arange(1, 41)
            h = np.where(orders % 2 == 1, 1.0 / orders, 0.0)
            h[0] = 0.0
            h *= thd / np.sqrt((h**2).sum())
            i1 = i / math.sqrt(1 + thd**2)
            return {
                "U": u,
                "I": i,
                "P": power,
                "S": s,
                "Q": math.sqrt(max(s * s - power * power, 0.0)),
                "LAMB": pf,
                "FU": f_mains,
                "FI": f_mains,
                "ITHD": 100.0 * thd,
                "UTHD": 0.4,
                "harmonics": i1 * np.where(orders == 1, 1.0, h),
            }

    def self_absorption(self) -> float:
        """Self-absorption factor of what is in the sphere (1.0 = empty)."""
        if self.lamp_loaded:
            return float(self.sphere.get("standard_lamp_self_absorption", 0.99))
        if self.unit is not None:
            return float(self.unit.family.params.get("self_absorption", 0.98))
        return float(self.sphere.get("empty_self_absorption", 1.0))

    def sphere_flux_w_nm(self) -> np.ndarray:
        """Spectral flux reaching the sphere wall, weighted by self-absorption (W/nm)."""
        with self.lock:
            total = np.zeros_like(dev.WAVELENGTHS_NM)
            if self.lamp_loaded and self._lamp_spectrum is not None and self.source.output:
                total = total + self._lamp_spectrum
            op = self.operating_point()
            if op is not None:
                total = total + op.spectral_flux_w_nm
            if self.aux_on:
                total = total + self._aux_spectrum
            return total * self.self_absorption()

    def seen_flux_w_nm(self, reported_nm: np.ndarray) -> np.ndarray:
        """Sphere flux as a spectroradiometer with ``wavelength_error_nm`` reports it at
        ``reported_nm``: what it calls wavelength w really comes from w - error. The
        model spectrum is held constant for 5 nm beyond 380-780 nm and is 0 further out."""
        true_nm = np.asarray(reported_nm, dtype=float) - self.wavelength_error_nm
        wl = dev.WAVELENGTHS_NM
        with self.lock:
            seen = np.interp(true_nm, wl, self.sphere_flux_w_nm())
            seen = np.where((true_nm >= wl[0] - 5.0) & (true_nm <= wl[-1] + 5.0), seen, 0.0)
            if self.line_lamp_loaded and self.source.output:  # narrow lines: exact profile
                seen = seen + line_lamp_spectrum(true_nm) * self.self_absorption()
            return seen

    def noise(self, size: int | None = None) -> np.ndarray | float:
        """Standard normal noise from the lab's seeded generator."""
        with self.lock:
            return self.rng.standard_normal(size)


def line_lamp_spectrum(wavelengths_nm: np.ndarray) -> np.ndarray:
    """Spectral flux (W/nm) of the simulated Hg-Ar lamp at ``wavelengths_nm``, as an
    instrument of LINE_LAMP_FWHM_NM bandwidth sees it."""
    wl = np.asarray(wavelengths_nm, dtype=float)[:, None]
    lines = np.asarray(LINE_LAMP_LINES_NM)
    peaks = np.asarray(LINE_LAMP_PEAK_W_NM)
    return (peaks * np.exp(-4.0 * np.log(2.0) * ((wl - lines) / LINE_LAMP_FWHM_NM) ** 2)).sum(1)
