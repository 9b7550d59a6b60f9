"""The station's side of the Monte Carlo: inputs from a measurement and its
calibration, a background worker, the stored form and the decision rule.

The Monte Carlo of component N runs on a worker thread while the station loads,
stabilises and measures component N + 1 (the analysis releases the GIL in numpy,
the station mostly waits on instruments), so it does not hold up the instruments;
component N is stored, with its uncertainties and its verdict, once its Monte Carlo
is done. :class:`MCWorker` records how long the station had to wait for it (the
time the uncertainty adds per component).

Every plan gets the Monte Carlo. Plan section (``[uncertainty]`` of a test plan; the
section and every key are optional)::

    [uncertainty]
    model = "station/uncertainty/sim.toml"   # model file, relative to the lab folder;
                             # default: lightcomp.uncertainty.model.default_model (the
                             # documented defaults, the station's meters)
    required = true          # default true: refuse to run without the calibration's
                             # uncertainty data; false: run, say so, report no U
    decision_rule = "guarded"  # ILAC-G8:09/2019 "simple" (§4.2.1, default) or "guarded"
                             # (§4.2.2)
    trials = 10000           # batch size M (default: the model's)
    max_trials = 100000      # adaptive procedure's cap (default: the model's)
    budget_trials = 2000     # trials per input group for the budget (default: the model's)

A run on the simulated lab's clock (the demo, the tests) uses :data:`QUICK_MC` unless
told otherwise (``BatchRunner(uncertainty=...)``); the evaluation record stores the
trials used.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lightcomp.jsonvalues import finite
from lightcomp.uncertainty.model import (
    UncertaintyModel,
    UncertaintyModelError,
    default_model,
    load_model,
)
from lightcomp.uncertainty.montecarlo import READINGS, ComponentInputs, MCResult, monte_carlo

DECISION_RULES = ("simple", "guarded")

#: Trial counts of a quick run on the simulated lab's accelerated clock (the demo, the
#: tests), where the Monte Carlo and not the instruments would set the pace: batches of
#: M = 2000 (JCGM 101 §7.9.2: at least 100/(1 − p) = 2000 for a 95 % interval), two at
#: most, 300 trials per budget group. U is then stable to about one significant digit,
#: not two; a real station keeps the plan's (adaptive, two digits).
QUICK_MC: dict[str, int] = {"trials": 2000, "max_trials": 4000, "budget_trials": 300}

#: Quantities whose U the adaptive procedure stabilises (the reported ones): analysis
#: keys and readings. Every other quantity still gets its U from the same trials.
REPORTED: tuple[str, ...] = (
    "luminous_flux",
    "efficacy",
    "x",
    "y",
    "u_prime",
    "v_prime",
    "CCT",
    "Duv",
    "Ra",
    "R9",
    "Rf",
    "Rg",
    "voltage_v",
    "current_a",
    "power_w",
    "power_factor",
)


@dataclass(frozen=True)
class UncertaintyPlan:
    """A plan's ``[uncertainty]`` section (its defaults when it has none)."""

    model: UncertaintyModel
    required: bool = True
    decision_rule: str = "simple"

    @property
    def label(self) -> str:
        return self.model.name


def _section_error(key: str | None, message: str) -> UncertaintyModelError:
    """An error in the plan's ``[uncertainty]`` section; ``key`` (the offending key)
    lets ``lightcomp station check`` name its line."""
    exc = UncertaintyModelError(message)
    exc.key = key  # type: ignore[attr-defined]
    return exc


