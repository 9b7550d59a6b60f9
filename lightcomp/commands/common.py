"""Options and helpers shared by the command modules."""

from __future__ import annotations

import typer

DB_OPTION = typer.Option(
    None,
    "--db",
    envvar="LIGHTCOMP_DB",
    help="Database URL (SQLAlchemy form), e.g. sqlite:///lightcomp.db or "
    "postgresql+psycopg://user@host/db. Default: LIGHTCOMP_DB, else sqlite:///lightcomp.db.",
    show_default=False,
)


def open_store(db: str | None):
    """Open (and create or migrate if empty) the store named by ``db``."""
    from lightcomp.store import Store

    return Store.open(db)
