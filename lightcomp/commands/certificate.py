"""CLI: ``lightcomp certificate`` — the test certificate (LM-79 style, ISO/IEC 17025 7.8) of one
component, PDF or HTML, in English, Chinese or both (``--language en|zh|zh+en``); reissue a
corrected one.

Thin command: parse -> :func:`lightcomp.reports.certificate.issue_certificate` -> print.
Laboratory name/address: ``--lab-config FILE`` (TOML ``[lab] name, address``), else
``LIGHTCOMP_LAB_CONFIG``, ``LIGHTCOMP_LAB_NAME``/``LIGHTCOMP_LAB_ADDRESS``, the station's
``[station] lab``/``lab_address`` stored with the test run, else a default.
"""

from __future__ import annotations

from pathlib import Path

import typer

from lightcomp.commands.common import DB_OPTION, open_store


def register(app: typer.Typer) -> None:
    @app.command("certificate")
    def certificate(
        code: str = typer.Argument(..., help="Product code of the component."),
        output: Path = typer.Option(..., "-o", "--output", help="Certificate file to write."),
        authorised_by: str = typer.Option(
            ..., "--authorised-by", help="Name (and function) of the person authorising it."
        ),
        fmt: str | None = typer.Option(
            None, "--format", help="pdf or html (default: from the file extension, else pdf)."
        ),
        reissue: str | None = typer.Option(
            None, "--reissue", help="Report id this corrected certificate replaces."
        ),
        reason: str | None = typer.Option(None, "--reason", help="Why it is reissued."),
        decision_rule: str | None = typer.Option(
            None,
            "--decision-rule",
            help="simple (ILAC-G8 simple acceptance) or guarded (guard band w = U); default: "
            "the rule of the unit's test plan, stored with its uncertainties, else simple.",
        ),
        lab_config: Path | None = typer.Option(
            None,
            "--lab-config",
            help="TOML file with a \\[lab] table: name, address, accreditation.",
        ),
        language: str = typer.Option(
            "en",
            "--language",
            help="en, zh or zh+en (each label 中文 / English); Chinese PDFs embed the "
            "font of the Debian package fonts-wqy-zenhei.",
        ),
        db: str | None = DB_OPTION,
    ) -> None:
        """Issue the test certificate of CODE; print its report id and SHA-256."""
        from lightcomp.reports.certificate import issue_certificate

        store = open_store(db)
        try:
            info = issue_certificate(
                store,
                code,
                output,
                authorised_by=authorised_by,
                fmt=fmt,
                lab_config=lab_config,
                decision_rule=decision_rule,
                reissue=reissue,
                reason=reason,
                language=language,
            )
        finally:
            store.dispose()
        extra = f", replaces {info['replaces']}" if info["replaces"] else ""
        typer.echo(
            f"{info['report_id']}{extra}: {info['path']} ({info['format']}, "
            f"sha256 {info['content_sha256']})"
        )
