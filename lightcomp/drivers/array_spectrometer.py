"""CCD array spectrometer on an integrating sphere (LCAS-1 line protocol).

The interface is the shape seabreeze exposes for Ocean Insight spectrometers:
raw counts per pixel, a wavelength map (nm per pixel) and an integration time;
the lab's calibration turns counts into spectral flux.

LCAS-1 ("lightcomp array spectrometer", designed for the simulated lab and for
a small serial/TCP bridge in front of a USB spectrometer).  ASCII lines ending
with LF; replies end with LF; errors are ``ERR <reason>``:

===================  =========================================================
``*IDN?``            ``<maker>,<model>,<serial>,<firmware>``
``INT <us>``         integration time in microseconds (1000..10000000): ``OK``
``INT?``             integration time in microseconds
``SHUT 0|1``         shutter open (0) or closed (1, for dark readings): ``OK``
``MAX?``             saturation level in counts (e.g. 65535)
``WAVE?``            comma-separated wavelength of every pixel, nm
``SPEC?``            acquire one scan: comma-separated integer counts per pixel
===================  =========================================================

With ``options.auto_range`` (default true) :meth:`measure` adapts the
integration time so the peak sits between 20 % and 85 % of full scale; a
reading still at full scale is returned with ``saturated=True``.
"""

from __future__ import annotations

import numpy as np
from pymeasure.instruments import Instrument

from lightcomp.drivers.base import InstrumentConfig, SpectralReading, Spectroradiometer
from lightcomp.drivers.transport import DriverMixin, parse_floats

MIN_INTEGRATION_S = 1e-3
MAX_INTEGRATION_S = 10.0


def _ok(reply: str) -> bool:
    if reply.strip() != "OK":
        raise ValueError("expected OK")
    return True


class ArraySpectrometer(DriverMixin, Instrument, Spectroradiometer):
    """Array spectrometer (registry name ``array-spectrometer``).

    ``options``: ``integration_time_s`` (initial, default 0.1), ``auto_range``
    (default True), ``pixels`` (expected pixel count, optional check).
    """

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "array-spectrometer", "spectro")
        super().__init__(adapter, "Array spectrometer", includeSCPI=False, **kwargs)
        opts = self.config.options
        self.auto_range = bool(opts.get("auto_range", True))
        self._integration_s = float(opts.get("integration_time_s", 0.1))
        self._applied_s: float | None = None
        self._wavelengths: np.ndarray | None = None
        self._full_scale: int | None = None

    def identify(self) -> str:
        return self.query("*IDN?", lambda r: r.strip())

    def _ask(self, command: str, parse, *, idempotent: bool = True):
        def checked(reply: str):
            if reply.startswith("ERR"):
                raise self.error("instrument refused the command", command, reply)
            return parse(reply)

        return self.query(command, checked, idempotent=idempotent)

    @property
    def wavelengths_nm(self) -> np.ndarray:
        """Wavelength of every pixel (nm), read once."""
        if self._wavelengths is None:
            wl = np.array(self._ask("WAVE?", parse_floats))
            if wl.size < 16 or np.any(np.diff(wl) <= 0):
                raise self.error("wavelength map is not strictly increasing", "WAVE?")
            self._wavelengths = wl
        return self._wavelengths

    @property
    def full_scale(self) -> int:
        if self._full_scale is None:
            self._full_scale = int(self._ask("MAX?", lambda r: parse_floats(r, 1)[0]))
        return self._full_scale

    @property
    def integration_time_s(self) -> float:
        return self._integration_s

    @integration_time_s.setter
    def integration_time_s(self, seconds: float) -> None:
        if not MIN_INTEGRATION_S <= seconds <= MAX_INTEGRATION_S:
            raise self.error(
                f"integration time {seconds} s outside {MIN_INTEGRATION_S}..{MAX_INTEGRATION_S} s"
            )
        self._integration_s = float(seconds)

    def _apply_integration(self) -> None:
        if self._applied_s != self._integration_s:
            self._ask(f"INT {round(self._integration_s * 1e6)}", _ok)
            self._applied_s = self._integration_s

    def _shutter(self, closed: bool) -> None:
        self._ask(f"SHUT {int(closed)}", _ok)

    def scan(self) -> np.ndarray:
        """One scan of raw counts at the current integration time."""
        self._apply_integration()
        n = self.wavelengths_nm.size

        def parse(reply: str) -> np.ndarray:
            counts = np.array(parse_floats(reply, n))
            if np.any(counts < 0) or np.any(counts > self.full_scale) or np.any(counts % 1):
                raise ValueError("counts outside 0..full scale or not integers")
            return counts

        return self._ask("SPEC?", parse)

    def _reading(self, counts: np.ndarray) -> SpectralReading:
        return SpectralReading(
            wavelengths_nm=self.wavelengths_nm.copy(),
            values=counts,
            integration_time_s=self._integration_s,
            unit="counts",
            saturated=bool(counts.max() >= self.full_scale),
        )

    def measure(self) -> SpectralReading:
        """Shutter open, one scan (auto-ranged if enabled)."""
        self._shutter(False)
        counts = self.scan()
        for _ in range(8):
            if not self.auto_range:
                break
            peak = counts.max() / self.full_scale
            if peak >= 0.999:
                new = self._integration_s / 4
            elif peak > 0.85 or peak < 0.2:
                new = self._integration_s * 0.5 / max(peak, 1e-3)
            else:
                break
            new = float(np.clip(new, MIN_INTEGRATION_S, MAX_INTEGRATION_S))
            if abs(new - self._integration_s) < 1e-9:
                break
            self._integration_s = new
            counts = self.scan()
        return self._reading(counts)

    def measure_dark(self) -> SpectralReading:
        """Shutter closed, one scan at the integration time of the last :meth:`measure`."""
        self._shutter(True)
        try:
            return self._reading(self.scan())
        finally:
            self._shutter(False)
