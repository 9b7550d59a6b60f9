"""CLI: `lightcomp station` — run a batch of components through a station; check plans.

``lightcomp station run --station S --plan P --lot LOT (--count N | --serials FILE|-)``
measures a lot and commits every finished component in one transaction;
re-running the same command (or ``--resume``) continues a stopped batch.
Ctrl-C once finishes the current component, twice abandons it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from lightcomp.commands.common import DB_OPTION


def _serials_from(source: str, station=None):
    """Serials from a file (one per line, ``#`` comments) or from stdin (``-``, e.g. a
    barcode scanner). A file is checked whole first (:func:`check_serial_list`)."""
    from lightcomp.errors import PlanError
    from lightcomp.station.serials import check_serial_list

    if source == "-":
        return (line.strip() for line in sys.stdin)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot read serials file {source}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PlanError(f"serials file {source} is not UTF-8 text (byte {exc.start})") from None
    numbered = [
        (i, ln.strip())
        for i, ln in enumerate(text.splitlines(), start=1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    serials = [s for _, s in numbered]
    if station is None:
        return serials
    return check_serial_list(station, serials, source, lines=[i for i, _ in numbered])


def print_lot_yield(store, lot: str, target: float = 0.95) -> dict | None:
    """Print the lot's yield with its 95 % interval and the verdict against ``target``."""
    from lightcomp.reports.yields import yield_summary_dict
    from lightcomp.store.queries import lot_id, lot_verdict_counts

    with store.session() as s:
        counts = lot_verdict_counts(s, lot_id(s, lot))
    n_pass, n_fail, n_error, pending = (counts[k] for k in ("pass", "fail", "error", "untested"))
    if n_pass + n_fail == 0:
        typer.echo(f"lot {lot}: nothing tested yet ({n_error} error, {pending} pending)")
        return None
    res = yield_summary_dict(n_pass, n_fail, n_error, target=target)
    typer.echo(
        f"lot {lot}: {n_pass} pass, {n_fail} fail, {n_error} error, {pending} pending — "
        f"yield {100 * res['yield']:.1f} % (95 % interval {100 * res['lower']:.1f}–"
        f"{100 * res['upper']:.1f} %), target {100 * target:.0f} %: {res['verdict']}"
        f" (one-sided 95 % bounds {100 * res['lower_one_sided']:.1f} / "
        f"{100 * res['upper_one_sided']:.1f} %)"
    )
    return {**res, "pending": pending}


def _already_done(store, lot: str, count: int) -> bool:
    """True when the lot's first ``count`` components all have a pass/fail verdict (a
    re-run would measure nothing: say so without starting the station)."""
    from sqlalchemy import select

    from lightcomp.store.models import Component, Lot

    with store.session() as s:
        statuses = s.scalars(
            select(Component.status)
            .join(Lot, Component.lot_id == Lot.id)
            .where(Lot.name == lot)
            .order_by(Component.id)
            .limit(count)
        ).all()
    return len(statuses) == count and all(st in ("pass", "fail") for st in statuses)


def run_batch_cli(
    *,
    station: str,
    plan: str,
    lot: str,
    count: int | None,
    serials: str | None,
    db: str | None,
    operator: str | None,
    resume: bool,
    retest: bool,
    simlab: bool,
    progress: str,
    seed: int | None = None,
) -> int:
    """The body of ``lightcomp station run`` (returns the exit code); ``progress`` is the
    mode of :class:`~lightcomp.commands.progress.ProgressBar` (bar, lines, off)."""
    from contextlib import nullcontext

    from sqlalchemy import func, select

    from lightcomp.commands.common import open_store
    from lightcomp.commands.progress import ProgressBar
    from lightcomp.errors import PlanError
    from lightcomp.station.config import find_lab_root, load_station, resolve_file
    from lightcomp.station.lab import simulated_station
    from lightcomp.station.plan import load_plan
    from lightcomp.station.runner import BatchRunner, BatchStopped, InterruptControl
    from lightcomp.store.models import Component, Lot

    if (count is None) == (serials is None):
        raise PlanError("give either --count N or --serials FILE (or --serials - for stdin)")
    try:
        root = find_lab_root()
    except Exception:  # noqa: BLE001 - explicit paths still work without a lab folder
        root = None
    st = load_station(resolve_file(station, "station", root))
    pl = load_plan(resolve_file(plan, "station/plans", root))
    # everything checkable is checked before the store is opened (a failing command
    # changes nothing)
    from lightcomp.coding.allocation import MAX_COUNT
    from lightcomp.station.serials import check_run_lot

    check_run_lot(st, lot)
    if count is not None and not 1 <= count <= MAX_COUNT:
        raise PlanError(f"--count must be from 1 to {MAX_COUNT}, not {count}")
    serial_source = _serials_from(serials, st) if serials is not None else None
    store = open_store(db)
    if resume:
        with store.transaction() as s:
            n = (
                s.scalar(
                    select(func.count()).select_from(Component).join(Lot).where(Lot.name == lot)
                )
                or 0
            )
        if n == 0:
            raise PlanError(f"--resume: lot {lot!r} has no components in {store.shown_url}")
    if count is not None and not retest and _already_done(store, lot, count):
        typer.echo(
            f"lot {lot}: its first {count} components are already measured; nothing to do "
            "(--retest measures them again)"
        )
        print_lot_yield(store, lot)
        store.dispose()
        return 0
    total = (
        count
        if count is not None
        else (len(serial_source) if isinstance(serial_source, list) else None)
    )
    ctx = simulated_station(st, seed=seed) if simlab else nullcontext(st)
    try:
        with ctx as st_run, ProgressBar(total, lot, progress) as bar:
            runner = BatchRunner(
                store,
                st_run,
                pl,
                lot,
                operator=operator,
                progress=bar.advance,
                monitor=bar,
                echo=bar.echo,  # station messages on their own line, never on the bar
                interrupts=InterruptControl(bar.echo),
            )
            summary = runner.run(
                count=count,
                serials=serial_source,
                retest=retest,
                params={"serials_file": serials, "resume": resume, "simlab": simlab},
            )
    except BatchStopped as exc:
        if st.is_simulated and not simlab and "cannot start the station" in str(exc):
            raise BatchStopped(
                f"{exc} (is the simulated lab running? start it with `lightcomp simlab start "
                f"--station {station}`, or add --simlab)"
            ) from exc
        raise
    typer.echo(
        f"run {summary.run_uid[:12]} {summary.status}: {summary.measured} measured, "
        f"{summary.skipped} already done" + (f" — {summary.message}" if summary.message else "")
    )
    print_lot_yield(store, lot)
    store.dispose()
    if summary.status == "interrupted":
        typer.echo("batch stopped: re-run the same command to resume", err=True)
        return 130
    return 0


