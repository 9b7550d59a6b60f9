"""CLI: `lightcomp audit` — check that the audit trail was not rewritten."""

from __future__ import annotations

import typer

from lightcomp.commands.common import DB_OPTION

audit_app = typer.Typer(help="The audit trail: a hash chain of every change to shared records.")


@audit_app.command("verify")
def verify(db: str | None = DB_OPTION) -> None:
    """Walk the audit trail's hash chain; report the first broken link (exit 1)."""
    from lightcomp.store import Store
    from lightcomp.store.audit import verify_chain

    store = Store.open(db, create=False)
    with store.session() as session:
        report = verify_chain(session)
    if report.ok:
        typer.echo(
            f"audit trail intact: {report.entries} entries, last hash {report.last_hash[:16]}"
        )
        return
    typer.echo(
        f"audit trail BROKEN at entry {report.broken_at}: {report.reason} "
        f"({report.entries} entries before it verified)",
        err=True,
    )
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
