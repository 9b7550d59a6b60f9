"""The batch runner on the simulated lab: full batches (SQLite and PostgreSQL), resume,
re-measurement, serial lists, instrument faults, Ctrl-C, concurrent stations."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from _station_helpers import PLAN_AC, Lab, lot_rows
from sqlalchemy import func, select

from lightcomp.errors import InstrumentError
from lightcomp.station.runner import BatchAbandoned, BatchStopped
from lightcomp.store.models import TestRun


@pytest.fixture
def lab(tmp_path, db_url):
    lab = Lab(tmp_path, db_url)
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def _shared_lab(tmp_path_factory):
    path = tmp_path_factory.mktemp("station")
    lab = Lab(path, f"sqlite:///{path / 'lightcomp.db'}")
    yield lab
    lab.close()


@pytest.fixture
def sqlite_lab(_shared_lab):
    """One simulated lab and calibrated SQLite store for the module (tests use their own
    lots); faults are cleared and the lab left safe between tests."""
    from lightcomp.simlab.instruments import FaultQueue

    yield _shared_lab
    for server in _shared_lab.simlab.servers.values():
        server.sim.faults = FaultQueue()
    w = _shared_lab.simlab.world
    w.update_source(output=False)
    w.update_mains(output=False)
    w.set_aux(False)


def _assert_one_current_each(comps, meas):
    current = [m for m in meas if m[3]]
    assert sorted(m[1] for m in current) == sorted(c[0] for c in comps)
    by_comp = {m[1]: m for m in current}
    for cid, _code, status, _ext in comps:
        assert by_comp[cid][2] == status  # component status = verdict of its current measurement


def _assert_safe(lab):
    w = lab.simlab.world
    assert w.source.output is False and w.mains.output is False and w.aux_on is False


def test_full_batch_is_stored_completely(lab):
    import colour

    from lightcomp.store.codec import decode_array
    from lightcomp.store.models import Measurement, TestRun

    summary = lab.runner(lot="LOT-A").run(count=5)
    assert summary.status == "completed" and summary.measured == 5
    assert summary.n_pass + summary.n_fail + summary.n_error == 5
    comps, meas = lot_rows(lab.store, "LOT-A")
    assert len(comps) == 5 and len(meas) == 5
    _assert_one_current_each(comps, meas)
    assert {m[5] for m in meas} == {lab.calibration.id}
    _assert_safe(lab)
    with lab.store.session() as s:
        run = s.query(TestRun).one()
        assert run.status == "completed" and run.calibration_id == lab.calibration.id
        assert run.plan["plan"]["name"] == "LS0-COB-4000" and run.software_version
        m = s.query(Measurement).first()
        wl, spec = decode_array(m.wavelengths), decode_array(m.spectrum)
        raw = decode_array(m.raw_spectrum)
        assert spec.shape == wl.shape == (401,) and raw.shape[0] == 2
        # stored flux agrees with an independent computation from the stored spectrum
        sd = colour.SpectralDistribution(dict(zip(wl, spec, strict=True)))
        assert m.luminous_flux_lm == pytest.approx(colour.luminous_flux(sd), rel=2e-3)
        assert m.efficacy_lmw == pytest.approx(m.luminous_flux_lm / m.power_w, rel=1e-9)
        # LM-79: at least 3 readings, last window of 1800 s stable to 0.5 %
        st = m.stabilisation
        assert len(st) >= 3 and st[-1]["t_s"] - st[-3]["t_s"] == pytest.approx(1800.0, abs=1)
        flux = np.array([r["flux"] for r in st[-3:]])
        assert (flux.max() - flux.min()) / flux.mean() < 0.005
        assert set(m.instruments) >= {"source", "spectro", "fixture"}
        assert set(m.verdicts) >= {"flux", "ra", "r9", "ansi_quadrangle"}
        assert m.tc_c == pytest.approx(25.0, abs=1.0) and m.ansi_category


def test_rerun_continues_without_duplicates_and_retest_marks_previous(sqlite_lab):
    lab = sqlite_lab
    lab.runner(lot="LOT-B").run(count=3)
    again = lab.runner(lot="LOT-B").run(count=4)  # one more unit: only that one is measured
    assert (again.measured, again.skipped) == (1, 3)
    comps, meas = lot_rows(lab.store, "LOT-B")
    assert len(comps) == 4 and len(meas) == 4
    retest = lab.runner(lot="LOT-B").run(count=2, retest=True)
    assert retest.measured == 2
    comps, meas = lot_rows(lab.store, "LOT-B")
    assert len(meas) == 6 and sum(not m[3] for m in meas) == 2
    _assert_one_current_each(comps, meas)


def test_serial_list_assigns_codes_once(sqlite_lab):
    from lightcomp.errors import PlanError

    lab = sqlite_lab
    with lab.store.session() as s:
        n_runs_before = s.scalar(select(func.count()).select_from(TestRun))
    # a list with a repeated serial is refused whole, before anything is stored
    with pytest.raises(PlanError, match="serials:3: serial 'SN-001' repeats line 1"):
        lab.runner(lot="LOT-S").run(serials=["SN-001", "SN-002", "SN-001", "SN-003"])
    assert lot_rows(lab.store, "LOT-S") == ([], [])
    with lab.store.session() as s:  # not even the lot or a run was created
        assert s.scalar(select(func.count()).select_from(TestRun)) == n_runs_before
    s1 = lab.runner(lot="LOT-S").run(serials=["SN-001", "SN-002", "SN-003"])
    assert s1.measured == 3
    s2 = lab.runner(lot="LOT-S").run(serials=iter(["SN-003", "SN-004"]))
    assert (s2.measured, s2.skipped) == (1, 1)
    comps, meas = lot_rows(lab.store, "LOT-S")
    assert [c[3] for c in comps] == ["SN-001", "SN-002", "SN-003", "SN-004"]
    _assert_one_current_each(comps, meas)


def test_ac_module_batch(sqlite_lab):
    from lightcomp.store.models import Measurement

    summary = sqlite_lab.runner(PLAN_AC, lot="LOT-AC").run(count=2)
    assert summary.measured == 2
    comps, _ = lot_rows(sqlite_lab.store, "LOT-AC")
    with sqlite_lab.store.session() as s:
        for m in s.query(Measurement).filter(Measurement.component_id.in_([c[0] for c in comps])):
            assert m.power_factor == pytest.approx(0.95, abs=0.01)
            assert m.thd_current == pytest.approx(0.15, abs=0.01)
            assert m.electrical["frequency_hz"] == pytest.approx(50.0, rel=1e-3)
    _assert_safe(sqlite_lab)


@pytest.mark.parametrize(
    ("faults", "plan"),
    [
        # serial (pyserial socket://) and VISA socket links, transport faults
        (
            [
                ("spectro", "timeout", 3),
                ("spectro", "garbled", 12),
                ("spectro", "truncated", 30),
                ("source", "disconnect", 6),
                ("thermo", "timeout", 0),
            ],
            None,
        ),
        (
            [
                ("spectro", "disconnect", 2),
                ("source", "garbled", 4),
                ("fixture", "disconnect", 1),
                ("spectro", "saturated", 20),
            ],
            None,
        ),
        # identity answered wrongly at start-up, AC power analyzer garbled
        (
            [
                ("spectro", "wrong_idn", 0),
                ("power_analyzer", "garbled", 0),
                ("power_analyzer", "truncated", 3),
            ],
            PLAN_AC,
        ),
    ],
    ids=["transport", "transport-saturated", "wrong-idn-ac"],
)
def test_transient_faults_are_retried(sqlite_lab, faults, plan):
    """Injected faults: the driver or the runner retries, every unit gets a product verdict."""
    lab = sqlite_lab
    lot = f"LOT-F-{len(faults)}-{plan is None}"
    for role, fault, after in faults:
        lab.simlab.inject(role, fault, 1, after=after)
    runner = lab.runner(plan, lot=lot) if plan else lab.runner(lot=lot)
    summary = runner.run(count=2)
    comps, meas = lot_rows(lab.store, lot)
    assert summary.status == "completed"
    assert len(comps) == 2 and all(c[2] in ("pass", "fail") for c in comps), meas
    _assert_one_current_each(comps, meas)
    _assert_safe(lab)
    left = {r: len(s.sim.faults) for r, s in lab.simlab.servers.items() if len(s.sim.faults)}
    assert not left, f"faults never hit: {left}"


def test_persistent_component_fault_gives_error_and_batch_goes_on(sqlite_lab):
    lab = sqlite_lab
    # every spectrum of the first unit saturated: aux + 4 stabilisation readings fail at
    # the first reading, so 1 saturated reply per attempt, 3 attempts (plan retries = 2)
    lab.simlab.inject("spectro", "saturated", 3)
    s = lab.runner(lot="LOT-E").run(count=2)
    comps, meas = lot_rows(lab.store, "LOT-E")
    assert s.status == "completed"
    assert comps[0][2] == "error" and comps[1][2] in ("pass", "fail")
    err = next(m for m in meas if m[1] == comps[0][0])
    assert err[2] == "error" and ("saturated" in err[6] or "over measuring range" in err[6])
    _assert_safe(lab)
    # re-running measures the error component again (not a product verdict)
    s2 = lab.runner(lot="LOT-E").run(count=2)
    assert (s2.measured, s2.skipped) == (1, 1)
    comps, meas = lot_rows(lab.store, "LOT-E")
    assert comps[0][2] in ("pass", "fail") and len(meas) == 3
    _assert_one_current_each(comps, meas)


def test_dead_instrument_stops_cleanly_and_resumes(sqlite_lab):
    from lightcomp.simlab.instruments import FaultQueue
    from lightcomp.store.models import TestRun

    lab = sqlite_lab
    lab.runner(lot="LOT-D").run(count=2)
    # the spectroradiometer dies during the batch (after ~1 more unit's worth of replies)
    lab.simlab.inject("spectro", "disconnect", 10_000, after=45)
    with pytest.raises(BatchStopped, match=r"spectro .*not responding.*re-run the same command"):
        lab.runner(lot="LOT-D").run(count=5)
    _assert_safe(lab)
    comps, meas = lot_rows(lab.store, "LOT-D")
    assert len(comps) == 5 and 2 <= len(meas) < 5
    assert sum(c[2] == "issued" for c in comps) == 5 - len(meas)  # nothing half-stored
    n_done = len(meas)
    with lab.store.session() as s:
        runs = s.query(TestRun).join(TestRun.lot).filter_by(name="LOT-D").order_by(TestRun.id)
        assert [r.status for r in runs] == ["completed", "interrupted"]
    lab.simlab.servers["spectro"].sim.faults = FaultQueue()  # repaired
    s = lab.runner(lot="LOT-D").run(count=5)
    assert (s.measured, s.skipped, s.status) == (5 - n_done, n_done, "completed")
    comps, meas = lot_rows(lab.store, "LOT-D")
    assert len(comps) == 5 and len(meas) == 5
    _assert_one_current_each(comps, meas)


def test_ctrl_c_once_finishes_the_component_twice_abandons_it(sqlite_lab, monkeypatch):
    lab = sqlite_lab
    runner = lab.runner(lot="LOT-C")
    original = runner.measure_with_retries
    calls = []

    def first_press(serial):
        calls.append(serial)
        res = original(serial)
        if len(calls) == 2:
            runner.interrupts.request_stop()  # what the first SIGINT does
        return res

    monkeypatch.setattr(runner, "measure_with_retries", first_press)
    s = runner.run(count=5)
    assert (s.status, s.measured) == ("interrupted", 2)
    _assert_safe(lab)

    runner = lab.runner(lot="LOT-C")

    def second_press(serial):
        runner.instruments["source"].output(True)  # mid-measurement, device powered
        lab.simlab.world.set_aux(True)
        raise BatchAbandoned()  # what the second SIGINT raises

    monkeypatch.setattr(runner, "measure_component", second_press)
    s = runner.run(count=5)
    assert (s.status, s.measured) == ("interrupted", 0)
    _assert_safe(lab)  # powered down despite the abandon
    comps, meas = lot_rows(lab.store, "LOT-C")
    assert len(meas) == 2 and sum(c[2] == "issued" for c in comps) == 3
    s = lab.runner(lot="LOT-C").run(count=5)
    assert (s.measured, s.status) == (3, "completed")


def test_signal_handler_semantics():
    import signal

    from lightcomp.station.runner import InterruptControl

    ic = InterruptControl()
    ic._handler(signal.SIGINT, None)
    assert ic.stop_requested
    # the second press is deferred while committing, then raised when the commit is done
    with pytest.raises(BatchAbandoned):
        with ic.critical():
            ic._handler(signal.SIGINT, None)
            assert ic._pending_abandon
    with pytest.raises(BatchAbandoned):
        InterruptControl()._handler(signal.SIGTERM, None)


def test_wrong_family_lot_and_bad_counts(sqlite_lab):
    from lightcomp.errors import PlanError

    sqlite_lab.runner(lot="LOT-X").run(count=1)
    with pytest.raises(PlanError, match="belongs to family 'LS0-COB-4000'"):
        sqlite_lab.runner(PLAN_AC, lot="LOT-X").run(count=1)
    with pytest.raises(PlanError, match="either a count or a list"):
        sqlite_lab.runner(lot="LOT-Y").run()


def test_two_stations_measure_into_one_store_at_once(tmp_path, db_url):
    """Two stations (two simulated labs) run batches into the same store concurrently."""
    from _station_helpers import REPO, SIM_STATION, write_station_file

    from lightcomp.simlab import SimLab
    from lightcomp.station.config import load_station
    from lightcomp.station.lab import calibrate

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Lab(tmp_path / "a", db_url)
    b_lab = Lab.__new__(Lab)  # a second lab and station on the same store
    b_lab.simlab = SimLab.start(load_station(SIM_STATION).raw, ephemeral_ports=True, seed=1)
    path = write_station_file(tmp_path / "b" / "st.toml", b_lab.simlab.resources, name="SIM-B")
    b_lab.station = load_station(path, lab_root=REPO)
    b_lab.store = a.store
    calibrate(a.store, b_lab.station)
    errors: list[BaseException] = []

    def go(lab, lot):
        try:
            lab.runner(lot=lot).run(count=4)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [
        threading.Thread(target=go, args=(a, "LOT-PA")),
        threading.Thread(target=go, args=(b_lab, "LOT-PB")),
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        for lot in ("LOT-PA", "LOT-PB"):
            comps, meas = lot_rows(a.store, lot)
            assert len(comps) == 4 and len(meas) == 4
            _assert_one_current_each(comps, meas)
        codes = [c[1] for lot in ("LOT-PA", "LOT-PB") for c in lot_rows(a.store, lot)[0]]
        assert len(set(codes)) == 8
    finally:
        b_lab.simlab.stop()
        a.close()


def test_instrument_error_is_an_error_not_a_fail(sqlite_lab, monkeypatch):
    lab = sqlite_lab
    runner = lab.runner(lot="LOT-I")

    def broken(serial):
        raise InstrumentError("source (keithley2400) at X: source in compliance")

    monkeypatch.setattr(runner, "measure_component", broken)
    with pytest.raises(BatchStopped, match="3 components in a row ended in error"):
        runner.run(count=4)
    comps, meas = lot_rows(lab.store, "LOT-I")
    assert [c[2] for c in comps] == ["error", "error", "error", "issued"]
    assert all(m[2] == "error" and "compliance" in m[6] for m in meas)


def test_cli_calibrate_and_run_with_serials_from_stdin(tmp_path, monkeypatch):
    """`lightcomp calibrate run` and `lightcomp station run --serials -` (barcode scanner on
    stdin) on an in-process simulated lab, then `calibrate list`."""
    from _station_helpers import REGISTRY, REPO
    from typer.testing import CliRunner

    from lightcomp.cli import app
    from lightcomp.coding import import_registry
    from lightcomp.store import Store

    monkeypatch.chdir(REPO)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.open(db)
    with store.transaction() as s:
        import_registry(s, REGISTRY)
    store.dispose()
    cli = CliRunner()
    r = cli.invoke(app, ["calibrate", "run", "--station", "sim", "--simlab", "--db", db])
    assert r.exit_code == 0, r.output
    assert "calibration CAL-SIM-1-" in r.output
    args = [
        "station",
        "run",
        "--station",
        "station/sim.toml",
        "--plan",
        "LS0-COB-4000",
        "--lot",
        "LOT-CLI",
        "--serials",
        "-",
        "--simlab",
        "--db",
        db,
        "--no-progress",
    ]
    r = cli.invoke(app, args, input="BC-0001\nBC-0002\n\nBC-0001\n")
    assert r.exit_code == 0, r.output
    assert "2 measured" in r.output and "lot LOT-CLI: " in r.output
    r = cli.invoke(app, ["calibrate", "list", "--db", db])
    assert r.exit_code == 0 and "SIM-1  valid" in r.output
    r = cli.invoke(
        app,
        [
            "station",
            "run",
            "--station",
            "sim",
            "--plan",
            "LS0-COB-4000",
            "--lot",
            "NEW-LOT",
            "--count",
            "1",
            "--resume",
            "--db",
            db,
        ],
    )
    assert r.exit_code != 0 and "has no components" in str(r.exception or r.output)


class _FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


@pytest.mark.parametrize("tau_s", [90.0, 480.0, 700.0])
def test_stabilisation_stops_at_the_first_lm79_window(tau_s):
    """First-order warm-up: flux falls by 5 % with time constant tau. Readings every 900 s;
    the expected stop is the first t (multiple of 900 s, >= 1800 s) whose 3 readings
    t-1800, t-900, t vary by < 0.5 % — computed here in closed form."""
    from lightcomp.station.plan import StabilisationRule
    from lightcomp.station.stabilisation import NotStableError, stabilise

    def flux(t):
        return 1000.0 * (1 - 0.05 * (1 - np.exp(-np.asarray(t) / tau_s)))

    t = np.arange(1800.0, 20000.0, 900.0)
    f = np.stack([flux(t - 1800), flux(t - 900), flux(t)])
    var = (f.max(0) - f.min(0)) / f.mean(0)
    expected = t[np.argmax(var < 0.005)]
    clock = _FakeClock()
    hist = stabilise(
        lambda: {"flux": float(flux(clock.now())), "power": 10.0}, StabilisationRule(), clock
    )
    assert hist[-1].t_s == expected and len(hist) == expected / 900 + 1
    with pytest.raises(NotStableError, match="not stable after"):
        clock2 = _FakeClock()
        stabilise(
            lambda: {"flux": 1000.0 - clock2.now() / 90.0, "power": 10.0},
            StabilisationRule(max_duration_s=3600.0),
            clock2,
        )


def test_array_spectrometer_station(tmp_path, sqlite_url):
    """Counts path: auto-ranging array spectrometer, a dark per integration time, stored
    raw (2, 1024) and dark spectra; self-absorption alpha = 0.980 / 0.990 (devices.toml)."""
    from lightcomp.store.codec import decode_array
    from lightcomp.store.models import Measurement

    lab = Lab(tmp_path, sqlite_url, spectro="array-spectrometer")
    try:
        s = lab.runner(lot="LOT-ARR").run(count=2)
        assert s.measured == 2
        with lab.store.session() as ses:
            for m in ses.query(Measurement):
                raw, dark = decode_array(m.raw_spectrum), decode_array(m.dark_spectrum)
                assert raw.shape == (2, 1024) and dark.shape == (1024,)
                assert m.quantities["self_absorption"] == pytest.approx(0.98 / 0.99, abs=2e-3)
                assert m.verdict in ("pass", "fail")
        _assert_safe(lab)
    finally:
        lab.close()
