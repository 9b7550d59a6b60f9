"""VLC bench of the simulated lab: generator, bias-T, device small-signal model, receiver, scope.

Bench (as on a real VLC test station): the DC source (``source`` role) biases
the LED through the DC port of a bias-T; a function generator drives the RF
port through 50 ohm, so the modulation current is ``v_gen / 50 ohm``; a
photoreceiver sees a fixed fraction of the light, optionally through a blue
filter on the fixture; the oscilloscope records the generator's output on
channel 1 (stimulus) and the photoreceiver on channel 2 (response), triggered
on the rising zero crossing of channel 1 at t = 0.

Device model (per family, keys of ``devices.toml`` with these defaults; values
typical of published InGaN pc-LED measurements, *(verify)* against a real part):

* junction RC: first-order pole ``vlc_rc_mhz`` (150 MHz) on the modulation current;
* static light-current curve: internal efficiency of the recombination model
  below (quadratic at low current) times the droop ``(I / I_nominal) ** flux_exponent``,
  with the diode cut off below zero current (clipping);
* carrier lifetime shortening with bias (SRH plus bimolecular recombination,
  ``tau = tau0 / sqrt(1 + I / I0)``): ``vlc_tau0_ns`` (60 ns) and
  ``vlc_i0_rel`` (I0 = 0.01 x nominal current), a first-order pole at
  ``1 / (2 pi tau)``;
* phosphor emission: the phosphor bands follow the blue chip's light through
  their own decay ``vlc_phosphor_tau_ns`` (65 ns, Ce:YAG-like), with the weight
  of the phosphor bands in the unit's spectrum;
* unit-to-unit spread: ``<key>_spread_rel`` (1 sigma) of tau0 (5 %), the phosphor
  decay (4 %) and the RC pole (5 %), deterministic in (family, lot, serial).

Light of an AC-mains module (flicker): its built-in driver passes part of the
rectified mains power through to the LED string, so the light ripples at twice the
mains frequency (the AC source's, :meth:`World._mains`) with the percent flicker
``flicker_depth`` of the family (default 5 %, unit spread ``flicker_depth_spread_rel``,
doubled by a lossy driver: defect ``high_vf``), a second harmonic of a quarter of the
ripple; the photoreceiver sees it DC-coupled on channel 2 (:func:`mains_light_period`).

Receiver: silicon PIN (responsivity ``0.7 x lambda / 1240 nm`` A/W) behind a
transimpedance of ``RECEIVER_GAIN_V_PER_A``, first-order bandwidth
``RECEIVER_BANDWIDTH_HZ``, white noise ``RECEIVER_NOISE_V`` rms; the blue filter
is a 470 nm short-pass (90 % in band, 0.5 % out of band); the phosphor
bands' Gaussian tails below 485 nm are cut for the blue/phosphor split (Stokes shift).  Periodic signals are
filtered exactly in the frequency domain over one period.

Protocols served, on the shared SCPI command tree (:mod:`lightcomp.simlab.scpi`: long/short
forms, optional nodes, error queue): :class:`Generator33500Sim` (Keysight 33500/33600 subset),
:class:`DSOX1102GSim` (InfiniiVision SCPI subset, WORD/BYTE records in IEEE
488.2 definite-length blocks) and :class:`VlcFixtureSim` (SIMCTL-1 plus
``FILTER BLUE|NONE`` and ``FILTER?``).
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from dataclasses import dataclass, field

import numpy as np

from lightcomp.simlab import device as dev
from lightcomp.simlab.instruments import FixtureSim, SimInstrument
from lightcomp.simlab.scpi import Bool, Call, Choice, Num, ScpiDevice, ScpiError, Setting, command
from lightcomp.simlab.world import World

MODULATION_OHM = 50.0
"""Series resistance of the bias-T's RF path (generator into 50 ohm)."""
RECEIVER_GAIN_V_PER_A = 2.0e3
RECEIVER_BANDWIDTH_HZ = 350e6
RECEIVER_NOISE_V = 0.5e-3
RECEIVER_COUPLING = 2.0e-4
"""Fraction of the component's radiant flux reaching the photodiode."""
BLUE_FILTER_EDGE_NM = 470.0
PHOSPHOR_ONSET_NM = 485.0
GENERATOR_EDGE_HZ = 120e6  # 33600A: 2.9 ns edges, as a first-order pole
SCOPE_NOISE_DIV = 0.02  # rms noise of the scope front end, in divisions
_PERIOD_SAMPLES = 4096