def register(app: typer.Typer) -> None:
    """Add ``lightcomp station ...`` to ``app``."""
    station_app = typer.Typer(
        help="Run test batches on a station; check station files and plans.", no_args_is_help=True
    )

    @station_app.command("run")
    def run(
        station: str = typer.Option(..., "--station", help="Station file, e.g. station/sim.toml."),
        plan: str = typer.Option(
            ..., "--plan", help="Test plan, e.g. station/plans/LS0-COB-4000.toml."
        ),
        lot: str = typer.Option(
            ..., "--lot", help="Lot name (created for the plan's family if new)."
        ),
        count: int | None = typer.Option(
            None,
            "--count",
            min=1,
            help="Measure the first N components of the lot (codes issued as needed).",
        ),
        serials: str | None = typer.Option(
            None,
            "--serials",
            help="File of maker serials, one per line, or - to read them from stdin.",
        ),
        db: str | None = DB_OPTION,
        operator: str | None = typer.Option(
            None, "--operator", help="Operator name (stored with the run)."
        ),
        resume: bool = typer.Option(
            False,
            "--resume",
            help="Continue a stopped batch of this lot (re-running the command does the same).",
        ),
        retest: bool = typer.Option(
            False,
            "--retest",
            help="Measure again components that already have a pass/fail verdict.",
        ),
        simlab: bool = typer.Option(
            False,
            "--simlab",
            help="Start the station's simulated lab in this process (ephemeral ports).",
        ),
        progress: bool = typer.Option(
            True,
            "--progress/--no-progress",
            help="Progress bar with the unit, its step and the last failure (on a terminal); "
            "--no-progress: one time-stamped line per unit instead, for logs.",
        ),
    ) -> None:
        """Measure a lot: identify, code, power, stabilise, measure, calibrate, judge, store."""
        code = run_batch_cli(
            station=station,
            plan=plan,
            lot=lot,
            count=count,
            serials=serials,
            db=db,
            operator=operator,
            resume=resume,
            retest=retest,
            simlab=simlab,
            progress="bar" if progress and sys.stderr.isatty() else "lines",
        )
        raise typer.Exit(code)

    @station_app.command("check")
    def check(
        files: list[Path] = typer.Argument(
            ..., help="Station files and/or test plans to validate."
        ),
    ) -> None:
        """Validate station files and test plans; list every error (file:line: message).

        Given station files and plans together, also check each plan on each station as a
        batch start does (AC source and power analyser for an AC plan, the scope for
        flicker, the VLC bench's data-sheet figures when the plan requires U)."""
        from lightcomp.errors import LightcompError, PlanError
        from lightcomp.station.config import load_station
        from lightcomp.station.plan import load_plan, read_toml
        from lightcomp.station.runner import check_plan_on_station

        bad = 0
        stations, plans = [], []
        for f in files:
            try:
                data, _ = read_toml(f)
                if "instruments" in data or "simlab" in data or "station" in data:
                    st = load_station(f)
                    stations.append(st)
                    typer.echo(f"{f}: station {st.name} ok ({', '.join(st.instruments)})")
                else:
                    pl = load_plan(f)
                    plans.append(pl)
                    typer.echo(
                        f"{f}: plan {pl.name} ok ({len(pl.limits)} limits"
                        + (
                            f", ANSI {pl.ansi_quadrangle} K quadrangle"
                            if pl.ansi_quadrangle
                            else ""
                        )
                        + ")"
                    )
            except PlanError as exc:
                errors = getattr(exc, "errors", None) or [str(exc)]
                bad += 1
                for line in errors:
                    typer.echo(f"error: {line}", err=True)
        pairs_bad = 0
        for st in stations:
            for pl in plans:
                try:
                    check_plan_on_station(pl, st)
                    typer.echo(f"plan {pl.name} on station {st.name}: ok")
                except LightcompError as exc:
                    pairs_bad += 1
                    typer.echo(f"error: plan {pl.name} on station {st.name}: {exc}", err=True)
        if bad:
            typer.echo(f"{bad} of {len(files)} file(s) have errors", err=True)
        if pairs_bad:
            typer.echo(f"{pairs_bad} plan/station pair(s) cannot run", err=True)
        if bad or pairs_bad:
            raise typer.Exit(2)

    app.add_typer(station_app, name="station")
