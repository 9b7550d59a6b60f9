"""The batch runner: a lot of components through a station, one component at a time.

Per component: load it (fixture) and check its identity, self-absorption
(auxiliary lamp, DUT unpowered), power up at the plan's drive, stabilise (LM-79
rule on the injected clock; every reading is spectrum + dark at its
integration time + electrical), the stable reading plus temperatures is the
measurement, power down,
apply the calibration (:mod:`lightcomp.calibration`), compute the quantities
(:func:`lightcomp.analysis.analyze`, batch of one), bin the chromaticity and
judge every limit (:mod:`lightcomp.station.verdict`), then store everything in
ONE transaction: the measurement (key columns, quantities/verdicts JSON,
failed limits, raw/dark/calibrated spectra, stabilisation history,
instrument identities, calibration id), the component's new status and its
current pointer moved to the new row (``current_measurements``).

Stored arrays: ``wavelengths`` and ``spectrum`` are the calibrated spectral
flux (W/nm) on the 380–780 nm, 1 nm grid; ``raw_spectrum`` is a (2, P) array
(instrument wavelengths, raw values) and ``dark_spectrum`` the (P,) dark
values on the same pixels.

Resuming: components are issued (product codes) before they are measured and
stay ``issued`` until their measurement is committed, so re-running the same
command measures exactly the ones without a verdict (``--count N`` means "the
first N components of the lot"); ``error`` components are measured again,
``pass``/``fail`` ones only with ``retest``.  A killed run stays ``running`` in
``test_runs`` until the next run of the station on that lot marks it
``interrupted``.

Faults: an :class:`~lightcomp.errors.InstrumentError` during a component puts
every instrument in its safe state, checks each one (re-opening it when it does
not answer) and measures the component again, at most ``retries`` times (plan
``[measurement] retries``); then the component is stored as ``error`` (not
``fail``) and the batch goes on.  An instrument that cannot be re-opened, or
``MAX_CONSECUTIVE_ERRORS`` errors in a row, stop the batch cleanly
(:class:`BatchStopped`, resumable); so does a calibration problem (expired
during the batch, wavelength map moved: :class:`CalibrationError`).  Ctrl-C once: finish and store the current
component, then stop; twice (or SIGTERM): abandon it (nothing stored), power
down, stop.  Instruments are always left safe (outputs off).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from lightcomp.calibration import CalibrationSet, luminous_flux_lm
from lightcomp.drivers.base import ElectricalReading
from lightcomp.errors import (
    AnalysisInputError,
    CalibrationError,
    CodeError,
    InstrumentError,
    PlanError,
)
from lightcomp.station import run_records
from lightcomp.station.calibrate import DarkCache
from lightcomp.station.config import StationConfig
from lightcomp.station.evaluate import (
    ComponentResult,
    add_modulation,
    evaluate,
    family_maintenance,
)
from lightcomp.station.instruments import BatchStopped, StationInstruments
from lightcomp.station.interrupts import BatchAbandoned, InterruptControl, StopWaiting
from lightcomp.station.plan import TestPlan
from lightcomp.station.run_records import DONE_STATUSES, measurement_columns
from lightcomp.station.stabilisation import NotStableError, stabilise

__all__ = [
    "DONE_STATUSES",
    "MAX_CONSECUTIVE_ERRORS",
    "BatchAbandoned",
    "BatchMonitor",
    "BatchRunner",
    "BatchStopped",
    "ComponentResult",
    "InterruptControl",
    "RunSummary",
    "StationInstruments",
    "StopWaiting",
    "UnitOutcome",
    "family_maintenance",
    "measurement_columns",
]

CLOCK_DEFAULT = object()
"""``BatchRunner(uncertainty=)`` default: the trial counts follow the station's clock."""

MAX_CONSECUTIVE_ERRORS = 3
"""This many components in error in a row stop the batch (something is wrong with the station)."""