DEFAULTS = {
    "vlc_rc_mhz": 150.0,
    "vlc_tau0_ns": 60.0,
    "vlc_i0_rel": 0.01,
    "vlc_phosphor_tau_ns": 65.0,
    # unit-to-unit spread (1 sigma, relative)
    "vlc_tau0_ns_spread_rel": 0.05,
    "vlc_phosphor_tau_ns_spread_rel": 0.04,
    "vlc_rc_mhz_spread_rel": 0.05,
    # light ripple of an AC module (percent flicker / 100) *(verify against measured drivers)*
    "flicker_depth": 0.05,
    "flicker_depth_spread_rel": 0.20,
}


@dataclass
class GeneratorState:
    """Channel 1 of the simulated generator (channel 2 is accepted but not wired)."""

    function: str = "SIN"
    frequency_hz: float = 1.0e3
    amplitude_vpp: float = 0.1
    offset_v: float = 0.0
    duty_pct: float = 50.0
    output: bool = False
    load: str = "50"


@dataclass
class Bench:
    """State of the VLC bench shared by the generator, the fixture's filter and the scope."""

    generator: dict[int, GeneratorState] = field(
        default_factory=lambda: {1: GeneratorState(), 2: GeneratorState()}
    )
    blue_filter: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)


_BENCHES: weakref.WeakKeyDictionary[World, Bench] = weakref.WeakKeyDictionary()
_BENCH_LOCK = threading.Lock()


def bench(world: World) -> Bench:
    """The VLC bench of ``world`` (created on first use)."""
    with _BENCH_LOCK:
        b = _BENCHES.get(world)
        if b is None:
            b = _BENCHES[world] = Bench()
        return b


_SPREAD = {"vlc_tau0_ns": 0, "vlc_phosphor_tau_ns": 1, "vlc_rc_mhz": 2}


def _param(unit: dev.Unit, key: str) -> float:
    """A small-signal parameter of ``unit``: the family value with the unit's spread."""
    value = float(unit.family.params.get(key, DEFAULTS[key]))
    if key in _SPREAD:
        spread = float(unit.family.params.get(f"{key}_spread_rel", DEFAULTS[f"{key}_spread_rel"]))
        z = dev._rng("vlc", unit.family.name, unit.lot, unit.serial).standard_normal(3)
        value *= 1.0 + spread * float(z[_SPREAD[key]])
    return value


def carrier_lifetime_s(unit: dev.Unit, bias_a: float) -> float:
    """Differential carrier lifetime at ``bias_a``: tau0 / sqrt(1 + I / I0)."""
    i0 = _param(unit, "vlc_i0_rel") * unit.family.params["nominal_current_a"]
    return _param(unit, "vlc_tau0_ns") * 1e-9 / math.sqrt(1.0 + max(bias_a, 0.0) / i0)


def relative_light(unit: dev.Unit, current_a: np.ndarray) -> np.ndarray:
    """Static light-current curve, 1 at nominal current.

    Internal efficiency of the same SRH + bimolecular model as the lifetime
    (``G = A n + B n^2``, light ``~ B n^2``: ``(sqrt(1 + x) - 1)^2 / x`` with
    ``x = I / I0``, quadratic at low current) times the droop ``(I / I_nom) ** flux_exponent``.
    """
    p = unit.family.params
    i_nom = p["nominal_current_a"]
    i0 = _param(unit, "vlc_i0_rel") * i_nom

    def eff(i):
        x = np.maximum(np.asarray(i, dtype=float), 0.0) / i0
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(x > 0, (np.sqrt(1.0 + x) - 1.0) ** 2 / np.maximum(x, 1e-300), 0.0)

    return eff(current_a) / eff(i_nom) * (np.maximum(current_a, 0.0) / i_nom) ** p["flux_exponent"]


