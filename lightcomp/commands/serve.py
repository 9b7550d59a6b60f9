"""CLI: `lightcomp serve` — run the alliance query service (ASGI, uvicorn)."""

from __future__ import annotations

import typer

from lightcomp.api import DEFAULT_LAB_NAME
from lightcomp.commands.common import DB_OPTION


def serve(
    db: str | None = DB_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    lab_name: str = typer.Option(
        DEFAULT_LAB_NAME, "--lab-name", help="Laboratory name shown in records."
    ),
) -> None:
    """Serve coded component records over HTTP (OpenAPI at /openapi.json).

    Every endpoint except /health needs an API key (`lightcomp apikey create`).
    """
    import uvicorn

    from lightcomp.api import create_app
    from lightcomp.commands.common import open_store

    store = open_store(db)
    app = create_app(store, lab_name=lab_name)
    typer.echo(f"serving {store.shown_url} on http://{host}:{port} (OpenAPI: /openapi.json)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    """Add `serve` to the app."""
    app.command("serve")(serve)
