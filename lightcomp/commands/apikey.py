"""CLI: `lightcomp apikey` — create, list and revoke API keys of the query service."""

from __future__ import annotations

import getpass

import typer

from lightcomp.commands.common import DB_OPTION

apikey_app = typer.Typer(
    help="API keys of the alliance query service (only a hash of each key is stored)."
)


def cli_actor() -> str:
    """Who runs the command, for the audit trail (the commands that change records use it)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in containers
        return "unknown"


def stamp(value) -> str:
    """A stored time to the second for the listings, '-' when there is none."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@apikey_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help="lab, manufacturer or member."),
    manufacturer: str | None = typer.Option(
        None, "--manufacturer", help="Registry id or name (role manufacturer only)."
    ),
    name: str | None = typer.Option(None, "--name", help="Who holds the key."),
    db: str | None = DB_OPTION,
) -> None:
    """Create a key; it is printed once, alone on the last line, and never stored."""
    from lightcomp.api.keys import create_api_key
    from lightcomp.commands.common import open_store

    store = open_store(db)
    with store.transaction() as session:
        principal, key = create_api_key(
            session, role, manufacturer=manufacturer, name=name, actor=cli_actor()
        )
        pid, prefix, pname = principal.id, principal.key_prefix, principal.name
    typer.echo(f"created API key id {pid} prefix {prefix} role {role} name {pname!r}")
    typer.echo("store it now: it cannot be shown again")
    typer.echo(key)


@apikey_app.command("revoke")
def revoke(
    ref: str = typer.Argument(..., help="Key prefix or id (as `apikey list` shows)."),
    db: str | None = DB_OPTION,
) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    from lightcomp.api.keys import revoke_api_key
    from lightcomp.commands.common import open_store

    store = open_store(db)
    with store.transaction() as session:
        p = revoke_api_key(session, ref, actor=cli_actor())
        typer.echo(f"revoked API key id {p.id} prefix {p.key_prefix} ({p.role}, {p.name!r})")


@apikey_app.command("list")
def list_keys(db: str | None = DB_OPTION) -> None:
    """List keys (id, prefix, role, manufacturer, name, created, revoked)."""
    from lightcomp.api.keys import list_api_keys
    from lightcomp.commands.common import open_store

    store = open_store(db)
    with store.transaction() as session:
        rows = list_api_keys(session)
    typer.echo(
        f"{'id':>4}  {'prefix':12}  {'role':12}  {'manufacturer':20}  {'created':19}  "
        f"{'revoked':19}  name"
    )
    for r in rows:
        typer.echo(
            f"{r['id']:>4}  {r['prefix']:12}  {r['role']:12}  {(r['manufacturer'] or '-')[:20]:20}"
            f"  {stamp(r['created_at']):19}  {stamp(r['revoked_at']):19}  {r['name']}"
        )


def register(app: typer.Typer) -> None:
    """Add the `apikey` group to the app."""
    app.add_typer(apikey_app, name="apikey")
