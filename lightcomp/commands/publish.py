"""CLI: `lightcomp publish` and `lightcomp withdraw` — lot publication to members."""

from __future__ import annotations

import typer

from lightcomp.commands.apikey import cli_actor
from lightcomp.commands.common import DB_OPTION


def publish(
    lot: str = typer.Option(..., "--lot", help="Lot name."),
    db: str | None = DB_OPTION,
) -> None:
    """Publish a lot: its component records become visible to alliance members."""
    from lightcomp.api.publication import publish_lot
    from lightcomp.commands.common import open_store

    store = open_store(db)
    with store.transaction() as session:
        row = publish_lot(session, lot, actor=cli_actor())
        when = row.published_at.isoformat()
    typer.echo(f"published lot {lot} at {when}")


def withdraw(
    lot: str = typer.Option(..., "--lot", help="Lot name."),
    reason: str = typer.Option(..., "--reason", help="Why (shown with every record)."),
    db: str | None = DB_OPTION,
) -> None:
    """Withdraw a published lot; its records stay listed as withdrawn with the reason."""
    from lightcomp.api.publication import withdraw_lot
    from lightcomp.commands.common import open_store

    store = open_store(db)
    with store.transaction() as session:
        row = withdraw_lot(session, lot, reason, actor=cli_actor())
        when = row.withdrawn_at.isoformat()
    typer.echo(f"withdrew lot {lot} at {when}: {reason}")


def register(app: typer.Typer) -> None:
    """Add `publish` and `withdraw` to the app."""
    app.command("publish")(publish)
    app.command("withdraw")(withdraw)
