"""From readings to a result: the pure step between the instruments and the store.

:func:`evaluate` turns one component's calibrated spectrum, electrical reading,
temperatures and stabilisation history into a :class:`ComponentResult`: the
quantities (:func:`lightcomp.analysis.analyze`, a batch of one), the chromaticity
bins and photometric code, the verdict of every plan limit
(:mod:`lightcomp.station.verdict`). The uncertainty of every quantity is the GUM S1
Monte Carlo's (:mod:`lightcomp.uncertainty.station`, run beside the station for every
plan), added to the result before it is stored. No instrument, clock or store is touched, so it is tested with plain arrays.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lightcomp.drivers.base import ElectricalReading, SpectralReading
from lightcomp.errors import LightcompError, PlanError
from lightcomp.jsonvalues import json_safe
from lightcomp.station.judge import ANALYSIS_ERROR
from lightcomp.station.plan import TestPlan

__all__ = [
    "ComponentResult",
    "add_modulation",
    "electrical_dict",
    "evaluate",
    "family_maintenance",
]

#: The calibrated spectra's grid (nm), 380-780 nm at 1 nm (the analysis grid).
GRID_NM = np.arange(380.0, 781.0, 1.0)


@dataclass
class ComponentResult:
    """Everything measured and computed for one component (not yet stored)."""

    verdict: str  # pass | fail | error
    error_message: str | None = None
    quantities: dict = field(default_factory=dict)
    verdicts: dict = field(default_factory=dict)
    failed_limits: list = field(default_factory=list)
    electrical: dict = field(default_factory=dict)
    temperatures: dict = field(default_factory=dict)
    stabilisation: list = field(default_factory=list)
    raw: SpectralReading | None = None
    dark: SpectralReading | None = None
    spectrum: np.ndarray | None = None
    uncertainty: dict = field(default_factory=dict)
    attempts: int = 1
    modulation: dict | None = None  # VLC test curves (plans with [modulation])
    # the VLC test's records for the Monte Carlo of its results (not stored)
    modulation_inputs: Any = None


def electrical_dict(e: ElectricalReading) -> dict:
    """The reading as a dict: its fields are named as the catalogue's quantity keys."""
    d = {f.name: getattr(e, f.name) for f in dataclasses.fields(e) if f.name != "harmonics_a"}
    if e.harmonics_a is not None:
        d["harmonics_a"] = list(e.harmonics_a)
    return json_safe(d)


def evaluate(
    plan: TestPlan,
    spectrum: np.ndarray,
    elec: ElectricalReading,
    *,
    temperatures: dict[str, float] | None = None,
    history: list | tuple = (),
    alpha: Any = 1.0,
    raw: SpectralReading | None = None,
    dark: SpectralReading | None = None,
    maintenance: tuple[float, float] = (np.nan, np.nan),
) -> ComponentResult:
    """The result of one component from its readings and the plan (pure).

    Parameters
    ----------
    plan : TestPlan
        Limits, the nominal ANSI quadrangle.
    spectrum : array (401,)
        Calibrated spectral radiant flux (W/nm) on :data:`GRID_NM`.
    elec : ElectricalReading
        The electrical reading taken with the spectrum.
    temperatures : dict
        ``tc_c`` / ``ambient_c`` (°C) when measured.
    history : sequence
        Stabilisation readings (objects with ``as_dict()`` or dicts).
    alpha : float or array
        Self-absorption factor applied (stored as its mean).
    raw, dark : SpectralReading, optional
        Kept in the result for the store (raw pixel data).
    maintenance : (float, float)
        (maintained MacAdam steps, maintained flux fraction) from the family's LM-80
        data (:func:`family_maintenance`); NaN when unknown.
    """
    from lightcomp.analysis import analyze_arrays

    temps = dict(temperatures or {})
    hist = [h if isinstance(h, dict) else h.as_dict() for h in history]
    # The array path of the core (no DataFrame for one spectrum: issue 20).
    arrays = analyze_arrays(GRID_NM, spectrum[None, :], absolute=True, power_w=elec.power_w)
    err = arrays.pop("error")[0]
    q: dict[str, Any] = {k: json_safe(v[0]) for k, v in arrays.items()}
    q.update(electrical_dict(elec))
    q.pop("harmonics_a", None)
    q.update(temps)
    q["self_absorption"] = float(np.mean(alpha))
    common = {
        "electrical": electrical_dict(elec),
        "stabilisation": [json_safe(h) for h in hist],
        "raw": raw,
        "dark": dark,
        "spectrum": spectrum,
        "uncertainty": {},  # filled by the Monte Carlo (lightcomp.uncertainty.station)
    }
    if err is not None:
        return ComponentResult(
            "error",
            error_message=f"{ANALYSIS_ERROR}{err}",
            quantities=json_safe(q),
            temperatures=temps,
            **common,
        )
    # Bins, photometric code, limits and verdict: the one rule, shared with re-analysis.
    from lightcomp.station.judge import judge_rows

    j = judge_rows(plan, [json_safe(q)], [None], maintenance)[0]
    return ComponentResult(
        j.verdict,
        error_message=j.error_message,
        quantities=j.quantities,
        verdicts=json_safe(j.verdicts),
        failed_limits=j.failed_limits,
        temperatures=json_safe(temps),
        **common,
    )


def add_modulation(result: ComponentResult, modulation, settings) -> None:
    """Merge the VLC test's quantities, curves and limit verdicts into ``result`` (pure)."""
    from lightcomp.station.modulation import merge_modulation_verdicts

    q = modulation.quantities()
    result.quantities.update(json_safe(q))
    result.modulation = json_safe({k: v.tolist() for k, v in modulation.arrays().items()})
    result.modulation_inputs = getattr(modulation, "inputs", None)
    verdict, message, result.verdicts, result.failed_limits = merge_modulation_verdicts(
        result.verdict, result.verdicts, result.failed_limits, q, settings
    )
    result.verdict = verdict
    if message is not None:
        result.error_message = message


def family_maintenance(lm80: dict | None, family: str) -> tuple[float, float]:
    """(maintained MacAdam steps, maintained flux fraction) of a family from its LM-80 data.

    ``families.lm80`` holds ``hours`` (T,), ``flux`` (units x T), ``rated_life_h``
    and optionally ``maintained_sdcm`` (chromaticity spread at the same time).
    Both values are NaN when the family has no LM-80 data: the photometric code
    then carries ``-`` in those digits (IEC 62717 code ``ABC/D--``).
    """
    from lightcomp.analysis.lumen_maintenance import maintained_flux_fraction_IEC62717

    if not lm80:
        return np.nan, np.nan
    try:
        fraction, _at_h = maintained_flux_fraction_IEC62717(
            np.asarray(lm80["hours"], dtype=float),
            np.asarray(lm80["flux"], dtype=float),
            float(lm80["rated_life_h"]),
        )
    except KeyError as exc:
        raise PlanError(f"family {family!r}: LM-80 data lack {exc.args[0]!r}") from exc
    except LightcompError as exc:
        raise PlanError(f"family {family!r}: LM-80 data unusable: {exc}") from exc
    steps = lm80.get("maintained_sdcm")
    return (float(steps) if steps is not None else np.nan), fraction
