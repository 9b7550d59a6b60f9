"""CLI: ``lightcomp report`` — yield report of a lot or of a selection, HTML or PDF.

Thin command: parse -> :func:`lightcomp.reports.lot_report.write_lot_report` -> print.
"""

from __future__ import annotations

from pathlib import Path

import typer

from lightcomp.commands.common import DB_OPTION, open_store


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        output: Path = typer.Option(..., "-o", "--output", help="Report file to write."),
        lot: str | None = typer.Option(None, "--lot", help="Lot name."),
        family: str | None = typer.Option(
            None, "--family", help="Family name or type code (all its lots)."
        ),
        manufacturer: str | None = typer.Option(
            None, "--manufacturer", help="Manufacturer name or registry id."
        ),
        since: str | None = typer.Option(
            None,
            "--since",
            help="Measured on or after this date (YYYY-MM-DD or ISO date-time, UTC).",
        ),
        until: str | None = typer.Option(
            None, "--until", help="Measured up to this date (a date includes the whole day)."
        ),
        fmt: str | None = typer.Option(
            None, "--format", help="html or pdf (default: from the file extension, else html)."
        ),
        target: float = typer.Option(0.95, "--target", help="Yield target (fraction)."),
        as_of: str | None = typer.Option(
            None,
            "--as-of",
            help="Show the store as of this time (ISO date/time, UTC); default: --until, else "
            "the lot's last measurement, else now.",
        ),
        db: str | None = DB_OPTION,
    ) -> None:
        """Write the yield report (headline yield vs target, Pareto, histograms, Cpk,
        chromaticity, trend, control chart, failed components) of a lot or a selection; a
        selection of several families gets a section per family, withdrawn lots are marked."""
        from lightcomp.errors import ReportError
        from lightcomp.reports.lot_report import write_lot_report

        if fmt is not None and fmt.lower() not in ("html", "pdf"):
            raise ReportError(f"--format {fmt!r}: use html or pdf")
        if not 0 < target < 1:
            raise ReportError(f"--target {target}: must be a fraction between 0 and 1")
        store = open_store(db)
        try:
            info = write_lot_report(
                store,
                output,
                fmt=fmt,
                lot=lot,
                family=family,
                manufacturer=manufacturer,
                since=since,
                until=until,
                target=target,
                as_of=as_of,
            )
        finally:
            store.dispose()
        typer.echo(f"{info['path']}: {info['title']} ({info['format']}, {info['bytes']} bytes)")
