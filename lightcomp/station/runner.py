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
instrument identities, calibration id), the component's new status and the
previous measurement's ``is_current = False``.

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

import dataclasses
import math
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select, update

from lightcomp import quantities as catalogue
from lightcomp.calibration import (
    GRID_NM,
    CalibrationSet,
    DarkCache,
    current_calibration,
    luminous_flux_lm,
)
from lightcomp.coding.allocation import refuse_closed_lot
from lightcomp.drivers import open_instrument
from lightcomp.drivers.base import ElectricalReading, SpectralReading
from lightcomp.errors import (
    AnalysisInputError,
    CalibrationError,
    CodeError,
    InstrumentError,
    LightcompError,
    PlanError,
)
from lightcomp.station.config import StationConfig
from lightcomp.station.plan import TestPlan
from lightcomp.station.stabilisation import NotStableError, stabilise
from lightcomp.station.verdict import chromaticity_bins, evaluate_limits
from lightcomp.store.codec import encode_array

MAX_CONSECUTIVE_ERRORS = 3
"""This many components in error in a row stop the batch (something is wrong with the station)."""

DONE_STATUSES = ("pass", "fail")


class BatchStopped(InstrumentError):
    """The batch stopped before its end (dead instrument, too many errors); it is resumable."""


class BatchAbandoned(KeyboardInterrupt):  # noqa: N818 - a control-flow signal
    """Second Ctrl-C (or SIGTERM): abandon the current component now."""


# ----------------------------------------------------------------------------------------
# Interrupts
# ----------------------------------------------------------------------------------------
class StopWaiting(Exception):  # noqa: N818 - a control-flow signal
    """Ctrl-C while waiting for the next scan: stop waiting (nothing is being measured)."""


class InterruptControl:
    """Ctrl-C handling: first press = stop after this component, second = abandon it.

    While the batch waits for the next serial (a barcode scanner on stdin) there is
    no current component: the first press stops the waiting at once.
    """

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.stop_requested = False
        self.presses = 0
        self._echo = echo or (lambda _m: None)
        self._critical = 0
        self._pending_abandon = False
        self._shielded = False
        self._waiting = False

    @contextmanager
    def waiting_for_input(self) -> Iterator[None]:
        """A blocking read of the next serial that the first Ctrl-C ends (:class:`StopWaiting`)."""
        if self.stop_requested:
            raise StopWaiting()
        self._waiting = True
        try:
            yield
        finally:
            self._waiting = False

    def request_stop(self) -> None:
        self.stop_requested = True

    def _handler(self, signum, _frame) -> None:
        self.presses += 1
        self.stop_requested = True
        if self._waiting:  # nothing in progress: stop waiting for the next scan now
            self._waiting = False
            self._echo("stopped waiting for the next serial")
            raise StopWaiting()
        if signum == signal.SIGINT and self.presses == 1:
            self._echo("stopping after the current component (Ctrl-C again to abandon it)")
            return
        if self._shielded:
            return  # already stopping: cleaning up and recording the run
        if self._critical:
            self._pending_abandon = True
            return
        raise BatchAbandoned()

    @contextmanager
    def installed(self) -> Iterator[InterruptControl]:
        """Install the SIGINT/SIGTERM handlers (main thread only) for the block."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old_int = signal.signal(signal.SIGINT, self._handler)
        old_term = signal.signal(signal.SIGTERM, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """Clean-up that no further Ctrl-C may cut (powering down, recording the run)."""
        self._shielded = True
        try:
            yield
        finally:
            self._shielded = False

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A section the second Ctrl-C must not cut (the store commit)."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
        if not self._critical and self._pending_abandon:
            self._pending_abandon = False
            raise BatchAbandoned()


# ----------------------------------------------------------------------------------------
# Instruments
# ----------------------------------------------------------------------------------------
class StationInstruments:
    """The opened instruments of a station, by role, with recovery and safe state."""

    def __init__(self, station: StationConfig, opener: Callable | None = None) -> None:
        self.station = station
        self._open = opener or open_instrument
        self.inst: dict[str, Any] = {}
        self.identities: dict[str, str] = {}

    def open_all(self, attempts: int = 2) -> StationInstruments:
        """Open every instrument (each up to ``attempts`` times) and read its identity."""
        try:
            for role, cfg in self.station.instruments.items():
                for attempt in range(attempts):
                    try:
                        self.inst[role] = self._open(cfg)
                        self.identities[role] = self.inst[role].identify()
                        break
                    except InstrumentError:
                        self.inst.pop(role, None)
                        if attempt + 1 == attempts:
                            raise
        except BaseException:
            self.close_all()
            raise
        return self

    def __getitem__(self, role: str):
        return self.inst[role]

    def get(self, role: str):
        return self.inst.get(role)

    def __contains__(self, role: str) -> bool:
        return role in self.inst

    def recover(self) -> None:
        """Check every instrument; re-open the ones that do not answer or answer wrongly.

        Raises :class:`BatchStopped` naming the instrument that cannot be brought back.
        """
        for role, cfg in self.station.instruments.items():
            inst = self.inst.get(role)
            try:
                if inst is None:
                    raise InstrumentError("not open")
                inst.check_identity()
                continue
            except Exception:  # noqa: BLE001 - any failure means re-open
                pass
            if inst is not None:
                try:
                    inst.close()
                except Exception:  # noqa: BLE001
                    pass
            last: Exception | None = None
            for _ in range(2):
                try:
                    self.inst[role] = self._open(cfg)
                    self.identities[role] = self.inst[role].identify()
                    last = None
                    break
                except Exception as exc:  # noqa: BLE001
                    last = exc
                    self.inst.pop(role, None)
            if last is not None:
                raise BatchStopped(
                    f"instrument {role} ({cfg.driver}) at {cfg.resource} is not responding ({last})"
                ) from last

    def safe_all(self) -> None:
        """Every instrument to its safe state (outputs off, aux lamp off); never raises."""
        for role, inst in list(self.inst.items()):
            try:
                inst.safe_state()
            except Exception:  # noqa: BLE001
                pass
            if role == "fixture":
                try:
                    inst.set_aux_lamp(False)
                except Exception:  # noqa: BLE001
                    pass

    def close_all(self) -> None:
        self.safe_all()
        for inst in self.inst.values():
            try:
                inst.close()
            except Exception:  # noqa: BLE001
                pass
        self.inst = {}


# ----------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------
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


def _json_safe(value: Any) -> Any:
    """Plain JSON values (NaN/inf -> None, numpy scalars -> Python)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def _electrical_dict(e: ElectricalReading) -> dict:
    """The reading as a dict: its fields are named as the catalogue's quantity keys."""
    d = {f.name: getattr(e, f.name) for f in dataclasses.fields(e) if f.name != "harmonics_a"}
    if e.harmonics_a is not None:
        d["harmonics_a"] = list(e.harmonics_a)
    return _json_safe(d)


