"""Interactive API documentation that works with no internet.

FastAPI's default ``/docs`` page loads Swagger UI from a CDN, so it is blank
offline. These pages load Swagger UI 5 and ReDoc from the files vendored in the
``fastapi-offline`` package, served by this app under ``/portal/static/apidocs``;
no other host is referenced (no Google fonts, no validator badge).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/portal/static/apidocs"
# ReDoc's footer links an image on its vendor's CDN: this policy keeps the browser from
# loading anything but this server's files (the pages' own inline boot script allowed).
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; "
    "font-src 'self' data:; frame-ancestors 'none'"
)


def _offline(resp: HTMLResponse) -> HTMLResponse:
    resp.headers["Content-Security-Policy"] = DOCS_CSP
    return resp


def assets_dir() -> Path:
    """Folder of the vendored Swagger UI / ReDoc files."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Replace the CDN-based ``/docs`` with offline ``/docs`` and ``/redoc``."""
    drop = {"/docs", "/docs/oauth2-redirect", "/redoc"}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in drop]
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="apidocs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2 = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _offline(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - API docs",
                oauth2_redirect_url=oauth2,
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
                swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
            )
        )

    @app.get(oauth2, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _offline(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )
