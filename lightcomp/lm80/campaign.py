"""Running an LM-80 campaign: start, interval measurements, stop, status.

IES LM-80-20 (and -08) campaign as lightcomp runs it:

* ``start``: issue product codes for ``samples`` units per case temperature
  (lot ``LM80-<campaign>``), assign chamber k (k-th case temperature) and rack
  channel ``(k-1)*samples + position``, store campaign and samples in one
  transaction, bring the rig to its conditions, then measure the 0 h interval.
* ``measure`` (when an interval is due): re-assert the rig conditions, read the
  instruments' own logs (chamber excursion log, rack interruption log, open
  circuits) and the Tc logger, record events against the samples they affect,
  then measure every sample of the interval on the sphere station through the
  station's own path (:meth:`BatchRunner.measure_with_retries`: LM-79
  stabilisation, dark, self-absorption, calibration, analysis).

Kill safety: every reading is committed alone with the unique key
(sample, interval); the interval is closed (``lm80_intervals``) only once all
its samples have a row; events carry the instrument log's own key. A command
killed at any moment therefore resumes exactly where it stopped: nothing lost,
nothing duplicated.

Campaign hours: wall time since ``started_at`` on hardware; on the simulated
lab (``clock = 'simlab'``) the virtual clock is advanced to each interval as it
is measured, so a 10 000 h campaign takes seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lightcomp.errors import LightcompError, PlanError

#: IES LM-80: readings at most every 1000 h.
LM80_MAX_INTERVAL_H = 1000.0
#: TM-21-11 sample-size thresholds: >= 20 units for the 6x limit, >= 10 for 5.5x.
TM21_UNITS_6X = 20
TM21_UNITS_5_5X = 10
LOT_PREFIX = "LM80-"


def interval_hours(duration_h: float, interval_h: float) -> list[float]:
    """Reading times of a campaign: 0, interval, 2 x interval ... up to the duration."""
    n = int(math.floor(duration_h / interval_h + 1e-9))
    hours = [round(i * interval_h, 6) for i in range(n + 1)]
    if duration_h - hours[-1] > 1e-6:
        hours.append(float(duration_h))
    return hours


def sample_size_note(n: int) -> str | None:
    """TM-21's consequence of ``n`` units per case temperature (None when >= 20)."""
    if n >= TM21_UNITS_6X:
        return None
    if n >= TM21_UNITS_5_5X:
        return (
            f"{n} units per case temperature: TM-21 limits projections to 5.5 x the test "
            "duration (6 x needs >= 20 units)"
        )
    return (
        f"{n} units per case temperature: fewer than 10 units, TM-21 reports no "
        "projection (only the measured maintenance)"
    )


def _now() -> datetime:
    return datetime.now(UTC)


def get_campaign(session, name: str):
    from lightcomp.store.models import Lm80Campaign

    c = session.scalar(select(Lm80Campaign).where(Lm80Campaign.name == name))
    if c is None:
        raise PlanError(f"no LM-80 campaign {name!r}")
    return c


def _check_start_args(
    name: str, samples: int, temps: list[float], current_a: float, hours: float, interval: float
) -> None:
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
        raise PlanError(f"campaign name {name!r}: 1-64 letters, digits, '-' or '_'")
    if samples < 1:
        raise PlanError(f"--samples must be >= 1, got {samples}")
    if not temps:
        raise PlanError("--case-temperatures needs at least one temperature")
    if len(set(temps)) != len(temps):
        raise PlanError(f"--case-temperatures repeats a temperature: {temps}")
    if any(not (-40 <= t <= 200) for t in temps):
        raise PlanError(f"--case-temperatures must be within -40..200 degC, got {temps}")
    if not (0 < current_a <= 10):
        raise PlanError(f"--current-ma must be > 0 and <= 10000 mA, got {current_a * 1000:g}")
    if not (0 < interval <= LM80_MAX_INTERVAL_H):
        raise PlanError(
            f"--interval must be > 0 and <= {LM80_MAX_INTERVAL_H:.0f} h (IES LM-80), got {interval:g}"
        )
    if not (hours >= interval):
        raise PlanError(f"--hours ({hours:g}) must be at least one --interval ({interval:g})")


