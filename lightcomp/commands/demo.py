"""CLI: `lightcomp demo` — the whole lab on simulated instruments, end to end.

Steps: a fresh SQLite store (in ``--out``), the simulated lab started in this
process (every instrument on its own local TCP port), the demo registry
imported (``station/registry/demo.toml``), the station calibrated with the
simulated standard lamp, one lot measured through the real station path
(drivers over sockets, LM-79 stabilisation on the lab's virtual clock, one
transaction per component), the lot's yield against the 95 % target, and the
lot report written to ``--out``.

The lab files (``station/``, ``calibration/``) are the demo lab shipped inside
the package (:func:`lightcomp.labpaths.demo_lab_root`; ``$LIGHTCOMP_LAB`` names
another lab folder): the demo runs from any folder, also after a non-editable
``pip install .``.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

DEFAULT_STATION = "station/sim.toml"
DEFAULT_PLAN = "station/plans/LS0-COB-4000.toml"
DEFAULT_REGISTRY = "station/registry/demo.toml"


def run_demo(
    *,
    count: int = 200,
    lot: str = "DEMO-LOT-001",
    db: str | None = None,
    out: Path = Path("demo-out"),
    plan: str = DEFAULT_PLAN,
    progress: bool = False,
    echo=typer.echo,
    force: bool = False,
) -> dict:
    """Run the demo; return a summary dict (used by the command and the tests)."""
    from lightcomp.commands.progress import ProgressBar
    from lightcomp.commands.station import print_lot_yield
    from lightcomp.errors import ConfigError
    from lightcomp.labpaths import demo_lab_root
    from lightcomp.station.config import load_station
    from lightcomp.station.lab import calibrate, simulated_station
    from lightcomp.station.plan import load_plan
    from lightcomp.station.runner import BatchRunner, InterruptControl
    from lightcomp.store import Store

    t0 = time.monotonic()
    root = demo_lab_root()
    station_path = root / DEFAULT_STATION
    if not station_path.is_file():
        raise ConfigError(f"{station_path} not found: the demo needs the simulated station file")
    plan_path = Path(plan) if Path(plan).is_file() else root / plan
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: the demo writes a folder (store and report)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot make the demo folder {out}: {exc.strerror or exc}") from None
    if db is None:
        db_file = out / "demo.db"
        if db_file.exists() and not force:
            raise ConfigError(
                f"a demo store {db_file} exists already: use --force to replace it, or --out "
                "another folder"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        db = f"sqlite:///{db_file}"
    store = Store.open(db)
    echo(f"store: {store.shown_url}")

    registry = root / DEFAULT_REGISTRY
    _import_registry(store, registry, echo)

    st = load_station(station_path, lab_root=root)
    pl = load_plan(plan_path)
    summary: dict = {"store": store.shown_url, "lot": lot}
    with simulated_station(st) as st_run:
        echo(f"simulated lab: {len(st_run.instruments)} instruments on local TCP ports")
        cal = calibrate(store, st_run, operator="demo")
        echo(
            f"calibration {cal.calib_id} (standard lamp {cal.certified_flux_lm} lm, "
            f"valid until {cal.valid_until:%Y-%m-%d})"
        )
        t1 = time.monotonic()
        echo(f"measuring lot {lot}: {count} x {pl.family} with plan {pl.name} ...")
        with ProgressBar(count, lot, "bar" if progress else "off") as bar:
            runner = BatchRunner(
                store,
                st_run,
                pl,
                lot,
                operator="demo",
                progress=bar.advance,
                monitor=bar,
                echo=bar.echo,
                interrupts=InterruptControl(bar.echo),
            )
            run = runner.run(count=count, params={"demo": True})
        summary["batch_s"] = time.monotonic() - t1
        summary["run"] = run
    echo(f"batch {run.status}: {run.measured} components in {summary['batch_s']:.1f} s")
    summary["yield"] = print_lot_yield(store, lot)
    summary["report"] = _write_report(store, lot, out, echo)
    summary["total_s"] = time.monotonic() - t0
    echo(f"demo done in {summary['total_s']:.1f} s")
    db_arg = f"--db {store.shown_url}"
    echo(
        "next, try:\n"
        f"  lightcomp records --lot {lot} --format csv {db_arg}\n"
        f"  lightcomp report --lot {lot} -o lot.pdf {db_arg}\n"
        f"  lightcomp serve {db_arg}"
    )
    store.dispose()
    return summary


def _import_registry(store, path: Path, echo) -> None:
    from lightcomp.coding import import_registry

    if not path.is_file():
        from lightcomp.errors import ConfigError

        raise ConfigError(f"{path} not found: the demo needs the demo registry")
    with store.transaction() as s:
        counts = import_registry(s, path)
    echo(
        f"registry {path.name}: {counts['manufacturers']['added']} manufacturers, "
        f"{counts['families']['added']} families added"
    )


def _write_report(store, lot: str, out: Path, echo) -> str | None:
    from lightcomp.reports.lot_report import write_lot_report

    path = out / f"lot-{lot}.html"
    try:
        info = write_lot_report(store, path, fmt="html", lot=lot)
    except Exception as exc:  # noqa: BLE001 - the measurement data is stored either way
        echo(f"(lot report failed: {type(exc).__name__}: {exc})")
        return None
    echo(f"lot report: {info.get('path', path)}")
    return str(path)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        count: int = typer.Option(200, "--count", min=1, help="Components in the demo lot."),
        lot: str = typer.Option("DEMO-LOT-001", "--lot", help="Lot name."),
        db: str | None = typer.Option(
            None,
            "--db",
            envvar="LIGHTCOMP_DB",
            help="Database URL (default: LIGHTCOMP_DB, else a fresh SQLite file in --out).",
        ),
        out: Path = typer.Option(Path("demo-out"), "--out", help="Output folder."),
        force: bool = typer.Option(
            False, "--force", help="Replace an existing demo store in --out."
        ),
    ) -> None:
        """Run the whole lab on simulated instruments: registry, calibration, one lot, yield, report."""
        import sys

        run_demo(count=count, lot=lot, db=db, out=out, progress=sys.stderr.isatty(), force=force)
