"""CLI: `lightcomp db` — schema migrations and store information."""

from __future__ import annotations

import typer

from lightcomp.commands.common import DB_OPTION

db_app = typer.Typer(help="Database schema: upgrade to the latest revision, show the current one.")


@db_app.command("upgrade")
def upgrade(
    db: str | None = DB_OPTION,
    revision: str = typer.Option("head", help="Target Alembic revision."),
) -> None:
    """Migrate the database to the latest schema (creates it when empty)."""
    from lightcomp.store import Store

    store = Store.open(db, create=False, check=False)
    before = store.current_revision()
    after = store.upgrade(revision)
    typer.echo(f"{store.shown_url}: schema {before or 'empty'} -> {after}")


@db_app.command("current")
def current(db: str | None = DB_OPTION) -> None:
    """Print the schema revision of the database and the one this code needs."""
    from lightcomp.store import Store
    from lightcomp.store.engine import head_revision

    store = Store.open(db, create=False, check=False)
    typer.echo(
        f"{store.shown_url}: {store.current_revision() or 'empty'} (code: {head_revision()})"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