def parse_temperatures(text: str) -> list[float]:
    """``"55,85,105"`` -> [55.0, 85.0, 105.0] (one-line error otherwise)."""
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise PlanError(
            f"--case-temperatures {text!r}: expected comma-separated degC, e.g. 55,85,105"
        ) from None


def create_campaign(
    store,
    *,
    name: str,
    family: str,
    samples: int,
    case_temps_c: list[float],
    current_a: float,
    duration_h: float,
    interval_h: float,
    station,
    rig,
    clock: str,
    operator: str | None = None,
    manufacturer: str | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Register the campaign, its lot and coded samples (one transaction). ``seed``: the
    simulated lab's seed, kept so that every later command simulates the same lab."""
    from lightcomp.coding import issue_codes
    from lightcomp.coding.registry import find_family
    from lightcomp.store.models import Lm80Campaign, Lm80Sample, Lot

    _check_start_args(name, samples, case_temps_c, current_a, duration_h, interval_h)
    if len(case_temps_c) > rig.chambers:
        raise PlanError(
            f"{len(case_temps_c)} case temperatures need {len(case_temps_c)} chambers; rig "
            f"{rig.name!r} has {rig.chambers}"
        )
    if samples * len(case_temps_c) > rig.channels:
        raise PlanError(
            f"{samples} x {len(case_temps_c)} samples need {samples * len(case_temps_c)} rack "
            f"channels; rig {rig.name!r} has {rig.channels}"
        )
    with store.transaction() as s:
        if s.scalar(select(Lm80Campaign.id).where(Lm80Campaign.name == name)) is not None:
            raise PlanError(
                f"LM-80 campaign {name!r} already exists: `lm80 measure --campaign {name}` "
                "continues it"
            )
        fam = find_family(s, family, manufacturer)
        lot_name = f"{LOT_PREFIX}{name}"
        if s.scalar(select(Lot.id).where(Lot.name == lot_name)) is not None:
            raise PlanError(f"lot {lot_name!r} already exists: choose another campaign name")
        lot = Lot(name=lot_name, family_id=fam.id, received_at=_now(), notes=f"LM-80 {name}")
        s.add(lot)
        s.flush()
        comps = issue_codes(s, fam, samples * len(case_temps_c), lot=lot)
        camp = Lm80Campaign(
            name=name,
            family_id=fam.id,
            lot_id=lot.id,
            station=station.name,
            rig=rig.name,
            clock=clock,
            case_temps_c=[float(t) for t in case_temps_c],
            current_a=float(current_a),
            duration_h=float(duration_h),
            interval_h=float(interval_h),
            samples_per_temp=int(samples),
            status="running",
            operator=operator,
            started_at=_now(),
            params={
                "station_file": str(station.path),
                "rig_file": str(rig.path),
                **({"seed": int(seed)} if seed is not None else {}),
            },
        )
        s.add(camp)
        s.flush()
        for i, comp in enumerate(comps):
            k, p = divmod(i, samples)
            s.add(
                Lm80Sample(
                    campaign_id=camp.id,
                    component_id=comp.id,
                    case_temp_c=float(case_temps_c[k]),
                    chamber=k + 1,
                    channel=i + 1,
                    position=p + 1,
                )
            )
        return {"campaign": name, "lot": lot_name, "family": fam.name, "samples": len(comps)}


def _samples(session, campaign_id: int) -> list[dict]:
    from lightcomp.store.models import Component, Lm80Sample

    rows = session.execute(
        select(Lm80Sample, Component.product_code)
        .join(Component, Component.id == Lm80Sample.component_id)
        .where(Lm80Sample.campaign_id == campaign_id)
        .order_by(Lm80Sample.channel)
    ).all()
    return [
        {
            "id": smp.id,
            "code": code,
            "chamber": smp.chamber,
            "channel": smp.channel,
            "case_temp_c": smp.case_temp_c,
        }
        for smp, code in rows
    ]


class CampaignRunner:
    """Measures a campaign's due intervals on an open :class:`~lightcomp.lm80.rig.Lab`."""

    def __init__(
        self, store, name: str, lab, *, echo: Callable[[str], None] | None = None, now=None
    ) -> None:
        self.store = store
        self.name = name
        self.lab = lab
        self.echo = echo or (lambda _m: None)
        self._now = now or _now
        with store.transaction() as s:
            c = get_campaign(s, name)
            self.campaign_id = c.id
            self.family = c.family.name
            self.lot = f"{LOT_PREFIX}{c.name}"
            self.clock_kind = c.clock
            self.current_a = c.current_a
            self.case_temps = list(c.case_temps_c)
            self.hours = interval_hours(c.duration_h, c.interval_h)
            self.started_at = c.started_at
            self.status = c.status
            self.samples = _samples(s, c.id)
        self.rig_inst = None
        self.instruments = None
        self.clock = None

    # -- set-up ---------------------------------------------------------------------------
    def __enter__(self) -> CampaignRunner:
        from lightcomp.lm80.rig import RigInstruments
        from lightcomp.station.runner import StationInstruments

        self.instruments = StationInstruments(self.lab.station).open_all()
        try:
            self.clock = self.lab.station.make_clock()
            self.rig_inst = RigInstruments(self.lab.rig)
        except BaseException:
            self.__exit__()
            raise
        if self.lab.sim_rig is not None:  # the simulated technician mounts the samples
            for smp in self.samples:
                self.lab.sim_rig.mount(
                    smp["code"],
                    family=self.family,
                    chamber=smp["chamber"],
                    channel=smp["channel"],
                    case_temp_c=smp["case_temp_c"],
                    current_a=self.current_a,
                )
        return self

    def __exit__(self, *exc) -> None:
        if self.instruments is not None:
            self.instruments.safe_all()
            self.instruments.close_all()
        if self.rig_inst is not None:
            self.rig_inst.close()
        if self.clock is not None and hasattr(self.clock, "close"):
            self.clock.close()

    def campaign_hours(self) -> float:
        if self.clock_kind == "simlab":
            return self.clock.now() / 3600.0
        started, now = self.started_at, self._now()
        # SQLite hands back naive UTC time stamps
        started = started if started.tzinfo else started.replace(tzinfo=UTC)
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        return (now - started).total_seconds() / 3600.0

    def _failed_ids(self, session) -> set[int]:
        from lightcomp.store.models import Lm80Event

        return set(
            session.scalars(
                select(Lm80Event.sample_id).where(
                    Lm80Event.campaign_id == self.campaign_id, Lm80Event.kind == "failure"
                )
            ).all()
        )

    def assert_conditions(self) -> None:
        """Chambers at their case temperatures and running; rack channels of the live
        samples at the drive current and on (idempotent: safe to repeat at every command)."""
        tol = self.lab.rig.tc_tolerance_c
        for k, temp in enumerate(self.case_temps, 1):
            ch = self.rig_inst.chambers[k]
            ch.set_alarm_band(tol)
            ch.set_temperature(temp)
            ch.run(True)
        with self.store.transaction() as s:
            failed = self._failed_ids(s)
        live = [smp["channel"] for smp in self.samples if smp["id"] not in failed]
        if live:
            self.rig_inst.rack.set_current(self.current_a, live)
            self.rig_inst.rack.output(True, live)

    # -- events ---------------------------------------------------------------------------
    def _add_event(self, s, sample_id, kind, key, start_h=None, duration_h=None, **details):
        from lightcomp.store.models import Lm80Event

        exists = s.scalar(
            select(Lm80Event.id).where(
                Lm80Event.campaign_id == self.campaign_id,
                Lm80Event.sample_id == sample_id,
                Lm80Event.event_key == key,
            )
        )
        if exists is None:
            s.add(
                Lm80Event(
                    campaign_id=self.campaign_id,
                    sample_id=sample_id,
                    kind=kind,
                    event_key=key,
                    start_h=start_h,
                    duration_h=duration_h,
                    recorded_at=self._now(),
                    details=details,
                )
            )
            return 1
        return 0

    def poll_rig(self, index: int) -> dict[int, dict[str, float]]:
        """Read the rig's logs and the Tc logger; record events against the samples they
        affect. Returns chamber -> {"pv_c", "tc_c"}."""
        rig = self.rig_inst
        prev_h = self.hours[index - 1] if index > 0 else 0.0
        now_h = self.hours[index]
        temps: dict[int, dict[str, float]] = {}
        by_chamber: dict[int, list[dict]] = {}
        for smp in self.samples:
            by_chamber.setdefault(smp["chamber"], []).append(smp)
        new = 0
        channels = [smp["channel"] for smp in self.samples]
        cond = rig.rack.condition(channels) if channels else []
        from lightcomp.drivers.rack import OPEN_CIRCUIT

        with self.store.transaction() as s:
            failed = self._failed_ids(s)
            for k, temp in enumerate(self.case_temps, 1):
                ch = rig.chambers[k]
                pv = ch.process_value_c()
                tc = rig.logger.read_c(k)
                temps[k] = {"pv_c": pv, "tc_c": tc, "target_c": float(temp)}
                for e in ch.excursions():
                    for smp in by_chamber.get(k, []):
                        new += self._add_event(
                            s,
                            smp["id"],
                            "excursion",
                            f"chamber{k}:exc{e.index}",
                            e.start_h,
                            e.duration_h,
                            chamber=k,
                            peak_delta_c=e.peak_delta_c,
                            source="chamber controller log",
                        )
                if abs(tc - temp) > self.lab.rig.tc_tolerance_c:
                    for smp in by_chamber.get(k, []):
                        new += self._add_event(
                            s,
                            smp["id"],
                            "excursion",
                            f"chamber{k}:tc@{index}",
                            now_h,
                            None,
                            chamber=k,
                            tc_c=tc,
                            target_c=temp,
                            source="Tc logger at reading",
                        )
            for smp, bits in zip(self.samples, cond, strict=True):
                for kk, start, dur in rig.rack.interruptions(smp["channel"]):
                    new += self._add_event(
                        s,
                        smp["id"],
                        "outage",
                        f"ch{smp['channel']}:int{kk}",
                        start,
                        dur,
                        channel=smp["channel"],
                        source="rack interruption log",
                    )
                if bits & OPEN_CIRCUIT and smp["id"] not in failed:
                    new += self._add_event(
                        s,
                        smp["id"],
                        "failure",
                        f"ch{smp['channel']}:open",
                        prev_h,
                        now_h - prev_h,
                        channel=smp["channel"],
                        detail="open circuit on the rack: failed between the readings at "
                        f"{prev_h:g} h and {now_h:g} h",
                    )
        if new:
            self.echo(f"interval {index} ({now_h:g} h): {new} event record(s) from the rig logs")
        return temps

    # -- readings -------------------------------------------------------------------------
    def _runner(self):
        from lightcomp.station.plan import Drive, MeasurementSteps, StabilisationRule, TestPlan
        from lightcomp.station.runner import BatchRunner

        plan = TestPlan(
            name=f"LM80-{self.name}",
            family=self.family,
            drive=Drive(
                "dc-current",
                current_a=self.current_a,
                voltage_limit_v=self.lab.rig.sphere_voltage_limit_v,
            ),
            stabilisation=StabilisationRule(),
            measurement=MeasurementSteps(),
            limits=(),
        )
        runner = BatchRunner(
            self.store,
            self.lab.station,
            plan,
            self.lot,
            instruments=self.instruments,
            clock=self.clock,
            echo=self.echo,
        )
        runner._family_name = self.family  # what BatchRunner._prepare would set
        return runner

    def _calibration(self):
        from lightcomp.calibration import current_calibration
        from lightcomp.errors import CalibrationError

        try:
            with self.store.transaction() as s:
                return current_calibration(s, self.lab.station.name, self._now())
        except CalibrationError:
            if self.lab.sim_rig is None:
                raise
        from lightcomp.station.lab import calibrate

        self.echo(f"calibrating simulated station {self.lab.station.name} ...")
        calibrate(
            self.store,
            self.lab.station,
            operator="lm80",
            instruments=self.instruments,
            clock=self.clock,
        )
        with self.store.transaction() as s:
            return current_calibration(s, self.lab.station.name, self._now())

    def next_interval(self) -> int | None:
        from lightcomp.store.models import Lm80Interval

        with self.store.transaction() as s:
            done = set(
                s.scalars(
                    select(Lm80Interval.interval_index).where(
                        Lm80Interval.campaign_id == self.campaign_id
                    )
                ).all()
            )
        for i in range(len(self.hours)):
            if i not in done:
                return i
        return None

    def measure_interval(self, index: int, runner) -> dict[str, int]:
        """Every sample of interval ``index`` without a reading; then close the interval."""
        from lightcomp.calibration import GRID_NM  # noqa: F401 - grid of the stored spectra
        from lightcomp.store.codec import encode_array
        from lightcomp.store.models import Lm80Campaign, Lm80Interval, Lm80Reading

        hours = self.hours[index]
        temps = self.poll_rig(index)
        with self.store.transaction() as s:
            have = set(
                s.scalars(
                    select(Lm80Reading.sample_id).where(
                        Lm80Reading.campaign_id == self.campaign_id,
                        Lm80Reading.interval_index == index,
                    )
                ).all()
            )
            failed = self._failed_ids(s)
        counts = {"measured": 0, "failed": 0, "error": 0, "already": len(have)}
        for smp in self.samples:
            if smp["id"] in have:
                continue
            row = Lm80Reading(
                campaign_id=self.campaign_id,
                sample_id=smp["id"],
                interval_index=index,
                hours=hours,
                case_temp_c=temps.get(smp["chamber"], {}).get("tc_c"),
            )
            if smp["id"] in failed:
                row.failed = True
                row.error_message = "catastrophic failure (open circuit)"
                counts["failed"] += 1
            else:
                res = runner.measure_with_retries(smp["code"])
                q = res.quantities or {}

                def num(key, q=q):
                    v = q.get(key)
                    return float(v) if isinstance(v, int | float) and np.isfinite(v) else None

                row.luminous_flux_lm = num("luminous_flux")
                row.u_prime, row.v_prime = num("u_prime"), num("v_prime")
                row.cct_k, row.duv = num("CCT"), num("Duv")
                row.current_a = num("current_a")
                row.calibration_id = runner.calibration.id
                row.quantities = {
                    k: q[k]
                    for k in (
                        "luminous_flux",
                        "x",
                        "y",
                        "u_prime",
                        "v_prime",
                        "CCT",
                        "Duv",
                        "Ra",
                        "voltage_v",
                        "current_a",
                        "power_w",
                        "tc_c",
                    )
                    if k in q
                }
                row.spectrum = encode_array(res.spectrum) if res.spectrum is not None else None
                if res.verdict == "error" or row.luminous_flux_lm is None:
                    row.error_message = res.error_message or "no luminous flux"
                    counts["error"] += 1
                else:
                    counts["measured"] += 1
            row.measured_at = self._now()
            # nominal hours index the interval; the campaign clock says when it really was
            row.quantities = {**(row.quantities or {}), "campaign_hours": self.campaign_hours()}
            try:
                with self.store.transaction() as s:
                    s.add(row)
            except IntegrityError:  # another process stored this reading meanwhile
                counts["already"] += 1
        with self.store.transaction() as s:
            if (
                s.scalar(
                    select(Lm80Interval.id).where(
                        Lm80Interval.campaign_id == self.campaign_id,
                        Lm80Interval.interval_index == index,
                    )
                )
                is None
            ):
                s.add(
                    Lm80Interval(
                        campaign_id=self.campaign_id,
                        interval_index=index,
                        hours=hours,
                        completed_at=self._now(),
                        chamber_temps_c={str(k): v for k, v in temps.items()},
                    )
                )
            if index == len(self.hours) - 1:
                c = s.get(Lm80Campaign, self.campaign_id)
                if c.status == "running":
                    c.status, c.ended_at = "finished", self._now()
                    c.end_reason = f"all {len(self.hours)} intervals measured"
        return counts

    def run(self, *, until_done: bool = False, wait: bool = False) -> list[dict]:
        """Measure the due interval(s). Returns one summary per interval measured."""
        if self.status != "running":
            raise PlanError(f"campaign {self.name!r} is {self.status}: nothing to measure")
        self.assert_conditions()
        runner = None
        out = []
        while True:
            index = self.next_interval()
            if index is None:
                break
            due_h = self.hours[index]
            now_h = self.campaign_hours()
            if now_h < due_h:
                if self.clock_kind == "simlab" or wait:
                    self.clock.sleep((due_h - now_h) * 3600.0)
                else:
                    self.echo(
                        f"campaign {self.name}: interval {index} ({due_h:g} h) not due yet "
                        f"(campaign at {now_h:.1f} h)"
                    )
                    break
            if runner is None:
                runner = self._runner()
                runner.calibration = self._calibration()
            counts = self.measure_interval(index, runner)
            self.echo(
                f"campaign {self.name}: interval {index} ({due_h:g} h): "
                f"{counts['measured']} measured, {counts['failed']} failed, "
                f"{counts['error']} error"
                + (f", {counts['already']} resumed" if counts["already"] else "")
            )
            out.append({"index": index, "hours": due_h, **counts})
            if not until_done:
                break
        if self.next_interval() is None:
            self.finish_rig()
        return out

    def finish_rig(self) -> None:
        """End of the campaign: rack outputs off, chambers stopped."""
        chans = [smp["channel"] for smp in self.samples]
        try:
            if chans:
                self.rig_inst.rack.output(False, chans)
            for k in range(1, len(self.case_temps) + 1):
                self.rig_inst.chambers[k].run(False)
        except LightcompError as exc:  # the data are stored; say what could not be switched
            self.echo(f"warning: rig not switched off: {exc}")


def stop_campaign(store, name: str | None, reason: str, lab=None, echo=None) -> str:
    """Mark a running campaign stopped (with why); switch its rig off when ``lab`` is given."""
    from lightcomp.store.models import Lm80Campaign, Lm80Event

    with store.transaction() as s:
        if name is None:
            running = s.scalars(select(Lm80Campaign).where(Lm80Campaign.status == "running")).all()
            if len(running) != 1:
                raise PlanError(
                    f"{len(running)} campaigns are running: name one with --campaign"
                    + (f" ({', '.join(c.name for c in running)})" if running else "")
                )
            c = running[0]
        else:
            c = get_campaign(s, name)
        if c.status != "running":
            raise PlanError(f"campaign {c.name!r} is already {c.status}")
        c.status, c.ended_at, c.end_reason = "stopped", _now(), reason
        s.add(
            Lm80Event(
                campaign_id=c.id,
                sample_id=None,
                kind="stop",
                event_key="stop",
                recorded_at=_now(),
                details={"reason": reason},
            )
        )
        name = c.name
    if lab is not None:
        with CampaignRunner(store, name, lab, echo=echo) as cr:
            cr.finish_rig()
    return name


def campaign_status(store, name: str | None = None) -> list[dict]:
    """One summary per campaign (or the named one)."""
    from lightcomp.store.models import Lm80Campaign, Lm80Event, Lm80Interval, Lm80Sample

    with store.transaction() as s:
        if name is not None:
            camps = [get_campaign(s, name)]
        else:
            camps = s.scalars(select(Lm80Campaign).order_by(Lm80Campaign.id)).all()
        out = []
        for c in camps:
            hours = interval_hours(c.duration_h, c.interval_h)
            done = s.scalars(
                select(Lm80Interval.hours)
                .where(Lm80Interval.campaign_id == c.id)
                .order_by(Lm80Interval.interval_index)
            ).all()
            events = dict(
                s.execute(
                    select(Lm80Event.kind, func.count(func.distinct(Lm80Event.event_key)))
                    .where(Lm80Event.campaign_id == c.id)
                    .group_by(Lm80Event.kind)
                ).all()
            )
            n = s.scalar(select(func.count()).where(Lm80Sample.campaign_id == c.id))
            nxt = hours[len(done)] if len(done) < len(hours) else None
            out.append(
                {
                    "campaign": c.name,
                    "family": c.family.name,
                    "status": c.status,
                    "case_temps_c": list(c.case_temps_c),
                    "current_ma": c.current_a * 1000,
                    "samples": n,
                    "intervals_done": len(done),
                    "intervals_total": len(hours),
                    "last_hours": done[-1] if done else None,
                    "next_due_h": nxt if c.status == "running" else None,
                    "excursions": events.get("excursion", 0),
                    "outages": events.get("outage", 0),
                    "failures": events.get("failure", 0),
                    "clock": c.clock,
                    "end_reason": c.end_reason,
                }
            )
        return out
