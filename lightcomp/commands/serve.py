"""CLI: `lightcomp serve` — run the alliance query service (ASGI, uvicorn).

Every request goes to the access log (``--access-log``, default stderr): UTC time,
client, method, path, status, duration in ms and the API key's look-up prefix, never
the key (:class:`lightcomp.api.middleware.AccessLogMiddleware`). uvicorn's own access
log stays off: it would print the query string unredacted and no key prefix.
"""

from __future__ import annotations

import logging
import time

import typer

from lightcomp.commands.common import DB_OPTION


def serve(
    db: str | None = DB_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    lab_name: str | None = typer.Option(
        None,
        "--lab-name",
        help="Laboratory name shown in records (default: the certificates' rule: "
        "LIGHTCOMP_LAB_CONFIG, LIGHTCOMP_LAB_NAME, else 'lightcomp test laboratory').",
    ),
    access_log: str = typer.Option(
        "-",
        "--access-log",
        help="File the access log is appended to (one line per request; - for stderr).",
    ),
) -> None:
    """Serve coded component records over HTTP (OpenAPI at /openapi.json).

    Every endpoint except /health needs an API key (`lightcomp apikey create`).
    """
    import uvicorn

    from lightcomp.api import create_app
    from lightcomp.commands.common import open_store

    handler = access_log_handler(access_log)
    store = open_store(db)
    app = create_app(store, lab_name=lab_name)
    install_access_log(handler)
    typer.echo(f"serving {store.shown_url} on http://{host}:{port} (OpenAPI: /openapi.json)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def access_log_handler(target: str) -> logging.Handler:
    """A handler writing access-log lines to ``target`` (a file, appended; ``-``: stderr),
    each stamped with the UTC time to the millisecond."""
    from lightcomp.errors import ConfigError

    if target == "-":
        handler: logging.Handler = logging.StreamHandler()
    else:
        try:
            handler = logging.FileHandler(target, mode="a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot open the access log {target}: {exc.strerror or exc}"
            ) from None
    formatter = logging.Formatter("%(asctime)s.%(msecs)03dZ %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    return handler


def install_access_log(handler: logging.Handler) -> None:
    """Send the access logger's records (and only them) to ``handler``."""
    from lightcomp.api.middleware import ACCESS_LOGGER

    log = logging.getLogger(ACCESS_LOGGER)
    log.setLevel(logging.INFO)
    log.propagate = False
    for old in list(log.handlers):  # one serve per process: the last one's target
        log.removeHandler(old)
    log.addHandler(handler)


def register(app: typer.Typer) -> None:
    """Add `serve` to the app."""
    app.command("serve")(serve)