@dataclass
class UnitOutcome:
    """One unit of the batch finished (stored) or skipped, for a :class:`BatchMonitor`."""

    code: str  # product code (store form)
    serial: str | None  # the maker's serial, when the batch runs on serials
    verdict: str  # pass | fail | error
    failed_limits: list[str] = field(default_factory=list)  # plan limit names
    verdicts: dict = field(default_factory=dict)  # per limit: value, min, max (evaluate_limits)
    error_message: str | None = None
    skipped: bool = False  # already had a pass/fail verdict: not measured again
    tallies: dict[str, int] = field(default_factory=dict)  # the run's counts so far


class BatchMonitor(Protocol):
    """What the command line watches a batch with (progress bar or one line per unit)."""

    def step(self, unit: str, step: str) -> None:
        """``unit`` (product code) has reached ``step`` (loading, stabilising ...)."""

    def unit_done(self, outcome: UnitOutcome) -> None:
        """A unit was stored (or skipped)."""


@dataclass
class RunSummary:
    """Outcome of :meth:`BatchRunner.run`."""

    run_uid: str
    lot: str
    station: str
    plan: str
    status: str  # completed | interrupted | aborted
    measured: int = 0  # components measured (stored) by this run
    skipped: int = 0  # already done before this run
    n_pass: int = 0  # lot totals (current measurements) after the run
    n_fail: int = 0
    n_error: int = 0
    n_pending: int = 0
    message: str | None = None

    @property
    def n_tested(self) -> int:
        return self.n_pass + self.n_fail + self.n_error