def _pole(f: np.ndarray, fc: float) -> np.ndarray:
    return 1.0 / (1.0 + 1j * f / fc)


def _filtered(x: np.ndarray, period_s: float, h) -> np.ndarray:
    """One period of ``x`` (periodic) through the response ``h(f)``."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, period_s / x.size)
    return np.fft.irfft(spec * h(f), n=x.size)


def _receiver_split(unit: dev.Unit, blue_filter: bool) -> tuple[float, float]:
    """Photocurrent (A) from the blue chip and from the phosphor at relative light 1."""
    p = unit.family.params
    bands = np.stack(
        [
            dev.gaussian_band(p["blue_peak_nm"], p["blue_fwhm_nm"]),
            dev.gaussian_band(p["green_peak_nm"], p["green_fwhm_nm"]),
            dev.gaussian_band(unit.red_peak_nm, p["red_fwhm_nm"]),
        ]
    )
    w = dev.mix_for_uv(bands, dev.target_uv(unit.cct_k, unit.duv))
    w = w * np.array([1.0, 1.0, unit.red_scale])
    parts = w[:, None] * bands
    # Stokes shift: the phosphor bands' Gaussian tails below ~485 nm are not emitted
    # (photometry keeps the Gaussians; only the blue/phosphor split uses this cut)
    parts[1:] *= 1.0 / (1.0 + np.exp(-(dev.WAVELENGTHS_NM - PHOSPHOR_ONSET_NM) / 5.0))
    share_blue = parts[0] / np.maximum(parts.sum(0), 1e-300)
    spec = unit.spectrum_25c  # W/nm at nominal current
    wl = dev.WAVELENGTHS_NM
    resp = 0.7 * wl / 1240.0  # A/W
    if blue_filter:
        edge = 1.0 / (1.0 + np.exp((wl - BLUE_FILTER_EDGE_NM) / 2.0))
        trans = 0.005 + (0.90 - 0.005) * edge
    else:
        trans = np.ones_like(wl)
    base = spec * resp * trans * RECEIVER_COUPLING
    return float((base * share_blue).sum()), float((base * (1 - share_blue)).sum())


def _generator_period(g: GeneratorState) -> np.ndarray:
    """One period of the generator's output voltage (V into 50 ohm), rising through 0 at t = 0."""
    ph = np.arange(_PERIOD_SAMPLES) / _PERIOD_SAMPLES
    if not g.output:
        return np.zeros(_PERIOD_SAMPLES)
    half = g.amplitude_vpp / 2.0
    if g.function == "SQU":
        # centre the rising edge on t = 0 (trigger), falling edge at the duty cycle
        x = np.where((ph < g.duty_pct / 100.0), half, -half)
        x = _filtered(x, 1.0 / g.frequency_hz, lambda f: _pole(f, GENERATOR_EDGE_HZ))
    elif g.function == "DC":
        x = np.zeros_like(ph)
    else:  # SIN (other shapes are not wired on the bench)
        x = half * np.sin(2 * np.pi * ph)
    return x + g.offset_v


