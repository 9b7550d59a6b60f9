"""Ageing of LED packages on an LM-80 rig (simulated lab).

The model behind the simulated LM-80 campaign (what the real parts do, so that
the campaign code has something honest to measure):

* **Lumen maintenance** of a unit driven at current I with its case at T (K)
  for ``t`` operating hours::

      Phi(t) / Phi(0) = (1 + r (1 - exp(-t / tau_r))) * exp(-D(t))
      D(t) = integral of alpha(T(s), I) ds over the operating time
      alpha(T, I) = alpha_ref * f_u * (I / I_nom)^n * exp(-Ea/k (1/T - 1/T_ref))

  i.e. an early rise ``r`` (a few %, settling within the first ~1000 h, as
  LM-80 data of phosphor-converted packages typically show), then the
  exponential decay TM-21 assumes, with an Arrhenius temperature dependence
  (the one TM-21-11's in-situ interpolation presumes). ``f_u`` is a lognormal
  unit-to-unit factor; ``r`` spreads too.
* **Chromaticity drift**: CCT and Duv move in proportion to the decay
  ``1 - exp(-D)`` (phosphor and encapsulant ageing: a blue shift and a drop
  below the locus), so Delta u'v' grows with temperature like the flux loss.
* **Catastrophic failure**: a unit fails open at an exponentially distributed
  time with an Arrhenius hazard; the rig configuration can also force failures
  (tests).
* **Excursions and outages**: a chamber excursion adds ``delta_c`` to the case
  temperature for its duration (extra dose); a rack-channel outage stops the
  unit's operating clock.

Everything is a deterministic function of (seed, serial, timeline, t): the
simulated lab restarts with every command, and the same campaign hour always
gives the same unit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

#: Boltzmann constant (eV/K), CODATA 2018 (exact).
BOLTZMANN_EV_PER_K = 8.617333262e-5


@dataclass(frozen=True)
class AgeingParams:
    """Ageing parameters of one device family (defaults: a mid-power pc-LED package)."""

    alpha_ref_per_h: float = 6.0e-6  # decay constant at t_ref_c and nominal current (1/h)
    t_ref_c: float = 85.0
    ea_ev: float = 0.45  # activation energy of the lumen decay (eV)
    current_exponent: float = 1.5
    rise: float = 0.02  # early rise (fraction of initial flux)
    rise_tau_h: float = 250.0
    alpha_spread_rel: float = 0.12  # lognormal sigma of the unit factor
    rise_spread: float = 0.004  # absolute sd of the rise
    cct_shift_k: float = 900.0  # CCT change per unit of (1 - exp(-D))
    duv_shift: float = -0.012  # Duv change per unit of (1 - exp(-D))
    failure_rate_ref_per_h: float = 1.0e-6  # catastrophic hazard at t_ref_c (1/h)
    failure_ea_ev: float = 0.7

    @classmethod
    def from_mapping(cls, data: Mapping | None) -> AgeingParams:
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown ageing parameter(s) {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in data.items()})


def arrhenius_factor(temp_c: np.ndarray | float, t_ref_c: float, ea_ev: float) -> np.ndarray:
    """exp(-Ea/k (1/T - 1/T_ref)), temperatures in degC."""
    t = np.asarray(temp_c, dtype=float) + 273.15
    return np.exp(-ea_ev / BOLTZMANN_EV_PER_K * (1.0 / t - 1.0 / (t_ref_c + 273.15)))


@dataclass(frozen=True)
class Excursion:
    """A chamber temperature excursion (controller log entry)."""

    chamber: int
    start_h: float
    duration_h: float
    delta_c: float


@dataclass(frozen=True)
class Outage:
    """A rack-channel output interruption."""

    channel: int
    start_h: float
    duration_h: float


@dataclass
class Timeline:
    """Excursions, outages and forced failures of one rig, in campaign hours."""

    excursions: list[Excursion] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    failures: dict[int, float] = field(default_factory=dict)  # channel -> failure hour

    @classmethod
    def from_config(
        cls, sim: Mapping, *, seed: int, chambers: int, channels: int, horizon_h: float
    ) -> Timeline:
        """Configured events (``[[simlab.excursions]]``, ``[[simlab.outages]]``,
        ``[[simlab.failures]]``) plus random ones at the rates ``excursion_rate_per_h``
        (per chamber) and ``outage_rate_per_h`` (per channel), drawn from ``seed``."""
        tl = cls()
        for e in sim.get("excursions", []):
            tl.excursions.append(
                Excursion(
                    int(e["chamber"]), float(e["at_h"]), float(e["duration_h"]), float(e["delta_c"])
                )
            )
        for o in sim.get("outages", []):
            tl.outages.append(Outage(int(o["channel"]), float(o["at_h"]), float(o["duration_h"])))
        for f in sim.get("failures", []):
            tl.failures[int(f["channel"])] = float(f["at_h"])
        rng = np.random.default_rng([seed, 80])
        rate_e = float(sim.get("excursion_rate_per_h", 0.0))
        for ch in range(1, chambers + 1):
            n = rng.poisson(rate_e * horizon_h)
            for start in np.sort(rng.uniform(24.0, horizon_h, n)):
                tl.excursions.append(
                    Excursion(
                        ch,
                        float(start),
                        float(rng.uniform(0.5, 6.0)),
                        float(rng.choice([-1, 1]) * rng.uniform(3.0, 8.0)),
                    )
                )
        rate_o = float(sim.get("outage_rate_per_h", 0.0))
        for ch in range(1, channels + 1):
            n = rng.poisson(rate_o * horizon_h)
            for start in np.sort(rng.uniform(24.0, horizon_h, n)):
                tl.outages.append(Outage(ch, float(start), float(rng.uniform(2.0, 24.0))))
        tl.excursions.sort(key=lambda e: (e.chamber, e.start_h))
        tl.outages.sort(key=lambda o: (o.channel, o.start_h))
        return tl

    def chamber_excursions(self, chamber: int, until_h: float) -> list[Excursion]:
        """Excursions of ``chamber`` that started by ``until_h`` (the controller's log)."""
        return [e for e in self.excursions if e.chamber == chamber and e.start_h <= until_h]

    def channel_outages(self, channel: int, until_h: float) -> list[Outage]:
        return [o for o in self.outages if o.channel == channel and o.start_h <= until_h]

    def delta_c(self, chamber: int, t_h: float) -> float:
        """Set-point deviation of ``chamber`` at ``t_h`` (0 outside excursions)."""
        return sum(
            e.delta_c
            for e in self.excursions
            if e.chamber == chamber and e.start_h <= t_h < e.start_h + e.duration_h
        )


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _unit_rng(seed: int, serial: str) -> np.random.Generator:
    digest = hashlib.sha256(f"ageing|{seed}|{serial}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class AgeingUnit:
    """A sample on the rig: where it is, how it is driven, and its own ageing draws."""

    serial: str
    chamber: int
    channel: int
    case_temp_c: float
    current_rel: float  # drive current / family nominal current
    unit_factor: float
    rise: float
    fail_at_h: float  # inf: never within the campaign

    @classmethod
    def draw(
        cls,
        params: AgeingParams,
        serial: str,
        *,
        seed: int,
        chamber: int,
        channel: int,
        case_temp_c: float,
        current_rel: float,
        forced_failure_h: float | None = None,
    ) -> AgeingUnit:
        r = _unit_rng(seed, serial)
        z = r.standard_normal(2)
        hazard = params.failure_rate_ref_per_h * float(
            arrhenius_factor(case_temp_c, params.t_ref_c, params.failure_ea_ev)
        )
        fail = -math.log(max(r.random(), 1e-300)) / hazard if hazard > 0 else math.inf
        if forced_failure_h is not None:
            fail = forced_failure_h
        return cls(
            serial,
            chamber,
            channel,
            float(case_temp_c),
            float(current_rel),
            float(math.exp(params.alpha_spread_rel * z[0])),
            float(params.rise + params.rise_spread * z[1]),
            float(fail),
        )

    def alpha(self, params: AgeingParams, temp_c: float) -> float:
        """Decay constant (1/h) at case temperature ``temp_c``."""
        return (
            params.alpha_ref_per_h
            * self.unit_factor
            * self.current_rel**params.current_exponent
            * float(arrhenius_factor(temp_c, params.t_ref_c, params.ea_ev))
        )

    def state(self, params: AgeingParams, timeline: Timeline, t_h: float) -> dict[str, float]:
        """Operating hours, dose, flux factor and colour shift at campaign hour ``t_h``."""
        t = max(float(t_h), 0.0)
        failed = t >= self.fail_at_h
        end = min(t, self.fail_at_h)
        outages = timeline.channel_outages(self.channel, end)
        off = sum(_overlap(0.0, end, o.start_h, o.start_h + o.duration_h) for o in outages)
        on_h = max(end - off, 0.0)
        base = self.alpha(params, self.case_temp_c)
        dose = base * on_h
        for e in timeline.chamber_excursions(self.chamber, end):
            dt = _overlap(0.0, end, e.start_h, e.start_h + e.duration_h)
            dose += (self.alpha(params, self.case_temp_c + e.delta_c) - base) * dt
        decay = 1.0 - math.exp(-dose)
        rise = 1.0 + self.rise * (1.0 - math.exp(-on_h / params.rise_tau_h))
        return {
            "on_h": on_h,
            "dose": dose,
            "flux_factor": 0.0 if failed else rise * math.exp(-dose),
            "cct_shift_k": params.cct_shift_k * decay,
            "duv_shift": params.duv_shift * decay,
            "failed": float(failed),
        }