class BatchRunner:
    """Runs a test plan on a station for one lot, storing every finished component.

    ``instruments`` (opened :class:`StationInstruments`) and ``clock`` may be
    injected (tests); otherwise they are opened from the station config.
    ``progress`` is called after every component with the running tallies
    (``{"pass", "fail", "error"}``); ``monitor`` (a :class:`BatchMonitor`) hears each
    unit's steps and outcome: the command line shows the unit, its step and the last
    failure with it.
    ``uncertainty``: keys replacing the plan's ``[uncertainty]`` ones (trial counts);
    None: the plan's own. By default a station on the simulated lab's clock uses
    :data:`~lightcomp.uncertainty.station.QUICK_MC` — there the instruments answer at
    once and the full adaptive Monte Carlo, not the instruments, would set the pace —
    and a station on real time the plan's; the batch says which when it starts.
    """

    def __init__(
        self,
        store,
        station: StationConfig,
        plan: TestPlan,
        lot: str,
        *,
        operator: str | None = None,
        instruments: StationInstruments | None = None,
        clock=None,
        progress: Callable[[dict[str, int]], None] | None = None,
        monitor: BatchMonitor | None = None,
        echo: Callable[[str], None] | None = None,
        interrupts: InterruptControl | None = None,
        now: Callable[[], datetime] | None = None,
        uncertainty: dict | None | object = CLOCK_DEFAULT,
    ) -> None:
        from lightcomp.station.serials import check_run_lot

        lot = check_run_lot(station, lot)
        self.store = store
        self.station = station
        self.plan = plan
        self.lot = lot
        self.operator = operator
        self.instruments = instruments
        self.clock = clock
        self.progress = progress
        self.monitor = monitor
        self._unit: str | None = None  # product code of the unit being measured
        self.echo = echo or (lambda _m: None)
        self.interrupts = interrupts or InterruptControl(self.echo)
        self._now = now or (lambda: datetime.now(UTC))
        self.calibration: CalibrationSet | None = None
        self._family_name: str | None = None
        self._maintenance: tuple[float, float] = (np.nan, np.nan)
        self._unc = None  # the batch's uncertainty Monte Carlo (every plan; [uncertainty])
        self._settle_pending: Callable[[], None] | None = None  # set while a batch runs
        if uncertainty is CLOCK_DEFAULT:
            from lightcomp.uncertainty.station import QUICK_MC

            uncertainty = QUICK_MC if station.clock.get("kind") == "simlab" else None
        self._unc_overrides: dict | None = uncertainty  # type: ignore[assignment]

    # -- set-up --------------------------------------------------------------------
    def _prepare(self, params: dict) -> tuple[int, int, int]:
        """Check calibration, family and lot; create the test run. Returns (run id, lot id, family id)."""
        self._check_station_for_plan()
        from lightcomp.calibration import current_calibration

        # The Monte Carlo's set-up first: a calibration without the standard lamp's
        # uncertainty under a plan that requires U is refused before the test run is
        # opened, so a refused start stores nothing (no run, no lot, no lock).
        said: list[str] = []  # its messages, said once the run is open
        with self.store.session() as s:
            calibration = current_calibration(s, self.station.name, self._now())
            self._unc = self._batch_uncertainty(s, calibration, echo=said.append)
        opened = run_records.open_run(
            self.store,
            self.station,
            self.plan,
            self.lot,
            operator=self.operator,
            params=params,
            now=self._now(),
        )
        self.calibration = opened.calibration
        if self.calibration.id == calibration.id:
            for line in said:
                self.echo(line)
            if self._unc is not None:
                self._unc.echo = self.echo  # the batch's own messages from now on
        else:  # replaced meanwhile: set up again on the run's own calibration
            with self.store.transaction() as s:
                self._unc = self._batch_uncertainty(s, self.calibration, echo=self.echo)
        if self._unc is not None and self._unc_overrides:
            m = self._unc.plan.model
            self.echo(
                f"uncertainty: Monte Carlo of every unit with the run's trial counts, not the "
                f"plan's (simulated clock): M = {m.trials}, at most {m.max_trials}, budget "
                f"{m.budget_trials} per input group"
            )
        self._family_name = opened.family_name
        self._maintenance = opened.maintenance
        self.run_uid = opened.run_uid
        if opened.lock_note:
            self.echo(opened.lock_note)
        for note in opened.interrupted:
            self.echo(note)
        return opened.run_id, opened.lot_id, opened.family_id

    def _batch_uncertainty(self, session, calibration, echo):
        """The batch's Monte Carlo on ``calibration`` (lightcomp.uncertainty.station.for_batch),
        or None when the plan does not require U and the calibration has none."""
        from lightcomp.station.judge import trial_sdcm_steps
        from lightcomp.uncertainty.station import for_batch

        return for_batch(
            session,
            self.plan.raw.get("uncertainty"),
            calibration,
            drive_mode=self.plan.drive.mode,
            drivers=self._datasheets(),
            overrides=self._unc_overrides,
            echo=echo,
            # the MacAdam steps by the judging rule, per trial: they get a U too
            derived=functools.partial(trial_sdcm_steps, self.plan),
            # the VLC test's results get U from their own records (issue 19)
            modulation=self.plan.modulation is not None,
            simulated=self.station.is_simulated,
        )

    def _check_station_for_plan(self) -> None:
        """The station has what the plan needs (:func:`check_plan_on_station`), checked
        before the store is touched."""
        check_plan_on_station(self.plan, self.station, self._unc_overrides)

    def _datasheets(self) -> dict[str, str]:
        return station_datasheets(self.station)

    def _record_instruments(self) -> None:
        run_records.record_instruments(
            self.store, self.station, self.instruments.identities, self._now()
        )

    def _components_for_count(self, lot_id: int, family_id: int, count: int) -> list[int]:
        return run_records.components_for_count(self.store, lot_id, family_id, count)

    def _component_for_serial(self, lot_id: int, family_id: int, serial: str) -> int:
        return run_records.component_for_serial(self.store, lot_id, family_id, serial)

    # -- main loop -----------------------------------------------------------------
    def run(
        self,
        *,
        count: int | None = None,
        serials: Iterable[str] | None = None,
        retest: bool = False,
        params: dict | None = None,
    ) -> RunSummary:
        """Measure the lot: the first ``count`` components, or the units ``serials``.

        Returns the summary; raises :class:`BatchStopped` (after storing what
        was finished and marking the run ``interrupted``) when an instrument is
        dead, :class:`CalibrationError` when the calibration is missing or expired.
        """
        if (count is None) == (serials is None):
            raise PlanError("give either a count or a list of serials")
        from lightcomp.coding.allocation import MAX_COUNT
        from lightcomp.station.lotlock import Heartbeat
        from lightcomp.station.serials import check_serial_list

        # everything checkable is checked before the store is touched
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT
        ):
            raise PlanError(f"--count must be a whole number from 1 to {MAX_COUNT}, not {count}")
        if isinstance(serials, list | tuple):
            serials = check_serial_list(self.station, serials)
            if len(serials) > MAX_COUNT:
                raise PlanError(f"{len(serials)} serials given; at most {MAX_COUNT} per batch")
        run_id, lot_id, family_id = self._prepare(
            {
                "count": count,
                "retest": retest,
                "lab": self.station.lab,
                "lab_address": self.station.lab_address,
                **(params or {}),
            }
        )
        own_instruments = self.instruments is None
        own_clock = self.clock is None
        summary = RunSummary(self.run_uid, self.lot, self.station.name, self.plan.name, "running")
        status, message, stop_exc = "completed", None, None
        heartbeat = Heartbeat(self.store, lot_id, self.run_uid)
        try:
            with self.interrupts.installed(), heartbeat:
                try:
                    try:
                        if own_instruments:
                            self.instruments = StationInstruments(self.station).open_all()
                        if own_clock:
                            self.clock = self.station.make_clock()
                    except InstrumentError as exc:
                        raise BatchStopped(f"cannot start the station: {exc}") from exc
                    self.instruments.safe_all()
                    self._record_instruments()
                    if count is not None:
                        work: Iterable[tuple[int, str | None]] = (
                            (cid, None)
                            for cid in self._components_for_count(lot_id, family_id, count)
                        )
                        total = count
                    else:
                        serial_list = serials
                        total = len(serial_list) if isinstance(serial_list, list | tuple) else None
                        work = self._serial_work(lot_id, family_id, serial_list)
                    self._loop(work, total, run_id, summary, retest)
                    if self.interrupts.stop_requested:
                        status, message = "interrupted", "stopped by the operator (Ctrl-C)"
                except BatchAbandoned as exc:
                    status = "interrupted"
                    message = (
                        "stopped by the operator: the components already measured were stored first"
                        if getattr(exc, "stored", False)
                        else "stopped by the operator: the current component was abandoned"
                    )
                except BatchStopped as exc:
                    status, message, stop_exc = "interrupted", str(exc), exc
                except CalibrationError as exc:
                    status, message, stop_exc = "interrupted", str(exc), exc
                except KeyboardInterrupt:
                    status, message = "interrupted", "interrupted"
                except BaseException as exc:
                    status, message = "aborted", f"{type(exc).__name__}: {exc}"
                    raise
                finally:
                    with self.interrupts.shielded():
                        self._cleanup(own_instruments, own_clock)
                        self._finish(run_id, lot_id, summary, status, message)
        except BaseException:
            if summary.status == "running":  # cleanup never ran (e.g. handler install failed)
                self._cleanup(own_instruments, own_clock)
                self._finish(run_id, lot_id, summary, "aborted", "unexpected stop")
            raise
        if stop_exc is not None:
            raise type(stop_exc)(
                f"{stop_exc}; batch stopped after {summary.measured} component(s) this run "
                f"({summary.n_tested} of the lot tested, {summary.n_pending} pending): re-run the "
                "same command to resume"
            ) from stop_exc
        return summary

    def _cleanup(self, own_instruments: bool, own_clock: bool) -> None:
        """Instruments safe (always); close what this run opened."""
        if self._unc is not None:
            self._unc.close()
        if self.instruments is not None:
            self.instruments.safe_all()
            if own_instruments:
                self.instruments.close_all()
                self.instruments = None
        if own_clock and self.clock is not None:
            if hasattr(self.clock, "close"):
                try:
                    self.clock.close()
                except Exception:  # noqa: BLE001
                    pass
            self.clock = None

    def _serial_work(self, lot_id: int, family_id: int, serials: Iterable[str]):
        """(component id, serial) per new serial; a serial read after a stop request (Ctrl-C)
        issues no code, and Ctrl-C while waiting for the next scan ends the batch at once.
        A bad or repeated scan is refused with a message and the batch waits for the next."""
        from lightcomp.station.serials import check_run_serial

        seen: set[str] = set()
        live = not isinstance(serials, list | tuple)  # a scanner (stdin): may wait minutes
        it = iter(serials)
        while True:
            if live and self._settle_pending is not None:
                # Store the unit measured last before waiting for the next scan: its Monte
                # Carlo would otherwise keep it unstored for as long as nobody scans.
                self._settle_pending()
            try:
                with self.interrupts.waiting_for_input():
                    raw = next(it)
            except (StopIteration, StopWaiting):
                return
            if self.interrupts.stop_requested:
                return
            serial = str(raw).strip()
            if not serial or serial.startswith("#"):
                continue
            try:
                serial = check_run_serial(self.station, serial)
            except PlanError as exc:
                self.echo(f"refused scan: {exc}")
                continue
            if serial in seen:
                self.echo(f"refused scan: serial {serial!r} was already scanned in this batch")
                continue
            seen.add(serial)
            yield self._component_for_serial(lot_id, family_id, serial), serial

    def _finish(
        self, run_id: int, lot_id: int, summary: RunSummary, status: str, message: str | None
    ) -> None:
        summary.status = status
        summary.message = message
        run_records.finish_run(
            self.store,
            run_id,
            status,
            message,
            summary.measured,
            self._now(),
            lot_id=lot_id,
            run_uid=self.run_uid,
        )
        counts = run_records.lot_counts(self.store, lot_id)
        if counts is None:
            return
        summary.n_pass, summary.n_fail = counts["pass"], counts["fail"]
        summary.n_error, summary.n_pending = counts["error"], counts["untested"]

    def _loop(self, work, total, run_id: int, summary: RunSummary, retest: bool) -> None:
        from lightcomp.store.models import Component

        consecutive_errors = 0
        tallies = {"pass": 0, "fail": 0, "error": 0}
        advance = self.progress or (lambda _tallies: None)
        # Measured components whose uncertainty Monte Carlo is still running: stored once
        # it is done, while the next unit is loaded, stabilised and measured (issue 19).
        pending: list[tuple[int, str, str | None, ComponentResult, Any]] = []

        def settle_all() -> None:
            while pending:
                settle()

        self._settle_pending = settle_all  # (for _serial_work, before a scanner waits)

        def settle() -> None:
            nonlocal consecutive_errors
            cid, code, serial, result, future = pending.pop(0)  # the oldest measured unit
            evaluation = (
                self._unc.settle(result, future, unit=code) if self._unc is not None else None
            )
            try:
                self._store(cid, run_id, result, evaluation)
            except BatchAbandoned as exc:  # 2nd Ctrl-C during the commit: it is stored
                exc.stored = True
                summary.measured += 1
                raise
            summary.measured += 1
            tallies[result.verdict] += 1
            advance(tallies)
            self._unit_done(code, serial, result.verdict, result, tallies)
            if result.verdict == "error":
                consecutive_errors += 1
                self.echo(f"{code}: error: {result.error_message}")
                if consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
                    raise BatchStopped(
                        f"{consecutive_errors} components in a row ended in error "
                        f"(last: {result.error_message})"
                    )
            else:
                consecutive_errors = 0

        completed = False
        try:
            for cid, _serial in work:
                if self.interrupts.stop_requested:
                    break
                with self.store.transaction() as s:
                    comp = s.get(Component, cid)
                    status, code, ext = comp.status, comp.product_code, comp.external_serial
                if status in DONE_STATUSES and not retest:
                    summary.skipped += 1
                    tallies[status] += 1
                    advance(tallies)
                    self._unit_done(code, ext, status, None, tallies)
                    continue
                if self.calibration.valid_until < self._now():
                    raise CalibrationError(
                        f"calibration {self.calibration.calib_id} expired on "
                        f"{self.calibration.valid_until:%Y-%m-%d %H:%M} UTC during the "
                        "batch: recalibrate the station"
                    )
                self._unit = code
                result = self.measure_with_retries(ext or code)
                future = self._unc.submit(result) if self._unc is not None else None
                pending.append((cid, code, ext, result, future))
                # the previous unit's Monte Carlo ran during this measurement: store it
                while len(pending) > 1 or (pending and future is None):
                    settle()
            completed = True
        finally:
            # a measured unit is stored whatever stops the batch (each one, even when
            # storing an earlier one raised)
            stop: BaseException | None = None
            while pending:
                try:
                    settle()
                except BaseException as exc:  # noqa: BLE001 - re-raised below
                    stop = stop or exc
            self._settle_pending = None
            if self._unc is not None and self._unc.worker.done:
                self.echo(self._unc.summary())
            if stop is not None and completed:  # else the first error is on its way
                raise stop

    def _step(self, serial: str, step: str) -> None:
        """Tell the monitor the unit being measured reached ``step``."""
        if self.monitor is not None:
            self.monitor.step(self._unit or serial, step)

    def _unit_done(
        self,
        code: str,
        serial: str | None,
        verdict: str,
        result: ComponentResult | None,
        tallies: dict[str, int],
    ) -> None:
        if self.monitor is None:
            return
        self.monitor.unit_done(
            UnitOutcome(
                code,
                serial,
                verdict,
                list(result.failed_limits) if result is not None else [],
                dict(result.verdicts) if result is not None else {},
                result.error_message if result is not None else None,
                skipped=result is None,
                tallies=dict(tallies),
            )
        )

    # -- one component -------------------------------------------------------------
    def measure_with_retries(self, serial: str) -> ComponentResult:
        """Measure one unit; retry after instrument faults; ``error`` result when retries run out."""
        retries = self.plan.measurement.retries
        last: Exception | None = None
        for attempt in range(retries + 1):
            try:
                res = self.measure_component(serial)
                res.attempts = attempt + 1
                return res
            except InstrumentError as exc:
                if isinstance(exc, BatchStopped):
                    raise
                last = exc
                self._step(serial, f"instrument fault, retry {attempt + 1} of {retries}: {exc}")
                self.instruments.safe_all()
                self.instruments.recover()  # raises BatchStopped for a dead instrument
            except NotStableError as exc:
                self.instruments.safe_all()
                return ComponentResult(
                    "error", error_message=f"stabilisation: {exc}", attempts=attempt + 1
                )
            except (AnalysisInputError, CodeError) as exc:
                self.instruments.safe_all()
                return ComponentResult("error", error_message=str(exc), attempts=attempt + 1)
        return ComponentResult("error", error_message=str(last), attempts=retries + 1)

    def _read_electrical(self) -> ElectricalReading:
        if self.plan.drive.mode == "ac":
            pa = self.instruments.get("power_analyzer")
            if pa is None:
                raise PlanError(
                    f"plan {self.plan.name!r} drives AC: the station needs a power_analyzer"
                )
            return pa.read()
        return self.instruments["source"].measure()

    def _supply(self):
        """The instrument powering the unit: the AC source for an AC plan, else the source."""
        return self.instruments["ac_source" if self.plan.drive.mode == "ac" else "source"]

    def _power_on(self) -> None:
        src = self._supply()
        d = self.plan.drive
        if d.mode == "dc-current":
            src.set_current(d.current_a, d.voltage_limit_v)
        elif d.mode == "dc-voltage":
            src.set_voltage(d.voltage_v, d.current_limit_a)
        else:  # AC: the plan's voltage and frequency from the programmable AC source
            src.set_ac(d.voltage_v, d.frequency_hz)
        src.output(True)

    def _measure_flicker(self) -> dict | None:
        """The light waveform of the powered, stable unit (plans with ``[flicker]``)."""
        if self.plan.flicker is None:
            return None
        from lightcomp.station.flicker import capture_light_waveform

        self._step(self._unit or "", "flicker (light waveform)")
        return capture_light_waveform(self.instruments["scope"], self.plan.flicker)

    def measure_component(self, serial: str) -> ComponentResult:
        """One attempt at one unit (instrument errors propagate; nothing is stored here)."""
        inst = self.instruments
        cal = self.calibration
        steps = self.plan.measurement
        spectro, fixture = inst["spectro"], inst["fixture"]
        self._step(serial, "loading")
        fixture.load(serial, self.lot, self._family_name)
        self._identify(fixture, serial)
        try:
            darks = DarkCache(spectro, steps.dark)
            alpha: Any = 1.0
            if steps.self_absorption != "none":
                self._step(serial, "self-absorption (auxiliary lamp)")
                fixture.set_aux_lamp(True)
                try:
                    aux = spectro.measure()
                finally:
                    fixture.set_aux_lamp(False)
                alpha = cal.alpha(aux, darks.for_reading(aux), steps.self_absorption)
            self._step(serial, "power on")
            self._power_on()
            last: dict[str, Any] = {}
            readings = [0]
            try:

                def read() -> dict[str, float]:
                    # Each stabilisation reading is a full reading; the one that
                    # shows stability is the measurement (LM-79: measure once stable).
                    readings[0] += 1
                    self._step(serial, f"stabilising (reading {readings[0]})")
                    last["raw"] = spectro.measure()
                    last["dark"] = darks.for_reading(last["raw"])
                    last["elec"] = self._read_electrical()
                    out = {}
                    if "flux" in self.plan.stabilisation.quantities:
                        flux = cal.spectral_flux(last["raw"], last["dark"], alpha)
                        out["flux"] = float(luminous_flux_lm(flux))
                    if "power" in self.plan.stabilisation.quantities:
                        out["power"] = float(last["elec"].power_w)
                    return out

                history = stabilise(read, self.plan.stabilisation, self.clock)
                raw, elec, dark = last["raw"], last["elec"], last["dark"]
                temps: dict[str, float] = {}
                if steps.temperature and inst.get("thermo") is not None:
                    self._step(serial, "temperatures")
                    th = inst["thermo"]
                    temps = {
                        "tc_c": th.read_c(steps.tc_channel),
                        "ambient_c": th.read_c(steps.ambient_channel),
                    }
                light = self._measure_flicker()
                modulation = self._measure_modulation()
            finally:
                supply = self._supply()
                try:
                    supply.output(False)
                except InstrumentError:
                    supply.safe_state()
                    raise
        finally:
            try:
                fixture.unload()
            except Exception:  # noqa: BLE001 - the next load replaces the unit anyway
                pass
        self._step(serial, "computing")
        spectrum = cal.spectral_flux(raw, dark, alpha)
        result = self._evaluate(raw, dark, spectrum, elec, temps, history, alpha)
        if light is not None:
            from lightcomp.store.models import LIGHT_WAVEFORM_KEY

            result.electrical[LIGHT_WAVEFORM_KEY] = light
        if modulation is not None:
            add_modulation(result, modulation, self.plan.modulation)
        return result

    def _measure_modulation(self):
        """The VLC modulation test on the powered unit (plans with ``[modulation]``)."""
        s = self.plan.modulation
        if s is None:
            return None
        from lightcomp.station.modulation import measure_modulation

        self._step(self._unit or "", "modulation")
        inst = self.instruments
        if inst.get("generator") is None or inst.get("scope") is None:
            raise PlanError(
                "the plan has a [modulation] test: the station needs generator and scope"
            )
        source, fixture, drive = inst["source"], inst["fixture"], self.plan.drive

        def set_bias(current_a: float) -> None:
            source.set_current(current_a, drive.voltage_limit_v)
            self.clock.sleep(1.0)  # let the junction settle at the new bias

        result = measure_modulation(
            inst["generator"], inst["scope"], fixture.set_filter, set_bias, s
        )
        set_bias(drive.current_a)
        return result

    @staticmethod
    def _identify(fixture, serial: str) -> None:
        """Check the unit in measuring position is ``serial`` (fixtures that can tell)."""
        loaded = getattr(fixture, "loaded", None)
        if not callable(loaded):
            return
        reply = str(loaded())
        if reply.split(",")[0].strip() != serial:
            raise InstrumentError(
                f"fixture reports unit {reply.split(',')[0]!r} in position, expected {serial!r}"
            )

    def _evaluate(self, raw, dark, spectrum, elec, temps, history, alpha) -> ComponentResult:
        return evaluate(
            self.plan,
            spectrum,
            elec,
            temperatures=temps,
            history=history,
            alpha=alpha,
            raw=raw,
            dark=dark,
            maintenance=self._maintenance,
        )

    def _store(
        self, component_id: int, run_id: int, r: ComponentResult, evaluation: dict | None = None
    ) -> None:
        """Commit one component (a second Ctrl-C waits for the commit)."""
        with self.interrupts.critical():
            run_records.store_result(
                self.store,
                component_id,
                run_id,
                self.calibration.id,
                r,
                self.instruments.identities,
                self._now(),
                evaluation,
                operator=self.operator,
            )


