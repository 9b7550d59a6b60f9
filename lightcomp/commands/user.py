"""CLI: `lightcomp user` — accounts of the web portal (add, list, disable, reset).

Passwords are read from standard input (``--password-stdin``), never from the
command line (where other users and shell history could see them).
"""

from __future__ import annotations

import sys

import typer

from lightcomp.commands.apikey import cli_actor, stamp
from lightcomp.commands.common import DB_OPTION

user_app = typer.Typer(help="Web portal accounts (passwords stored as Argon2id hashes).")

PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from standard input (first line)."
)


def _read_password(from_stdin: bool) -> str:
    from lightcomp.errors import ConfigError

    if not from_stdin:
        raise ConfigError("give the password on standard input with --password-stdin")
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise ConfigError("no password on standard input")
    return password


@user_app.command("add")
def add(
    email: str = typer.Option(..., "--email", help="The user's e-mail address (their login)."),
    role: str = typer.Option(..., "--role", help="lab, manufacturer or member."),
    manufacturer: str | None = typer.Option(
        None, "--manufacturer", help="Registry id or name (role manufacturer only)."
    ),
    password_stdin: bool = PASSWORD_STDIN,
    db: str | None = DB_OPTION,
) -> None:
    """Create a portal account."""
    from lightcomp.api.portal.accounts import add_user
    from lightcomp.commands.common import open_store

    password = _read_password(password_stdin)
    store = open_store(db)
    with store.transaction() as session:
        u = add_user(session, email, role, password, manufacturer=manufacturer, actor=cli_actor())
        uid, uemail = u.id, u.email
    typer.echo(f"added portal user id {uid} {uemail} role {role}")


@user_app.command("list")
def list_users(db: str | None = DB_OPTION) -> None:
    """List accounts (id, e-mail, role, manufacturer, state, last login)."""
    from lightcomp.api.portal.accounts import list_users as _list
    from lightcomp.commands.common import open_store

    store = open_store(db)
    with store.session() as session:
        rows = _list(session)
    typer.echo(
        f"{'id':>4}  {'email':32}  {'role':12}  {'manufacturer':20}  {'state':8}  last login"
    )
    for r in rows:
        state = "disabled" if r["disabled_at"] else ("locked" if r["locked"] else "active")
        typer.echo(
            f"{r['id']:>4}  {r['email'][:32]:32}  {r['role']:12}  "
            f"{(r['manufacturer'] or '-')[:20]:20}  {state:8}  {stamp(r['last_login_at'])}"
        )


@user_app.command("disable")
def disable(
    email: str = typer.Option(..., "--email", help="The account to disable."),
    db: str | None = DB_OPTION,
) -> None:
    """Disable an account: its sessions end and the API keys it made are revoked."""
    from lightcomp.api.portal.accounts import disable_user
    from lightcomp.commands.common import open_store

    store = open_store(db)
    with store.transaction() as session:
        u = disable_user(session, email, actor=cli_actor())
        typer.echo(f"disabled portal user id {u.id} {u.email}")


@user_app.command("reset")
def reset(
    email: str = typer.Option(..., "--email", help="The account whose password is set."),
    password_stdin: bool = PASSWORD_STDIN,
    db: str | None = DB_OPTION,
) -> None:
    """Set a new password (clears a lock-out, ends the account's sessions)."""
    from lightcomp.api.portal.accounts import reset_password
    from lightcomp.commands.common import open_store

    password = _read_password(password_stdin)
    store = open_store(db)
    with store.transaction() as session:
        u = reset_password(session, email, password, actor=cli_actor())
        typer.echo(f"new password set for portal user id {u.id} {u.email}")


def register(app: typer.Typer) -> None:
    """Add the `user` group to the app."""
    app.add_typer(user_app, name="user")