def bench_signals(world: World) -> tuple[float, np.ndarray, np.ndarray]:
    """(period s, generator volts, receiver volts) over one period of the generator
    (of the light's mains ripple, for a powered AC module with the generator off).

    The receiver output is DC-coupled (its mean is the average light); without
    a unit, or with the source off and no modulation, it is zero.
    """
    b = bench(world)
    with b.lock:
        g = GeneratorState(**{k: v for k, v in vars(b.generator[1]).items()})
        blue = b.blue_filter
    mains = mains_light_period(world, blue)
    if mains is not None and not g.output:  # an AC module's own light: no stimulus
        return mains[0], np.zeros_like(mains[1]), mains[1]
    period = 1.0 / g.frequency_hz
    v_gen = _generator_period(g)
    with world.lock:
        unit = world.unit
        op = world.operating_point()
        bias = op.led_current_a if op is not None else 0.0
    if unit is None:
        return period, v_gen, np.zeros_like(v_gen)
    i_ac = _filtered(
        v_gen / MODULATION_OHM, period, lambda f: _pole(f, _param(unit, "vlc_rc_mhz") * 1e6)
    )
    light = relative_light(unit, np.maximum(bias + i_ac, 0.0))
    fc = 1.0 / (2 * np.pi * carrier_lifetime_s(unit, bias))
    fp = 1.0 / (2 * np.pi * _param(unit, "vlc_phosphor_tau_ns") * 1e-9)
    ib, ip = _receiver_split(unit, blue)

    def optical(f):
        chip = _pole(f, fc)
        return chip * (ib + ip * _pole(f, fp)) * _pole(f, RECEIVER_BANDWIDTH_HZ)

    v_rx = RECEIVER_GAIN_V_PER_A * _filtered(light, period, optical)
    return period, v_gen, v_rx


def flicker_depth(unit: dev.Unit) -> float:
    """Light ripple of an AC module (percent flicker / 100): the family's value with the
    unit's spread (deterministic in family, lot, serial); a lossy driver ripples twice as much."""
    p = unit.family.params
    depth = float(p.get("flicker_depth", DEFAULTS["flicker_depth"]))
    spread = float(p.get("flicker_depth_spread_rel", DEFAULTS["flicker_depth_spread_rel"]))
    z = float(dev._rng("flicker", unit.family.name, unit.lot, unit.serial).standard_normal())
    depth *= max(1.0 + spread * z, 0.2)
    if unit.defect == "high_vf":
        depth *= 2.0
    return min(depth, 0.95)


def mains_light_period(world: World, blue_filter: bool = False) -> tuple[float, np.ndarray] | None:
    """(ripple period s, receiver volts over one period) of a powered AC module; None
    when no AC module is powered.  Mean: the operating point's radiant flux through the
    photoreceiver; ripple at twice the mains frequency (:func:`flicker_depth`)."""
    with world.lock:
        unit, op, mains = world.unit, world.operating_point(), world._mains()
    if unit is None or op is None or mains is None or op.led_current_a <= 0:
        return None
    wl = dev.WAVELENGTHS_NM
    if blue_filter:
        trans = 0.005 + (0.90 - 0.005) / (1.0 + np.exp((wl - BLUE_FILTER_EDGE_NM) / 2.0))
    else:
        trans = np.ones_like(wl)
    mean_a = float((op.spectral_flux_w_nm * 0.7 * wl / 1240.0 * trans).sum()) * RECEIVER_COUPLING
    ph = np.arange(_PERIOD_SAMPLES) / _PERIOD_SAMPLES
    shape = np.cos(2 * np.pi * ph) + 0.25 * np.cos(4 * np.pi * ph + 0.6)
    shape /= (shape.max() - shape.min()) / 2.0  # peak-to-peak 2: percent flicker = depth
    light = 1.0 + flicker_depth(unit) * shape
    return 1.0 / (2.0 * mains[1]), RECEIVER_GAIN_V_PER_A * mean_a * light


# -- generator ---------------------------------------------------------------------------
_GEN_LIMITS = {"SIN": 120e6, "SQU": 100e6, "DC": 120e6}
_SHAPES = ("SINusoid", "SQUare", "TRIangle", "RAMP", "PULSe", "PRBS", "NOISe", "ARB", "DC")


