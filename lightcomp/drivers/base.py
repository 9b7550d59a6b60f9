"""Interfaces the station uses to talk to instruments.

Concrete drivers (one module per maker/model family, PyMeasure style) implement
these small abstract classes; the station only ever sees these methods, so a
simulated instrument and real hardware are interchangeable by configuration.

Conventions: SI units (V, A, W, Hz, s, nm, degC for temperatures); every method
that talks to the instrument raises :class:`~lightcomp.errors.InstrumentError`
naming the instrument, the command and the reply on failure; idempotent queries
are retried a bounded number of times, commands that change state are not.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class InstrumentConfig:
    """One ``[instruments.<role>]`` table of a station TOML file."""

    role: str  # "source", "power_analyzer", "spectro", "thermo", "fixture"
    driver: str  # registry name, e.g. "keithley2400", "cs2000", "sim-fixture"
    resource: str  # VISA resource or pyserial URL, e.g. "TCPIP0::127.0.0.1::5025::SOCKET"
    identity: str | None = None  # expected substring of *IDN? / IDDR reply
    timeout_s: float = 5.0
    retries: int = 2
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ElectricalReading:
    """One electrical reading at the component's input."""

    voltage_v: float
    current_a: float
    power_w: float
    power_factor: float | None = None  # None for DC
    frequency_hz: float | None = None  # None for DC
    apparent_power_va: float | None = None
    reactive_power_var: float | None = None
    thd_current: float | None = None  # fraction, not percent
    harmonics_a: tuple[float, ...] | None = None  # rms current of harmonics 1..40


@dataclass(frozen=True)
class SpectralReading:
    """One raw reading of a spectroradiometer, before lab calibration.

    ``values`` are in the instrument's own units (counts for an array
    spectrometer, the instrument's spectral quantity for a CS-2000) on
    ``wavelengths_nm``; calibration turns them into spectral flux (W/nm).
    """

    wavelengths_nm: np.ndarray  # shape (W,)
    values: np.ndarray  # shape (W,)
    integration_time_s: float
    unit: str  # "counts" or e.g. "W/(sr m2 nm)"
    saturated: bool = False


class Instrument(abc.ABC):
    """Common part of every driver."""

    config: InstrumentConfig

    @abc.abstractmethod
    def identify(self) -> str:
        """Return the identity string (``*IDN?`` or equivalent)."""

    def check_identity(self) -> str:
        """Raise InstrumentError unless the identity contains the configured one."""
        from lightcomp.errors import InstrumentError

        ident = self.identify()
        expected = self.config.identity
        if expected and expected.lower() not in ident.lower():
            raise InstrumentError(
                f"{self.config.role} at {self.config.resource}: identity {ident!r} "
                f"does not match the configured {expected!r}"
            )
        return ident

    def safe_state(self) -> None:  # noqa: B027 - optional hook
        """Put the instrument in a safe state (outputs off); never raises."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection."""


class Supply(Instrument):
    """A source that powers the component: an output to switch and a read-back; its
    safe state is the output off."""

    @abc.abstractmethod
    def output(self, on: bool) -> None:
        """Switch the output."""

    @abc.abstractmethod
    def measure(self) -> ElectricalReading:
        """The source's own measurement of its output."""

    def safe_state(self) -> None:
        try:
            self.output(False)
        except Exception:  # noqa: BLE001 - safe_state never raises
            pass


class DCSource(Supply):
    """DC supply or source-meter driving the component (``measure``: V and I at the
    output, power = V * I)."""

    @abc.abstractmethod
    def set_current(self, current_a: float, voltage_limit_v: float) -> None:
        """Constant-current mode at ``current_a`` with a compliance voltage."""

    @abc.abstractmethod
    def set_voltage(self, voltage_v: float, current_limit_a: float) -> None:
        """Constant-voltage mode at ``voltage_v`` with a current limit."""


class ACSource(Supply):
    """Programmable AC source supplying an AC-mains component (instead of the laboratory
    mains), so the supply voltage and frequency are the plan's and not the grid's
    (``measure``: the read-back of its output, V, A rms, W, Hz)."""

    @abc.abstractmethod
    def set_ac(self, voltage_v: float, frequency_hz: float) -> None:
        """Output ``voltage_v`` (V rms, sine) at ``frequency_hz``."""