def station_datasheets(station: StationConfig) -> dict[str, str]:
    """Role -> data-sheet name of each of the station's instruments (its driver's; a
    generator's by its configured identity, lightcomp.uncertainty.modulation)."""
    from lightcomp.uncertainty.modulation import datasheet_name

    return {role: datasheet_name(c.driver, c.identity) for role, c in station.instruments.items()}


def check_plan_on_station(
    plan: TestPlan, station: StationConfig, overrides: dict | None = None
) -> None:
    """Raise (:class:`PlanError`, or ``UncertaintyModelError`` for the Monte Carlo's
    figures) unless ``station`` has what ``plan`` needs: an AC plan a programmable AC
    source and a power analyser; a flicker record the scope; a VLC plan that requires U
    the bench's figures (its instruments' data sheets, the model's receiver and bias-T
    figures; the simulator's on the simulated lab). The station runs it before a batch
    opens its test run (so a refused start stores nothing), ``lightcomp station check``
    on a station file and a plan given together."""
    have = station.instruments
    need = []
    if plan.drive.mode == "ac":
        need += [
            ("ac_source", "a programmable AC source"),
            ("power_analyzer", "a power analyser"),
        ]
    if plan.flicker is not None:
        need.append(("scope", "an oscilloscope with the photoreceiver on channel 2"))
    missing = [f"[instruments.{role}] ({what})" for role, what in need if role not in have]
    if missing:
        why = "drives AC mains" if plan.drive.mode == "ac" else "records flicker"
        raise PlanError(
            f"plan {plan.name!r} {why}: station {station.name!r} needs {' and '.join(missing)}"
        )
    if plan.modulation is not None:
        # Under required = false the batch runs and says that its modulation results get
        # no U (lightcomp.uncertainty.station.StationUncertainty, the same check).
        from lightcomp.labpaths import lab_root
        from lightcomp.uncertainty.modulation import bench_model
        from lightcomp.uncertainty.station import plan_uncertainty

        unc = plan_uncertainty(
            plan.raw.get("uncertainty"),
            lab_root(),
            drive_mode=plan.drive.mode,
            drivers=station_datasheets(station),
            overrides=overrides,
        )
        if unc.required:
            bench_model(unc.model, simulated=station.is_simulated)