class Generator33500Sim(ScpiDevice, SimInstrument):
    """Keysight 33600A-series generator (33500 command tree); channel 1 drives the bias-T.

    Per-channel settings (``[:SOURce<n>]``, ``:OUTPut<n>``) with the cross checks the
    instrument makes: frequency limit of the function (−221 when a function change
    would exceed it, −222 for a frequency beyond it), ``|offset| + Vpp/2 <= 5 V`` into
    50 ohm (−222).
    """

    idn = "Keysight Technologies,33622A,MY57800123,A.02.02-3.15-2.04-58-58"
    NUMBER_FORMAT = "{:+.15E}"

    def _gen(self, call: Call) -> GeneratorState:
        ch = call.suffix
        g = bench(self.world).generator.get(ch)
        if g is None:
            raise ScpiError(-114, f"channel {ch}")
        return g

    @command("[:SOURce<n>]:FUNCtion[:SHAPe]|?")
    def _function(self, call: Call) -> str | None:
        g = self._gen(call)
        if call.query:
            return g.function
        shape = call.arg(0, Choice(_SHAPES))
        if g.frequency_hz > _GEN_LIMITS.get(shape, 120e6):
            raise ScpiError(-221, "frequency too high for this function")
        g.function = shape
        return None

    @command("[:SOURce<n>]:FREQuency[:CW]|?")
    def _frequency(self, call: Call) -> str | None:
        g = self._gen(call)
        if call.query:
            return self.format_number(g.frequency_hz)
        g.frequency_hz = call.arg(0, Num(1e-6, _GEN_LIMITS.get(g.function, 120e6)))
        return None

    @command("[:SOURce<n>]:VOLTage[:LEVel][:IMMediate][:AMPLitude]|?")
    def _amplitude(self, call: Call) -> str | None:
        g = self._gen(call)
        if call.query:
            return self.format_number(g.amplitude_vpp)
        v = call.arg(0, Num(1e-3, 10.0))
        if abs(g.offset_v) + v / 2 > 5.0:
            raise ScpiError(-222, "amplitude + offset beyond 5 V")
        g.amplitude_vpp = v
        return None

    @command("[:SOURce<n>]:VOLTage[:LEVel][:IMMediate]:OFFSet|?")
    def _offset(self, call: Call) -> str | None:
        g = self._gen(call)
        if call.query:
            return self.format_number(g.offset_v)
        v = call.arg(0, Num(-5.0, 5.0))
        if abs(v) + g.amplitude_vpp / 2 > 5.0:
            raise ScpiError(-222, "amplitude + offset beyond 5 V")
        g.offset_v = v
        return None

    @command("[:SOURce<n>]:VOLTage:UNIT|?")
    def _unit(self, call: Call) -> str | None:
        if call.query:
            return "VPP"
        if call.arg(0, Choice(("VPP", "VRMS", "DBM"))) != "VPP":
            raise ScpiError(-221, "only VPP is simulated")
        return None

    @command("[:SOURce<n>]:FUNCtion:SQUare:DCYCle|?")
    def _duty(self, call: Call) -> str | None:
        g = self._gen(call)
        if call.query:
            return self.format_number(g.duty_pct)
        g.duty_pct = call.arg(0, Num(0.01, 99.99))
        return None

    @command("[:SOURce<n>]:PHASe[:ADJust]|?")
    def _phase(self, call: Call) -> str | None:
        if call.query:
            return self.format_number(0.0)
        call.arg(0, Num(-360.0, 360.0))  # not wired: the scope triggers on the output itself
        return None

    @command(":OUTPut<n>[:STATe]|?")
    def _output(self, call: Call) -> str | None:
        g = self._gen(call)
        if call.query:
            return "1" if g.output else "0"
        g.output = call.arg(0, Bool())
        return None

    @command(":OUTPut<n>:LOAD|?")
    def _load(self, call: Call) -> str | None:
        g = self._gen(call)
        if call.query:
            return "INF" if g.load == "INF" else self.format_number(float(g.load))
        text = call.arg(0).strip().upper()
        if text.startswith("INF"):
            g.load = "INF"
        else:
            g.load = f"{call.arg(0, Num(1.0, 10e3)):g}"
        return None