class PowerAnalyzer(Instrument):
    """AC (or DC) power analyzer at the component's input."""

    @abc.abstractmethod
    def read(self) -> ElectricalReading:
        """Wait for a fresh update and return U, I, P, S, Q, PF, f, THD (+ harmonics)."""


class Spectroradiometer(Instrument):
    """Spectroradiometer on the integrating sphere."""

    @abc.abstractmethod
    def measure(self) -> SpectralReading:
        """Take one spectral reading (blocks until the instrument is done)."""

    def measure_dark(self) -> SpectralReading | None:
        """Reading with the shutter closed, for instruments that need it; else None."""
        return None


class TemperatureLogger(Instrument):
    """Thermocouple logger at the component's Tc point and the ambient."""

    @abc.abstractmethod
    def read_c(self, channel: int = 1) -> float:
        """Temperature of ``channel`` in degC."""


class Fixture(Instrument):
    """Whatever puts the next component in the sphere.

    On a real station this is the operator (a prompt) or an automatic handler;
    in the simulated lab it tells the device model which unit is loaded.
    """

    @abc.abstractmethod
    def load(self, serial: str, lot: str, family: str) -> None:
        """Bring unit ``serial`` into measuring position."""

    def unload(self) -> None:  # noqa: B027 - optional hook
        """Remove the unit (optional)."""

    def set_aux_lamp(self, on: bool) -> None:
        """Switch the sphere's auxiliary lamp (self-absorption measurement, LM-79)."""
        from lightcomp.errors import InstrumentError

        raise InstrumentError(f"fixture {self.config.resource} has no auxiliary lamp control")

    def set_filter(self, name: str | None) -> None:
        """Put filter ``name`` (e.g. ``"blue"``) in front of the photoreceiver, or none (VLC)."""
        from lightcomp.errors import InstrumentError

        raise InstrumentError(f"fixture {self.config.resource} has no filter control")


class Clock(abc.ABC):
    """Time as the station sees it; injected so simulation can run fast."""

    @abc.abstractmethod
    def now(self) -> float:
        """Seconds since an arbitrary epoch."""

    @abc.abstractmethod
    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of (device) time pass."""


class SystemClock(Clock):
    """Real time, for real hardware."""

    def now(self) -> float:
        import time

        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        import time

        time.sleep(seconds)


@dataclass(frozen=True)
class Waveform:
    """One oscilloscope record, already scaled: ``volts`` at ``times_s`` (both ``(N,)``)."""

    times_s: np.ndarray
    volts: np.ndarray
    clipped: bool = False  # samples at the ADC's end codes: the screen range is too small
    averages: int = 1


class FunctionGenerator(Instrument):
    """Function generator driving the modulation port of a bias-T (VLC test)."""

    @abc.abstractmethod
    def sine(self, frequency_hz: float, amplitude_vpp: float, offset_v: float = 0.0) -> None:
        """Sine of ``amplitude_vpp`` (V peak-to-peak into 50 ohm) at ``frequency_hz``."""

    @abc.abstractmethod
    def square(
        self, frequency_hz: float, amplitude_vpp: float, offset_v: float = 0.0, duty_pct=50.0
    ) -> None:
        """Square wave (a current step train for rise/fall times)."""

    @abc.abstractmethod
    def output(self, on: bool) -> None:
        """Switch the output."""

    def safe_state(self) -> None:
        try:
            self.output(False)
        except Exception:  # noqa: BLE001 - safe_state never raises
            pass


class Oscilloscope(Instrument):
    """Digital oscilloscope recording the modulation monitor and the photoreceiver."""

    @abc.abstractmethod
    def configure(
        self,
        time_range_s: float,
        channels: dict[int, tuple[float, float, str]],
        averages: int = 1,
    ) -> None:
        """Timebase (full screen ``time_range_s``), per channel ``(volts/div, offset V,
        coupling "AC"|"DC")`` and the number of averaged acquisitions."""

    @abc.abstractmethod
    def set_channel_scale(self, channel: int, volts_per_div: float, offset_v: float) -> None:
        """Vertical scale of one channel (auto-ranging)."""

    @abc.abstractmethod
    def acquire(self, channels: tuple[int, ...], points: int = 2000) -> dict[int, Waveform]:
        """Digitise ``channels`` once (blocking) and read their records."""
