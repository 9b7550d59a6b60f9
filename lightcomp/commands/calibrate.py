"""CLI: `lightcomp calibrate` — spectral responsivity of a station from its standard lamp."""

from __future__ import annotations

from pathlib import Path

import typer

from lightcomp.commands.common import DB_OPTION


def register(app: typer.Typer) -> None:
    """Add ``lightcomp calibrate ...`` to ``app``."""
    cal_app = typer.Typer(
        help="Calibrate a station (standard lamp -> spectral responsivity, auxiliary-lamp "
        "reference) and list stored calibrations.",
        no_args_is_help=True,
    )

    @cal_app.command("run")
    def run(
        station: str = typer.Option(..., "--station", help="Station file, e.g. station/sim.toml."),
        lamp: Path | None = typer.Option(
            None,
            "--lamp",
            help="Lamp certificate TOML (default: the station's [calibration] lamp).",
        ),
        db: str | None = DB_OPTION,
        operator: str | None = typer.Option(None, "--operator", help="Operator name."),
        validity_days: float | None = typer.Option(
            None, "--validity-days", help="Validity in days (default: the station's)."
        ),
        simlab: bool = typer.Option(
            False, "--simlab", help="Start the station's simulated lab in this process."
        ),
    ) -> None:
        """Measure the standard lamp and store a new calibration (the previous one is superseded)."""
        from contextlib import nullcontext

        from lightcomp.commands.common import open_store
        from lightcomp.errors import CalibrationError, InstrumentError
        from lightcomp.station.config import (
            MAX_VALIDITY_DAYS,
            find_lab_root,
            load_station,
            resolve_file,
        )
        from lightcomp.station.lab import calibrate, simulated_station

        if validity_days is not None and not 0 < validity_days <= MAX_VALIDITY_DAYS:
            raise CalibrationError(
                f"--validity-days must be > 0 and at most {MAX_VALIDITY_DAYS:g}, "
                f"not {validity_days:g}"
            )
        try:
            root = find_lab_root()
        except Exception:  # noqa: BLE001
            root = None
        st = load_station(resolve_file(station, "station", root))
        store = open_store(db)
        ctx = simulated_station(st) if simlab else nullcontext(st)
        try:
            with ctx as st_run:
                res = calibrate(
                    store, st_run, lamp=lamp, operator=operator, validity_days=validity_days
                )
        except InstrumentError as exc:
            if st.is_simulated and not simlab:
                raise InstrumentError(
                    f"{exc} (is the simulated lab running? start it with `lightcomp simlab "
                    f"start --station {station}`, or add --simlab)"
                ) from exc
            raise
        typer.echo(
            f"calibration {res.calib_id} stored for station {st.name}: valid until "
            f"{res.valid_until:%Y-%m-%d %H:%M} UTC; standard lamp {res.certified_flux_lm} lm "
            f"(±{100 * res.uncertainty_rel_k2:.1f} %, k=2)"
        )
        store.dispose()

    @cal_app.command("list")
    def list_(
        station: str | None = typer.Option(None, "--station", help="Only this station name."),
        db: str | None = DB_OPTION,
    ) -> None:
        """List stored calibrations, newest first."""
        from sqlalchemy import select

        from lightcomp.commands.common import open_store
        from lightcomp.store.models import Calibration

        store = open_store(db)
        with store.transaction() as s:
            q = select(Calibration).order_by(Calibration.valid_from.desc(), Calibration.id.desc())
            if station:
                q = q.where(Calibration.station == station)
            rows = s.scalars(q).all()
            if not rows:
                typer.echo("no calibrations")
            for r in rows:
                typer.echo(
                    f"{r.calib_id}  {r.station}  {r.status}  {r.valid_from:%Y-%m-%d %H:%M} .. "
                    f"{r.valid_until:%Y-%m-%d %H:%M}  lamp {r.standard_lamp_id}  "
                    f"certificate {r.certificate_id}"
                )
        store.dispose()

    app.add_typer(cal_app, name="calibrate")