# -- oscilloscope ------------------------------------------------------------------------
@dataclass
class _Channel:
    scale: float = 1.0
    offset: float = 0.0
    coupling: str = "DC"
    display: bool = True
    probe: float = 1.0
    bwlimit: bool = False


class DSOX1102GSim(ScpiDevice, SimInstrument):
    """InfiniiVision DSOX1102G: 2 channels, 8-bit ADC, records of up to 62 500 points.

    ``:DIGitize`` acquires the requested channels (``:ACQuire:COUNt`` averages in
    AVERage mode); ``:WAVeform:DATA?`` answers a definite-length block of BYTE or
    WORD codes (or ASCii values), ``:WAVeform:PREamble?`` the 10 scaling values.
    """

    idn = "KEYSIGHT TECHNOLOGIES,DSO-X 1102G,CN57096123,02.12.2021071625"
    NUMBER_FORMAT = "{:+.5E}"
    max_points = 62500
    SETTINGS = (
        Setting(":TIMebase:MODE", Choice(("MAIN", "WINDow", "XY", "ROLL")), "MAIN"),
        Setting(":TIMebase:REFerence", Choice(("LEFT", "CENTer", "RIGHt")), "CENT"),
        Setting(":TIMebase[:MAIN]:POSition", Num(-500.0, 500.0), 0.0),
        Setting(":ACQuire:TYPE", Choice(("NORMal", "AVERage", "HRESolution", "PEAK")), "NORM"),
        Setting(":ACQuire:COUNt", Num(2, 65536, integer=True), 8),
        Setting(":WAVeform:FORMat", Choice(("WORD", "BYTE", "ASCii")), "BYTE"),
        Setting(":WAVeform:BYTeorder", Choice(("MSBFirst", "LSBFirst")), "MSBF"),
        Setting(":WAVeform:UNSigned", Bool(), True),
        Setting(":WAVeform:POINts", Num(100, 62500, integer=True), 1000),
        Setting(":WAVeform:POINts:MODE", Choice(("NORMal", "MAXimum", "RAW")), "NORM"),
    )

    def __init__(self, world: World, faults=None) -> None:
        super().__init__(world, faults)
        self.channels = {1: _Channel(), 2: _Channel()}
        self.range_s = 1e-3
        self.source = 1
        self.data: dict[int, tuple[np.ndarray, dict]] = {}

    def reset(self) -> None:
        super().reset()
        self.channels = {1: _Channel(), 2: _Channel()}
        self.range_s, self.source = 1e-3, 1

    def _handle(self, line: str):
        # a binary block cannot be joined with other replies: it is answered alone
        if scpi_is_data_query(line):
            return self._data()
        return super()._handle(line)

    # timebase
    @command(":TIMebase[:MAIN]:RANGe|?")
    def _range(self, call: Call) -> str | None:
        if call.query:
            return self.format_number(self.range_s)
        self.range_s = call.arg(0, Num(5e-9, 500.0))
        return None

    @command(":TIMebase[:MAIN]:SCALe|?")
    def _tscale(self, call: Call) -> str | None:
        if call.query:
            return self.format_number(self.range_s / 10)
        self.range_s = 10 * call.arg(0, Num(5e-10, 50.0))
        return None

    @command(":TIMebase?")
    def _timebase(self, call: Call) -> str:
        return (
            f":TIM:MODE {self.values[':TIMebase:MODE']};REF {self.values[':TIMebase:REFerence']};"
            f"MAIN:RANG {self.range_s:+.2E};POS {self.values[':TIMebase[:MAIN]:POSition']:+.1E}"
        )

    # channels
    def _ch(self, call: Call) -> _Channel:
        ch = self.channels.get(call.suffix)
        if ch is None:
            raise ScpiError(-114, f"channel {call.suffix}")
        return ch

    @command(":CHANnel<n>:SCALe|?")
    def _scale(self, call: Call) -> str | None:
        ch = self._ch(call)
        if call.query:
            return self.format_number(ch.scale)
        ch.scale = call.arg(0, Num(1e-3, 5.0))
        return None

    @command(":CHANnel<n>:RANGe|?")
    def _vrange(self, call: Call) -> str | None:
        ch = self._ch(call)
        if call.query:
            return self.format_number(8 * ch.scale)
        ch.scale = call.arg(0, Num(8e-3, 40.0)) / 8
        return None

    @command(":CHANnel<n>:OFFSet|?")
    def _offset(self, call: Call) -> str | None:
        ch = self._ch(call)
        if call.query:
            return self.format_number(ch.offset)
        ch.offset = call.arg(0, Num(-100.0, 100.0))
        return None

    @command(":CHANnel<n>:COUPling|?")
    def _coupling(self, call: Call) -> str | None:
        ch = self._ch(call)
        if call.query:
            return ch.coupling
        ch.coupling = call.arg(0, Choice(("AC", "DC")))
        return None

    @command(":CHANnel<n>:DISPlay|?")
    def _display(self, call: Call) -> str | None:
        ch = self._ch(call)
        if call.query:
            return "1" if ch.display else "0"
        ch.display = call.arg(0, Bool())
        return None

    @command(":CHANnel<n>:BWLimit|?")
    def _bwl(self, call: Call) -> str | None:
        ch = self._ch(call)
        if call.query:
            return "1" if ch.bwlimit else "0"
        ch.bwlimit = call.arg(0, Bool())
        return None

    @command(":CHANnel<n>:PROBe|?")
    def _probe(self, call: Call) -> str | None:
        ch = self._ch(call)
        if call.query:
            return self.format_number(ch.probe)
        ch.probe = call.arg(0, Num(0.001, 10000.0))
        return None

    # acquisition
    @command(":RUN")
    def _run(self, call: Call) -> None:
        return None

    @command(":STOP")
    def _stop(self, call: Call) -> None:
        return None

    @command(":SINGle")
    def _single(self, call: Call) -> None:
        self._digitize_channels([1, 2])

    @command(":AUToscale")
    def _autoscale(self, call: Call) -> None:
        return None

    @command(":DIGitize")
    def _dig(self, call: Call) -> None:
        chans = [self._source_of(a) for a in call.args if a.strip()] or sorted(self.channels)
        self._digitize_channels(chans)

    def _source_of(self, text: str) -> int:
        m = re.fullmatch(r"CHAN(?:NEL)?(\d)", text.strip().upper())
        if not m or int(m.group(1)) not in self.channels:
            raise ScpiError(-224, text)
        return int(m.group(1))

    @command(":WAVeform:SOURce|?")
    def _wsource(self, call: Call) -> str | None:
        if call.query:
            return f"CHAN{self.source}"
        self.source = self._source_of(call.arg(0))
        return None

    @command(":WAVeform:PREamble?")
    def _preamble(self, call: Call) -> str:
        entry = self.data.get(self.source)
        fmt = {"BYTE": 0, "WORD": 1, "ASC": 4}[self.values[":WAVeform:FORMat"]]
        if entry is None:
            raise ScpiError(-230, "no acquisition")
        word, p = entry
        if fmt == 0:
            yinc, yref = p["fs"] / 256, 128
        else:
            yinc, yref = p["fs"] / 65536, 32768
        return (
            f"+{fmt},+{p['type']},+{word.size},+{p['count']},{p['xinc']:+.9E},"
            f"{p['xorigin']:+.9E},+0,{yinc:+.9E},{p['offset']:+.9E},+{yref}"
        )

    def _digitize_channels(self, chans: list[int]) -> None:
        n = int(self.values[":WAVeform:POINts"])
        xinc = self.range_s / n
        xorigin = -self.range_s / 2 + self.values[":TIMebase[:MAIN]:POSition"]
        t = xorigin + xinc * np.arange(n)
        period, v_gen, v_rx = bench_signals(self.world)
        averages = (
            int(self.values[":ACQuire:COUNt"]) if self.values[":ACQuire:TYPE"] == "AVER" else 1
        )
        for c in chans:
            ch = self.channels[c]
            wave = v_gen if c == 1 else v_rx
            if ch.coupling == "AC":
                wave = wave - wave.mean()  # exact DC of a periodic signal
            ph = np.mod(t / period, 1.0) * wave.size
            ideal = np.interp(ph, np.arange(wave.size + 1), np.append(wave, wave[0]))
            if c == 2:
                ideal = ideal + RECEIVER_NOISE_V * np.asarray(self.world.noise(n))
            fs = 8 * ch.scale
            # at most 16 acquisitions are drawn; their noise is scaled to `averages`
            drawn = min(averages, 16)
            sigma = SCOPE_NOISE_DIV * ch.scale * math.sqrt(drawn / averages)
            noise = sigma * np.asarray(self.world.noise((drawn, n)))
            codes8 = np.clip(np.rint((ideal + noise - ch.offset) / fs * 256 + 128), 0, 255)
            # averaging keeps fractional codes (the 16-bit record holds them)
            word = np.clip(np.rint(codes8.mean(axis=0) * 256), 0, 65535).astype(np.int64)
            self.data[c] = (
                word,
                {
                    "type": 2 if averages > 1 else 0,
                    "count": averages,
                    "xinc": xinc,
                    "xorigin": xorigin,
                    "offset": ch.offset,
                    "fs": fs,
                },
            )

    def _data(self) -> bytes:
        entry = self.data.get(self.source)
        if entry is None:
            self.error(-230, "no acquisition")
            return b"#800000000"
        word, p = entry
        fmt = self.values[":WAVeform:FORMat"]
        if fmt == "ASC":
            volts = (word - 32768) * (p["fs"] / 65536) + p["offset"]
            body = ",".join(f"{v:+.6E}" for v in volts).encode()
        elif fmt == "BYTE":
            body = np.clip(np.rint(word / 256), 0, 255).astype(np.uint8).tobytes()
        else:
            unsigned = bool(self.values[":WAVeform:UNSigned"])
            codes = word if unsigned else word - 32768
            order = ">" if self.values[":WAVeform:BYTeorder"] == "MSBF" else "<"
            body = codes.astype(order + ("u2" if unsigned else "i2")).tobytes()
        return f"#8{len(body):08d}".encode() + body


