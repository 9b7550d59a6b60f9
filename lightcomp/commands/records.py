"""CLI: ``lightcomp records`` — export component records (CSV, JSON, Parquet) or spectra
(CSV, TM-27 XML).

Thin command: parse -> :mod:`lightcomp.reports.export` -> print.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from lightcomp.commands.common import DB_OPTION, open_store


def register(app: typer.Typer) -> None:
    @app.command("records")
    def records(
        lot: str | None = typer.Option(None, "--lot", help="Lot name (default: every lot)."),
        family: str | None = typer.Option(None, "--family", help="Family name or type code."),
        manufacturer: str | None = typer.Option(
            None, "--manufacturer", help="Manufacturer name or registry id."
        ),
        since: str | None = typer.Option(None, "--since", help="Measured on or after (UTC)."),
        until: str | None = typer.Option(None, "--until", help="Measured up to (UTC)."),
        fmt: str | None = typer.Option(
            None,
            "--format",
            help="Records format (required unless --spectra): csv, json or parquet.",
        ),
        spectra: str | None = typer.Option(
            None,
            "--spectra",
            help="Export spectra instead: csv (one file, a column per code) or tm27 "
            "(one XML per component into the -o folder).",
        ),
        output: Path | None = typer.Option(
            None, "-o", "--output", help="File (or folder for tm27); records default: stdout."
        ),
        db: str | None = DB_OPTION,
    ) -> None:
        """One row per component: product code, lot, verdict, failed limits, ANSI category,
        quadrangle verdict, SDCM steps, photometric code and all quantities."""
        from lightcomp.errors import ReportError
        from lightcomp.reports.export import write_records, write_spectra

        selection = {
            "lot": lot,
            "family": family,
            "manufacturer": manufacturer,
            "since": since,
            "until": until,
        }
        if spectra is not None and fmt is not None:
            raise ReportError("give either --format (records) or --spectra (spectra), not both")
        if spectra is None and fmt is None:
            raise ReportError("give --format csv|json|parquet (records) or --spectra csv|tm27")
        store = open_store(db)
        try:
            if spectra is not None:
                if output is None:
                    raise ReportError("--spectra needs -o FILE (csv) or -o FOLDER (tm27)")
                n, files = write_spectra(store, spectra, output, **selection)
                where = files[0] if len(files) == 1 else output
                typer.echo(f"{n} spectra -> {where}", err=True)
                return
            n, text = write_records(store, fmt, output, **selection)
        finally:
            store.dispose()
        if text is not None:
            sys.stdout.write(text)
            sys.stdout.flush()
        typer.echo(f"{n} records" + (f" -> {output}" if output else ""), err=True)