# ----------------------------------------------------------------------------------------
# The runner
# ----------------------------------------------------------------------------------------
class BatchRunner:
    """Runs a test plan on a station for one lot, storing every finished component.

    ``instruments`` (opened :class:`StationInstruments`) and ``clock`` may be
    injected (tests); otherwise they are opened from the station config.
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
        progress: bool = False,
        echo: Callable[[str], None] | None = None,
        interrupts: InterruptControl | None = None,
        now: Callable[[], datetime] | None = None,
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
        self.echo = echo or (lambda _m: None)
        self.interrupts = interrupts or InterruptControl(self.echo)
        self._now = now or (lambda: datetime.now(UTC))
        self.calibration: CalibrationSet | None = None
        self._family_name: str | None = None
        self._unc = None  # the batch's uncertainty Monte Carlo (plan [uncertainty])

    # -- set-up --------------------------------------------------------------------
    def _prepare(self, params: dict) -> tuple[int, int, int]:
        """Check calibration, family and lot; create the test run. Returns (run id, lot id, family id)."""
        from lightcomp import __version__
        from lightcomp.coding.registry import find_family
        from lightcomp.store.models import Family, TestRun

        if self.plan.drive.mode == "ac" and "power_analyzer" not in self.station.instruments:
            raise PlanError(
                f"plan {self.plan.name!r} drives AC mains: station {self.station.name!r} "
                "needs an [instruments.power_analyzer]"
            )
        from lightcomp.coding.allocation import get_or_create_lot
        from lightcomp.station import lotlock

        run_uid = uuid.uuid4().hex
        with self.store.transaction() as s:
            self.calibration = current_calibration(s, self.station.name, self._now())
            from lightcomp.uncertainty.station import for_batch

            self._unc = for_batch(s, self.plan.raw.get("uncertainty"), self.calibration)
            fam = find_family(s, self.plan.family, self.plan.manufacturer)
            self._family_name = fam.name
            self._maintenance = family_maintenance(fam.lm80, fam.name)
            lot, created = get_or_create_lot(s, self.lot, fam.id, received_at=self._now())
            if not created:
                try:
                    refuse_closed_lot(lot)
                except CodeError as exc:
                    raise PlanError(str(exc)) from None
            if lot.family_id not in (None, fam.id):
                other = s.get(Family, lot.family_id)
                raise PlanError(
                    f"lot {self.lot!r} belongs to family {other.name if other else lot.family_id!r}, "
                    f"plan {self.plan.name!r} tests {fam.name!r}"
                )
            # one batch per lot at a time (before any earlier run is marked interrupted)
            note = lotlock.acquire(s, lot.id, self.lot, self.station.name, run_uid)
            if note:
                self.echo(note)
            s.execute(
                update(TestRun)
                .where(
                    TestRun.station == self.station.name,
                    TestRun.lot_id == lot.id,
                    TestRun.status == "running",
                )
                .values(status="interrupted", ended_at=self._now())
            )
            run = TestRun(
                run_uid=run_uid,
                lot_id=lot.id,
                station=self.station.name,
                plan_name=self.plan.name,
                plan_version=self.plan.version,
                plan_hash=self.plan.sha256,
                plan=_json_safe(self.plan.snapshot()),
                operator=self.operator,
                status="running",
                calibration_id=self.calibration.id,
                software_version=__version__,
                host=socket.gethostname()[:128],
                params=_json_safe(params),
                started_at=self._now(),
            )
            s.add(run)
            s.flush()
            self.run_uid = run.run_uid
            return run.id, lot.id, fam.id

    def _record_instruments(self) -> None:
        from lightcomp.store.models import Instrument

        now = self._now()
        with self.store.transaction() as s:
            for role, ident in self.instruments.identities.items():
                ident = (ident or "?")[:256]
                row = s.scalar(
                    select(Instrument).where(
                        Instrument.station == self.station.name,
                        Instrument.role == role,
                        Instrument.identity == ident,
                    )
                )
                cfg = self.station.instruments[role]
                if row is None:
                    s.add(
                        Instrument(
                            station=self.station.name,
                            role=role,
                            driver=cfg.driver,
                            identity=ident,
                            resource=cfg.resource,
                            first_seen=now,
                            last_seen=now,
                        )
                    )
                else:
                    row.last_seen = now
                    row.resource = cfg.resource

    def _components_for_count(self, lot_id: int, family_id: int, count: int) -> list[int]:
        """Ids of the first ``count`` components of the lot, issuing missing codes first."""
        from lightcomp.coding import issue_codes
        from lightcomp.store.models import Component

        with self.store.transaction() as s:
            have = (
                s.scalar(
                    select(func.count()).select_from(Component).where(Component.lot_id == lot_id)
                )
                or 0
            )
            if have < count:
                fam = s.get(_family_model(), family_id)
                lot = s.get(_lot_model(), lot_id)
                issue_codes(s, fam, count - have, lot=lot)
            ids = s.scalars(
                select(Component.id)
                .where(Component.lot_id == lot_id)
                .order_by(Component.id)
                .limit(count)
            ).all()
        return list(ids)

    def _component_for_serial(self, lot_id: int, family_id: int, serial: str) -> int:
        from lightcomp.coding import issue_codes
        from lightcomp.store.models import Component

        with self.store.transaction() as s:
            cid = s.scalar(
                select(Component.id)
                .where(Component.lot_id == lot_id, Component.external_serial == serial)
                .order_by(Component.id)
                .limit(1)
            )
            if cid is None:
                fam = s.get(_family_model(), family_id)
                lot = s.get(_lot_model(), lot_id)
                cid = issue_codes(s, fam, 1, lot=lot, external_serials=[serial])[0].id
        return cid

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
                        "stopped by the operator: the current component was stored first"
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
        it = iter(serials)
        while True:
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
        from lightcomp.station import lotlock
        from lightcomp.store.models import Component, TestRun

        summary.status = status
        summary.message = message
        try:
            with self.store.transaction() as s:
                lotlock.release(s, lot_id, self.run_uid)
                run = s.get(TestRun, run_id)
                run.status = status
                run.ended_at = self._now()
                run.params = {
                    **(run.params or {}),
                    "measured": summary.measured,
                    "message": message,
                }
                counts = dict(
                    s.execute(
                        select(Component.status, func.count())
                        .where(Component.lot_id == lot_id)
                        .group_by(Component.status)
                    ).all()
                )
        except Exception:  # noqa: BLE001 - never hide the real outcome behind a store error
            return
        summary.n_pass = counts.get("pass", 0)
        summary.n_fail = counts.get("fail", 0)
        summary.n_error = counts.get("error", 0)
        summary.n_pending = sum(v for k, v in counts.items() if k not in ("pass", "fail", "error"))

    def _loop(self, work, total, run_id: int, summary: RunSummary, retest: bool) -> None:
        from lightcomp.store.models import Component

        bar = _Progress(total, self.progress, self.lot)
        consecutive_errors = 0
        tallies = {"pass": 0, "fail": 0, "error": 0}
        # Measured components whose uncertainty Monte Carlo is still running: stored once
        # it is done, while the next unit is loaded, stabilised and measured (issue 19).
        pending: list[tuple[int, str, ComponentResult, Any]] = []

        def settle() -> None:
            nonlocal consecutive_errors
            cid, code, result, future = pending.pop(0)  # the oldest measured unit
            evaluation = self._unc.settle(result, future) if self._unc is not None else None
            try:
                self._store(cid, run_id, result, evaluation)
            except BatchAbandoned as exc:  # 2nd Ctrl-C during the commit: it is stored
                exc.stored = True
                summary.measured += 1
                raise
            summary.measured += 1
            tallies[result.verdict] += 1
            bar.advance(tallies)
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
        with bar:
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
                        bar.advance(tallies)
                        continue
                    if self.calibration.valid_until < self._now():
                        raise CalibrationError(
                            f"calibration {self.calibration.calib_id} expired on "
                            f"{self.calibration.valid_until:%Y-%m-%d %H:%M} UTC during the "
                            "batch: recalibrate the station"
                        )
                    result = self.measure_with_retries(ext or code)
                    future = self._unc.submit(result) if self._unc is not None else None
                    pending.append((cid, code, result, future))
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
                if self._unc is not None and self._unc.worker.done:
                    self.echo(self._unc.summary())
                if stop is not None and completed:  # else the first error is on its way
                    raise stop

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

    def _power_on(self) -> None:
        src = self.instruments["source"]
        d = self.plan.drive
        if d.mode == "dc-current":
            src.set_current(d.current_a, d.voltage_limit_v)
        elif d.mode == "dc-voltage":
            src.set_voltage(d.voltage_v, d.current_limit_a)
        # AC: the source's output switches the mains relay of the module under test
        src.output(True)

    def measure_component(self, serial: str) -> ComponentResult:
        """One attempt at one unit (instrument errors propagate; nothing is stored here)."""
        inst = self.instruments
        cal = self.calibration
        steps = self.plan.measurement
        spectro, fixture = inst["spectro"], inst["fixture"]
        fixture.load(serial, self.lot, self._family_name)
        self._identify(fixture, serial)
        try:
            darks = DarkCache(spectro, steps.dark)
            alpha: Any = 1.0
            if steps.self_absorption != "none":
                fixture.set_aux_lamp(True)
                try:
                    aux = spectro.measure()
                finally:
                    fixture.set_aux_lamp(False)
                alpha = cal.alpha(aux, darks.for_reading(aux), steps.self_absorption)
            self._power_on()
            last: dict[str, Any] = {}
            try:

                def read() -> dict[str, float]:
                    # Each stabilisation reading is a full reading; the one that
                    # shows stability is the measurement (LM-79: measure once stable).
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
                    th = inst["thermo"]
                    temps = {
                        "tc_c": th.read_c(steps.tc_channel),
                        "ambient_c": th.read_c(steps.ambient_channel),
                    }
                modulation = self._measure_modulation()
            finally:
                try:
                    inst["source"].output(False)
                except InstrumentError:
                    inst["source"].safe_state()
                    raise
        finally:
            try:
                fixture.unload()
            except Exception:  # noqa: BLE001 - the next load replaces the unit anyway
                pass
        spectrum = cal.spectral_flux(raw, dark, alpha)
        result = self._evaluate(raw, dark, spectrum, elec, temps, history, alpha)
        if modulation is not None:
            _add_modulation(result, modulation, self.plan.modulation)
        return result

    def _measure_modulation(self):
        """The VLC modulation test on the powered unit (plans with ``[modulation]``)."""
        s = self.plan.modulation
        if s is None:
            return None
        from lightcomp.station.modulation import measure_modulation

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
        from lightcomp.analysis import analyze
        from lightcomp.analysis.photometric_code import photometric_code

        frame = analyze(GRID_NM, spectrum[None, :], absolute=True, power_w=elec.power_w)
        row = frame.iloc[0].to_dict()
        err = row.pop("error", None)
        row.pop("name", None)
        q: dict[str, Any] = {k: _json_safe(v) for k, v in row.items()}
        q.update(_electrical_dict(elec))
        q.pop("harmonics_a", None)
        q.update(temps)
        q["self_absorption"] = float(np.mean(alpha))
        unc = {}
        if self.calibration.uncertainty is not None:
            w = spectrum * _v()
            if np.sum(w) > 0:
                rel = float(np.sum(self.calibration.uncertainty * w) / np.sum(w))
                unc["luminous_flux_rel_k2"] = rel
                flux = _finite_or_none(q.get("luminous_flux"))
                if flux is not None:  # the form reports read: {"U": expanded, "k": 2}
                    unc["luminous_flux"] = {
                        "U": rel * flux,
                        "k": 2,
                        "source": "standard-lamp certificate, V(lambda)-weighted",
                    }
        if err is not None:
            return ComponentResult(
                "error",
                error_message=f"analysis: {err}",
                quantities=_json_safe(q),
                electrical=_electrical_dict(elec),
                temperatures=temps,
                stabilisation=[h.as_dict() for h in history],
                raw=raw,
                dark=dark,
                spectrum=spectrum,
                uncertainty=unc,
            )
        try:
            bins = chromaticity_bins(
                np.array([q["CCT"]]),
                np.array([q["Duv"]]),
                np.array([q["x"]]),
                np.array([q["y"]]),
                self.plan.ansi_quadrangle,
            )
            q["ansi_category"] = str(bins["ansi_category"][0])
            q["ansi_inside"] = bool(bins["ansi_inside"][0])
            q["sdcm_steps"] = float(bins["sdcm_steps"][0])
        except LightcompError as exc:
            q["ansi_category"], q["ansi_inside"], q["sdcm_steps"] = None, False, None
            q["binning_error"] = str(exc)
        try:
            nominal = self.plan.ansi_quadrangle or q["CCT"]
            steps = q["sdcm_steps"] if q.get("sdcm_steps") is not None else np.nan
            kept_steps, kept_flux = getattr(self, "_maintenance", (np.nan, np.nan))
            q["photometric_code"] = str(
                photometric_code(
                    np.array([q["Ra"]]),
                    np.array([float(nominal)]),
                    np.array([steps]),
                    np.array([kept_steps]),
                    np.array([kept_flux]),
                )[0]
            )
        except (LightcompError, TypeError, ValueError):
            q["photometric_code"] = None
        verdicts, failed = evaluate_limits(self.plan, q)
        # A limit with no valid measured value is a measurement problem (an instrument
        # gave no data), not a product failure: the unit is an error, to be re-measured.
        missing = [n for n, v in verdicts.items() if n != "ansi_quadrangle" and v["value"] is None]
        return ComponentResult(
            "error" if missing else ("fail" if failed else "pass"),
            error_message=(
                f"no valid measured value for limit(s) {', '.join(missing)}" if missing else None
            ),
            quantities=_json_safe(q),
            verdicts=_json_safe(verdicts),
            failed_limits=failed,
            electrical=_electrical_dict(elec),
            temperatures=_json_safe(temps),
            stabilisation=[_json_safe(h.as_dict()) for h in history],
            raw=raw,
            dark=dark,
            spectrum=spectrum,
            uncertainty=unc,
        )

    def _store(
        self, component_id: int, run_id: int, r: ComponentResult, evaluation: dict | None = None
    ) -> None:
        """Commit one component: measurement + status + is_current, in one transaction."""
        from lightcomp.store.models import Component, Measurement

        q = r.quantities
        raw_blob = None
        if r.raw is not None:
            raw_blob = encode_array(
                np.stack([np.asarray(r.raw.wavelengths_nm, float), np.asarray(r.raw.values, float)])
            )

        with self.interrupts.critical(), self.store.transaction() as s:
            # Row lock: two stations storing the same unit at once queue here instead of
            # leaving two current measurements (a partial unique index backs this up).
            comp = s.get(Component, component_id, with_for_update=True)
            # An instrument error on a retest must not replace a valid pass/fail result:
            # it is kept as history, not as the unit's current record.
            keep_previous = r.verdict == "error" and comp.status in DONE_STATUSES
            if not keep_previous:
                s.execute(
                    update(Measurement)
                    .where(
                        Measurement.component_id == component_id,
                        Measurement.is_current.is_(True),
                    )
                    .values(is_current=False)
                )
            m = Measurement(
                component_id=component_id,
                family_id=comp.family_id,
                test_run_id=run_id,
                calibration_id=self.calibration.id,
                measured_at=self._now(),
                is_current=not keep_previous,
                verdict=r.verdict,
                error_message=r.error_message,
                failed_limits=list(r.failed_limits),
                verdicts=r.verdicts,
                quantities=_json_safe({**q, "attempts": r.attempts}),
                **measurement_columns(q),
                wavelengths=encode_array(GRID_NM) if r.spectrum is not None else None,
                raw_spectrum=raw_blob,
                dark_spectrum=encode_array(np.asarray(r.dark.values, float)) if r.dark else None,
                spectrum=encode_array(r.spectrum) if r.spectrum is not None else None,
                electrical=r.electrical,
                temperatures=r.temperatures,
                stabilisation=r.stabilisation,
                instruments=dict(self.instruments.identities),
                uncertainty=r.uncertainty,
                modulation=r.modulation,
            )
            s.add(m)
            if evaluation is not None:  # how its U were obtained (issue 19)
                from lightcomp.uncertainty.station import evaluation_row

                s.flush()
                s.add(evaluation_row(m.id, evaluation))
            if not keep_previous:
                comp.status = r.verdict
                comp.photometric_code = q.get("photometric_code") if r.verdict != "error" else None


def measurement_columns(q: dict[str, Any]) -> dict[str, Any]:
    """The ``measurements`` key-quantity columns of a result's quantities (by the catalogue).

    Numbers go in as floats (None when missing or not finite), flags as bool, text as str.
    The test fixtures insert rows through this too, so they cannot drift from the runner.
    """
    out: dict[str, Any] = {}
    for quantity in catalogue.column_quantities(kind=None):
        v = q.get(quantity.key)
        if quantity.kind == "number":
            ok = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            out[quantity.column] = float(v) if ok and math.isfinite(float(v)) else None
        elif quantity.kind == "flag":
            out[quantity.column] = None if v is None else bool(v)
        else:
            out[quantity.column] = None if v is None else str(v)
    return out


def _add_modulation(result: ComponentResult, modulation, settings) -> None:
    """Merge the VLC test's quantities, curves and limit verdicts into ``result``."""
    from lightcomp.station.modulation import modulation_verdicts

    q = modulation.quantities()
    result.quantities.update(_json_safe(q))
    result.modulation = _json_safe({k: v.tolist() for k, v in modulation.arrays().items()})
    if result.verdict == "error":
        return
    verdicts, failed = modulation_verdicts(settings, q)
    result.verdicts.update(_json_safe(verdicts))
    result.failed_limits = [*result.failed_limits, *failed]
    missing = [n for n, v in verdicts.items() if v["value"] is None]
    if missing:
        result.verdict = "error"
        result.error_message = f"no valid measured value for limit(s) {', '.join(missing)}"
    elif failed:
        result.verdict = "fail"


def _v() -> np.ndarray:
    from lightcomp.calibration import photopic_v

    return photopic_v()


def _family_model():
    from lightcomp.store.models import Family

    return Family


def _lot_model():
    from lightcomp.store.models import Lot

    return Lot


class _Progress:
    """Progress bar with the running yield (rich), or nothing."""

    def __init__(self, total: int | None, enabled: bool, lot: str) -> None:
        self.enabled = enabled
        self.total = total
        self.lot = lot
        self._p = None
        self._task = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._p = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[yield_text]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
                console=Console(stderr=True),
            )
            self._p.__enter__()
            self._task = self._p.add_task(f"lot {self.lot}", total=self.total, yield_text="")
        return self

    def advance(self, tallies: dict[str, int]) -> None:
        if self._p is None:
            return
        n = sum(tallies.values())
        y = tallies["pass"] / n if n else float("nan")
        text = (
            f"yield {100 * y:5.1f} %  pass {tallies['pass']} fail {tallies['fail']} "
            f"error {tallies['error']}"
        )
        self._p.update(self._task, advance=1, yield_text=text)

    def __exit__(self, *exc) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)


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


def _finite_or_none(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None