def scpi_is_data_query(line: str) -> bool:
    """``:WAVeform:DATA?`` (any case, long or short form) alone on the line."""
    return re.fullmatch(r":?WAV(EFORM)?:DATA\?", line.strip(), flags=re.I) is not None


# -- fixture with the filter -------------------------------------------------------------
class VlcFixtureSim(FixtureSim):
    """SIMCTL-1 fixture of a VLC bench: also ``FILTER BLUE|NONE`` and ``FILTER?``."""

    idn = "LIGHTCOMP,SIMLAB-VLC-FIXTURE,0,1.0"

    def _handle(self, line: str):
        cmd, _, arg = line.strip().partition(" ")
        if cmd.upper() == "FILTER":
            name = arg.strip().upper()
            if name not in ("BLUE", "NONE"):
                return f"ERR unknown filter {arg.strip()!r} (BLUE or NONE)"
            b = bench(self.world)
            with b.lock:
                b.blue_filter = name == "BLUE"
            return "OK"
        if cmd.upper() == "FILTER?":
            return "BLUE" if bench(self.world).blue_filter else "NONE"
        return super()._handle(line)


VLC_SIMULATORS = {
    "keysight33500": Generator33500Sim,
    "dsox1102g": DSOX1102GSim,
    "sim-vlc-fixture": VlcFixtureSim,
}
"""Driver registry name -> simulated instrument of the VLC bench."""