def plan_uncertainty(
    section: dict | None,
    base: Path | None = None,
    *,
    drive_mode: str = "dc-current",
    drivers: dict[str, str] | None = None,
    overrides: dict | None = None,
) -> UncertaintyPlan:
    """The plan's ``[uncertainty]`` section as an :class:`UncertaintyPlan`; a plan
    without one gets the defaults (the documented default model for its drive mode
    and the station's meters, :func:`~lightcomp.uncertainty.model.default_model`;
    U required; simple acceptance).

    ``model`` is resolved against ``base`` (the lab folder) when relative; a bad
    model file, an unknown decision rule or a non-positive trial count raise
    :class:`UncertaintyModelError` (with ``key``, the section's key at fault).
    ``overrides``: keys that replace the section's (trial counts of a quick simulated
    run).
    """
    section = {**(section or {}), **(overrides or {})}
    rule = decision_rule_of(section)
    if rule not in DECISION_RULES:
        raise _section_error(
            "decision_rule",
            f"[uncertainty] decision_rule {rule!r}: use {' or '.join(DECISION_RULES)}",
        )
    if "model" in section:
        path = Path(section["model"])
        if not path.is_absolute() and base is not None:
            path = base / path
        try:
            model = load_model(path)
        except UncertaintyModelError as exc:
            raise _section_error("model", str(exc)) from exc
    else:
        try:
            model = default_model(drive_mode, drivers)
        except UncertaintyModelError as exc:
            raise _section_error(
                None, f"{exc}: give [uncertainty] model = a model file naming the meters"
            ) from exc
    model = model.with_station_instruments(drivers)
    changes = {}
    for key in ("trials", "max_trials", "budget_trials"):
        if key in section:
            v = section[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise _section_error(key, f"[uncertainty] {key} must be a positive integer")
            changes[key] = v
    if changes:
        model = model.with_(**changes)
        if model.max_trials < model.trials:
            model = model.with_(max_trials=model.trials)
    required = section.get("required", True)
    if not isinstance(required, bool):
        raise _section_error("required", "[uncertainty] required must be true or false")
    return UncertaintyPlan(model=model, required=required, decision_rule=rule)


def decision_rule_of(section: dict | None) -> str:
    """The decision rule a plan's ``[uncertainty]`` section names (``simple``
    acceptance when it names none): the station's and re-analysis' one reading."""
    return (section or {}).get("decision_rule", "simple")


def calibration_has_uncertainty(calibration_u_rel_k2: np.ndarray | None) -> bool:
    """Whether a calibration carries its standard lamp's spectral uncertainty (some
    finite value > 0): the one test of "uncertainty data" for the station."""
    if calibration_u_rel_k2 is None:
        return False
    u = np.asarray(calibration_u_rel_k2, dtype=float)
    return bool(u.size and np.all(np.isfinite(u)) and np.any(u > 0))


def component_inputs(
    wavelengths: np.ndarray,
    spectrum: np.ndarray,
    *,
    calibration_u_rel_k2: np.ndarray | None,
    certificate: dict | None = None,
    wavelength_lines: dict | None = None,
    alpha: float | np.ndarray = 1.0,
    readings: dict[str, Any] | None = None,
    required: bool = False,
) -> ComponentInputs:
    """Monte Carlo inputs of one measurement from its calibration's records.

    ``calibration_u_rel_k2``: the calibration's spectral relative U (k = 2, the
    lamp certificate's column); ``certificate``: the certificate's metadata (its
    ``total_flux_uncertainty_rel_k2``); ``wavelength_lines``: the calibration's
    Hg-Ar line check (``offset_nm`` residuals). With ``required`` a calibration
    without uncertainty data is refused (:class:`UncertaintyModelError`) rather
    than reported without U.
    """
    u = None
    if calibration_has_uncertainty(calibration_u_rel_k2):
        u = np.asarray(calibration_u_rel_k2, dtype=float)
    if u is None and required:
        raise UncertaintyModelError(
            "the calibration carries no spectral uncertainty of its standard lamp: the plan "
            "requires U (recalibrate with a certificate that states it)"
        )
    total = (certificate or {}).get("total_flux_uncertainty_rel_k2")
    lines = (wavelength_lines or {}).get("offset_nm")
    r = {
        k: f for k, v in (readings or {}).items() if k in READINGS and (f := finite(v)) is not None
    }
    return ComponentInputs(
        np.asarray(wavelengths, dtype=float),
        np.asarray(spectrum, dtype=float),
        lamp_u_rel_k2=u,
        lamp_total_u_rel_k2=finite(total),
        wavelength_lines_nm=np.asarray(lines, dtype=float) if lines else None,
        alpha=float(np.mean(alpha)),
        readings=r,
    )


#: Key of the ``measurements.uncertainty`` JSON saying that no U is reported for some or
#: all of a unit's results and why: ``{"quantities": "all" | [keys], "reason": text}``
#: (a plan with ``required = false`` whose Monte Carlo failed: never a silent "–").
NOT_REPORTED = "not_reported"


def not_reported(uncertainty: dict | None) -> dict | None:
    """The stored note of results without U (:data:`NOT_REPORTED`), or None."""
    note = (uncertainty or {}).get(NOT_REPORTED)
    return note if isinstance(note, dict) else None


def has_reported_u(uncertainty: dict | None) -> bool:
    """Whether a stored ``uncertainty`` JSON states U for any result."""
    return any(
        isinstance(v, dict) and v.get("U") is not None
        for k, v in (uncertainty or {}).items()
        if k != NOT_REPORTED
    )


def stored_form(result: MCResult, quantities: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``measurements.uncertainty`` JSON: ``{key: {"U", "k", "u", "low", "high"}}``
    for every quantity with a finite value and u (keys of the analysis core and the
    readings, as in the ``quantities`` JSON; the modulation results' keys, their
    catalogue units, from :mod:`lightcomp.uncertainty.modulation`)."""
    out: dict[str, Any] = {}
    for key, s in result.stats.items():
        if quantities is not None and key not in quantities:
            continue
        if not (math.isfinite(s.u) and math.isfinite(s.value)):
            continue
        out[key] = {
            "U": s.U,
            "k": 2,
            "u": s.u,
            "low": s.low,
            "high": s.high,
            "source": "GUM S1 Monte Carlo",
            "trials": s.trials,
            "converged": s.converged,
        }
    return out


def evaluation_record(result: MCResult, plan: UncertaintyPlan) -> dict[str, Any]:
    """How U was obtained (stored beside the measurement): model, trials, budget."""
    d = result.as_dict()
    d.pop("quantities")
    d["decision_rule"] = plan.decision_rule
    return d


def apply_decision_rule(
    verdicts: dict[str, dict], uncertainty: dict[str, Any], rule: str
) -> tuple[dict[str, dict], list[str]]:
    """Verdicts under ``rule`` (ILAC-G8:09/2019): ``simple`` keeps them (§4.2.1);
    ``guarded`` (§4.2.2, guard band w = U) accepts a limit only when the value is
    inside it by at least U — a value within U of the limit fails. Each verdict gets
    the ``U`` used and the ``rule``. Returns (verdicts, failed limit names)."""
    out: dict[str, dict] = {}
    failed: list[str] = []
    for name, v in verdicts.items():
        e = dict(v)
        q = e.get("quantity")
        entry = uncertainty.get(q) if isinstance(q, str) else None
        big_u = entry.get("U") if isinstance(entry, dict) else None
        e["rule"] = rule
        if big_u is not None and e.get("value") is not None:
            e["U"] = big_u
            if rule == "guarded" and e.get("pass"):
                lo, hi, val = e.get("min"), e.get("max"), float(e["value"])
                inside = min(
                    val - lo if lo is not None else math.inf,
                    hi - val if hi is not None else math.inf,
                )
                if inside < big_u:
                    e["pass"] = False
                    e["guard_band"] = big_u
        if not e.get("pass"):
            failed.append(name)
        out[name] = e
    return out, failed


def ruled(
    verdict: str, verdicts: dict, failed_limits: list[str], uncertainty: dict, rule: str
) -> tuple[str, dict, list[str]]:
    """A unit's (verdict, per-limit verdicts, failed limits) under the plan's decision
    rule with its U (:func:`apply_decision_rule`): a pass with a limit failing under the
    rule becomes a fail; an error stays an error with its failed limits.  The station
    applies it when the unit's Monte Carlo is done, re-analysis with the carried U
    (:func:`carried_uncertainty`)."""
    verdicts, failed = apply_decision_rule(verdicts or {}, uncertainty, rule)
    if verdict == "pass" and failed:
        verdict = "fail"
    return verdict, verdicts, (failed if verdict != "error" else failed_limits)


def carried_uncertainty(
    uncertainty: dict | None, old: dict | None, new: dict, source_id: int
) -> dict:
    """The stored U of a measurement carried to its re-analysed values (issue 15/19).

    A re-analysis changes the analysis, not the measurement's inputs (the standard lamp,
    the readings, their distributions), so the U of each quantity stays the one the
    Monte Carlo of the measurement gave; the 95 % coverage interval moves with the
    value (``low``/``high`` shifted by new − old) so that it still holds the reported
    value.  A quantity without a finite re-analysed value keeps no U; one that had no
    value before gets none (nothing was evaluated for it).  Each entry names the
    measurement whose Monte Carlo it comes from (``carried_from``, kept through
    re-analyses of re-analyses); a :data:`NOT_REPORTED` note is kept as it is.

    A re-analysis stores only :func:`carry_reference` (U has one home, the row of the
    Monte Carlo); readers get this full form back through :func:`stored_uncertainty`.
    """
    out: dict[str, Any] = {}
    old = old or {}
    for key, entry in (uncertainty or {}).items():
        if key == NOT_REPORTED:
            out[key] = entry
            continue
        if not isinstance(entry, dict):
            continue
        was, now = _number(old.get(key)), _number(new.get(key))
        if was is None or now is None:
            continue
        e = dict(entry)
        shift = now - was
        if shift:
            for side in ("low", "high"):
                v = _number(e.get(side))
                if v is not None:
                    e[side] = v + shift
        e["carried_from"] = int(e.get("carried_from") or source_id)
        out[key] = e
    return out


#: The only key of a re-analysis row's stored ``uncertainty`` JSON: the id of the
#: measurement whose Monte Carlo gave its U (:func:`carry_reference`).
CARRIED = "carried_from"


def carry_reference(source_uncertainty: dict | None, source_id: int) -> dict:
    """What a re-analysis stores as its ``uncertainty``: ``{"carried_from": id}`` naming
    the measurement whose Monte Carlo gave the U (the row holding the arrays it
    re-analysed), or ``{}`` when that measurement has no stored U.

    The U are not copied: a copy of some forty entries was most of a re-analysed row's
    bytes and of its write cost, and a second home of numbers that cannot differ from
    the first.  :func:`stored_uncertainty` rebuilds them on reading."""
    return {CARRIED: int(source_id)} if source_uncertainty else {}


def is_carry_reference(uncertainty: Any) -> bool:
    """Whether a stored ``uncertainty`` JSON is a :func:`carry_reference`."""
    return (
        isinstance(uncertainty, dict)
        and len(uncertainty) == 1
        and isinstance(uncertainty.get(CARRIED), int)
    )


def stored_uncertainty(
    uncertainty: dict | None,
    quantities: dict | None = None,
    source_uncertainty: dict | None = None,
    source_quantities: dict | None = None,
) -> dict:
    """A measurement's U as readers show them: the stored JSON itself, or for a
    :func:`carry_reference` the U of the measurement it names carried to this row's
    values (:func:`carried_uncertainty`; ``quantities`` this row's values,
    ``source_*`` that measurement's stored U and values)."""
    if not is_carry_reference(uncertainty):
        return dict(uncertainty or {})
    return carried_uncertainty(
        source_uncertainty, source_quantities, quantities or {}, uncertainty[CARRIED]
    )


def _number(value: Any) -> float | None:
    """:func:`~lightcomp.jsonvalues.finite`, with no call for a plain finite float (a
    re-analysis carries some forty U a row, four numbers each)."""
    if type(value) is float:
        return value if value - value == 0.0 else None  # inf - inf and NaN give NaN
    return finite(value)


@dataclass
class UnitMC(MCResult):
    """The Monte Carlo result of one unit: the spectral and readings one merged with that
    of the modulation results (VLC plans), and why the latter failed, if it did."""

    modulation_error: str | None = None

    @classmethod
    def of(cls, result: MCResult, modulation_error: str | None = None) -> UnitMC:
        return cls(**vars(result), modulation_error=modulation_error)


def _reason(exc: BaseException) -> str:
    """One line naming why a Monte Carlo failed."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class MCWorker:
    """One background thread running the Monte Carlo of measured components.

    ``submit`` returns at once; ``result`` waits for it and adds the wait to
    ``waited_s`` (the time the uncertainty added to the batch); ``busy_s`` is the
    worker's own computing time.
    """

    plan: UncertaintyPlan
    waited_s: float = 0.0
    busy_s: float = 0.0
    done: int = 0
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="lightcomp-mc")
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, inputs: ComponentInputs, modulation: Any = None) -> Future:
        """Start the Monte Carlo of one unit: its spectrum and readings, and (VLC plans)
        its modulation records (:class:`~lightcomp.uncertainty.modulation.ModulationInputs`)."""
        return self._pool.submit(self._work, inputs, modulation)

    def _work(self, inputs: ComponentInputs, modulation: Any = None) -> UnitMC:
        t0 = time.perf_counter()
        try:
            spectral = monte_carlo(inputs, self.plan.model, stabilise=REPORTED)
            if modulation is None:
                return UnitMC.of(spectral)
            from lightcomp.uncertainty.modulation import merge, modulation_monte_carlo

            try:  # the spectral U stand even when the modulation Monte Carlo fails
                return UnitMC.of(
                    merge(spectral, modulation_monte_carlo(modulation, self.plan.model))
                )
            except Exception as exc:  # noqa: BLE001 - reported by StationUncertainty.settle
                return UnitMC.of(spectral, _reason(exc))
        finally:
            with self._lock:
                self.busy_s += time.perf_counter() - t0

    def result(self, future: Future) -> UnitMC:
        t0 = time.perf_counter()
        try:
            return future.result()
        finally:
            self.waited_s += time.perf_counter() - t0
            self.done += 1

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class StationUncertainty:
    """The Monte Carlo of a batch: one per measured component, on :class:`MCWorker`.

    ``submit(result)`` starts it for a measured (not yet stored) component result
    (``spectrum``, ``quantities``, ``electrical``, ``temperatures`` as the station
    fills them); ``settle(result, future)`` waits for it, puts the U of every
    quantity in ``result.uncertainty``, applies the plan's decision rule to
    ``result.verdicts`` (a unit that no longer conforms becomes ``fail``) and
    returns the evaluation record to store beside the measurement.
    """

    def __init__(
        self,
        plan: UncertaintyPlan,
        *,
        calibration_u_rel_k2: np.ndarray | None,
        certificate: dict | None = None,
        wavelength_lines: dict | None = None,
        grid: np.ndarray | None = None,
        derived: Any = None,
        modulation: bool = False,
        simulated: bool = False,
        echo: Any = None,
    ) -> None:
        if plan.required and not calibration_has_uncertainty(calibration_u_rel_k2):
            raise UncertaintyModelError(
                "the plan requires U but the station's calibration carries no standard-lamp "
                "uncertainty: recalibrate with a certificate that states it"
            )
        self.plan = plan
        self.calibration_u = calibration_u_rel_k2
        self.certificate = certificate or {}
        self.wavelength_lines = wavelength_lines
        self.grid = grid
        self.derived = derived  # quantities derived per trial (ComponentInputs.derived)
        self.echo = echo or (lambda _m: None)
        #: why the modulation results get no U in this batch (None: they get one)
        self.modulation_refused: str | None = None
        if modulation:
            from lightcomp.uncertainty.modulation import bench_model

            try:  # the VLC bench's figures: refused, never guessed (simulated: the simulator's)
                self.plan = replace(plan, model=bench_model(plan.model, simulated=simulated))
            except UncertaintyModelError as exc:
                if plan.required:
                    raise
                self.modulation_refused = str(exc)
                self.echo(
                    f"uncertainty: no U will be reported for the modulation results of this "
                    f"batch: {exc} (the plan says required = false)"
                )
        self.worker = MCWorker(self.plan)

    def submit(self, result: Any) -> Future | None:
        """Start the Monte Carlo of ``result`` (None when it has no spectrum)."""
        if result.spectrum is None or result.verdict == "error":
            return None
        q = result.quantities or {}
        readings = {**(result.electrical or {}), **(result.temperatures or {})}
        from lightcomp.analysis.spectra import WL

        grid = self.grid if self.grid is not None else WL
        inputs = component_inputs(
            grid,
            result.spectrum,
            calibration_u_rel_k2=self.calibration_u,
            certificate=self.certificate,
            wavelength_lines=self.wavelength_lines,
            alpha=q.get("self_absorption") or 1.0,
            readings=readings,
            required=self.plan.required,
        )
        inputs.derived = self.derived
        modulation = getattr(result, "modulation_inputs", None)
        if self.modulation_refused is not None:
            modulation = None
        return self.worker.submit(inputs, modulation)

    def settle(self, result: Any, future: Future | None, unit: str = "") -> dict | None:
        """Wait for ``future`` and apply it to ``result``; the evaluation record or None.

        A Monte Carlo that fails: with U required the unit is an error; otherwise the
        unit is stored without U for the results concerned, the stored ``uncertainty``
        says which and why (:data:`NOT_REPORTED`) and the station prints one line naming
        the unit and the reason."""
        if future is None:
            return None
        name = unit or "unit"
        try:
            mc = self.worker.result(future)
        except Exception as exc:  # noqa: BLE001 - the unit is an error, the batch goes on
            reason = f"Monte Carlo failed ({_reason(exc)})"
            if self.plan.required:
                result.verdict = "error"
                result.error_message = f"uncertainty: {exc}"
            else:
                result.uncertainty = {NOT_REPORTED: {"quantities": "all", "reason": reason}}
                self.echo(
                    f"uncertainty: {name}: no U reported for this unit: {reason} (the plan "
                    "says required = false)"
                )
            return None
        keys = set(result.quantities or {}) | set(READINGS)
        result.uncertainty = stored_form(mc, keys)
        missing = self._modulation_missing(result, mc)
        if missing is not None:
            keys_without, reason = missing
            if self.plan.required:
                result.verdict = "error"
                result.error_message = f"uncertainty of the modulation results: {reason}"
            else:
                result.uncertainty[NOT_REPORTED] = {"quantities": keys_without, "reason": reason}
                self.echo(
                    f"uncertainty: {name}: no U reported for {', '.join(keys_without)}: "
                    f"{reason} (the plan says required = false)"
                )
        result.verdict, result.verdicts, result.failed_limits = ruled(
            result.verdict,
            result.verdicts,
            result.failed_limits,
            result.uncertainty,
            self.plan.decision_rule,
        )
        return evaluation_record(mc, self.plan)

    def _modulation_missing(self, result: Any, mc: UnitMC) -> tuple[list[str], str] | None:
        """(modulation results without U, why) when the unit has modulation results that
        got no U, else None."""
        from lightcomp.uncertainty.modulation import MODULATION_KEYS

        q = result.quantities or {}
        measured = [k for k in MODULATION_KEYS if finite(q.get(k)) is not None]
        if not measured:
            return None
        if mc.modulation_error is not None:
            return measured, f"Monte Carlo of the modulation results failed ({mc.modulation_error})"
        if self.modulation_refused is not None:
            return measured, self.modulation_refused
        if getattr(result, "modulation_inputs", None) is None:
            return measured, "the modulation test kept no records for the Monte Carlo"
        without = [k for k in measured if k not in result.uncertainty]
        if without:
            return without, "the Monte Carlo gave no finite U (too few usable trials)"
        return None

    def summary(self) -> str:
        """One line: components, computing time and the time the station waited."""
        w = self.worker
        per = (w.waited_s / w.done) if w.done else 0.0
        return (
            f"uncertainty: {w.done} component(s), GUM S1 Monte Carlo {w.busy_s:.1f} s on the "
            f"worker, station waited {w.waited_s:.1f} s ({per:.2f} s per component)"
        )

    def close(self) -> None:
        self.worker.close()


def for_batch(
    session,
    plan_section: dict | None,
    calibration,
    *,
    drive_mode: str = "dc-current",
    drivers: dict[str, str] | None = None,
    overrides: dict | None = None,
    echo=None,
    derived: Any = None,
    modulation: bool = False,
    simulated: bool = False,
) -> StationUncertainty | None:
    """The batch's :class:`StationUncertainty` from the plan's ``[uncertainty]``
    section (its defaults when it has none) and the station's current calibration
    (its certificate's total-flux figure and Hg-Ar line check come from the stored
    calibration row).

    A calibration without uncertainty data: the plan requires U (the default) →
    :class:`UncertaintyModelError`, nothing measured; the plan says ``required =
    false`` → None, and ``echo`` says that no U will be reported (never a silent
    "–").
    """
    from lightcomp.labpaths import lab_root
    from lightcomp.store.models import Calibration

    plan = plan_uncertainty(
        plan_section, lab_root(), drive_mode=drive_mode, drivers=drivers, overrides=overrides
    )
    if not plan.required and not calibration_has_uncertainty(calibration.uncertainty):
        if echo is not None:
            echo(
                f"uncertainty: calibration {getattr(calibration, 'calib_id', '')} carries no "
                "standard-lamp uncertainty; no U will be reported for this batch (the plan "
                "says required = false)"
            )
        return None
    row = session.get(Calibration, calibration.id)
    certificate = ((row.inputs or {}).get("certificate") or {}) if row is not None else {}
    lines = ((row.results or {}).get("wavelength_lines") or None) if row is not None else None
    return StationUncertainty(
        plan,
        calibration_u_rel_k2=calibration.uncertainty,
        certificate=certificate,
        wavelength_lines=lines,
        grid=getattr(calibration, "grid", None),
        derived=derived,
        modulation=modulation,
        simulated=simulated,
        echo=echo,
    )


def evaluation_row(measurement_id: int, record: dict):
    """The ``uncertainty_evaluations`` row of a stored measurement."""
    from lightcomp.store.models import UncertaintyEvaluation

    return UncertaintyEvaluation(
        measurement_id=measurement_id,
        method=str(record.get("method", ""))[:64],
        model=str(record.get("model", ""))[:128],
        seed=int(record.get("seed", 0)),
        trials=int(record.get("trials", 0)),
        batches=int(record.get("batches", 0)),
        converged=bool(record.get("converged", False)),
        seconds=float(record.get("seconds", 0.0)),
        coverage=float(record.get("coverage", 0.95)),
        decision_rule=str(record.get("decision_rule", "simple")),
        budget=record.get("budget") or {},
    )


def evaluation_dict(session, measurement_id: int) -> dict | None:
    """The stored evaluation record of a measurement (for certificates), or None.

    A re-analysis has no Monte Carlo of its own: its U are those of the measurement
    whose stored readings it re-analysed (:func:`carried_uncertainty`), so its record is
    that measurement's, with ``carried_from`` naming it (id, analysis version, time)."""
    from sqlalchemy import select

    from lightcomp.store.models import Measurement, UncertaintyEvaluation

    def of(mid: int):
        return session.scalars(
            select(UncertaintyEvaluation).where(UncertaintyEvaluation.measurement_id == mid)
        ).first()

    row = of(measurement_id)
    carried = None
    if row is None:
        kind, source = session.execute(
            select(Measurement.kind, Measurement.source_measurement_id).where(
                Measurement.id == measurement_id
            )
        ).one_or_none() or (None, None)
        if kind != "reanalysis" or source is None or (row := of(source)) is None:
            return None
        version, measured_at = session.execute(
            select(Measurement.analysis_version, Measurement.measured_at).where(
                Measurement.id == source
            )
        ).one()
        carried = {
            "measurement_id": source,
            "analysis_version": version,
            "measured_at": measured_at.isoformat() if measured_at else None,
        }
    return {
        "carried_from": carried,
        "method": row.method,
        "model": row.model,
        "seed": row.seed,
        "trials": row.trials,
        "batches": row.batches,
        "converged": row.converged,
        "coverage": row.coverage,
        "decision_rule": row.decision_rule,
        "budget": row.budget or {},
    }
