"""The alliance query service: an ASGI (FastAPI) app over the lightcomp store.

``create_app(store_or_url)`` builds it; ``lightcomp serve`` runs it with uvicorn.
Every endpoint but ``/health`` needs ``Authorization: Bearer <key>`` (see
:mod:`lightcomp.api.keys`); what a key may see follows its role
(:mod:`lightcomp.api.queries`). Unknown and invisible components both answer
404 so existence does not leak; a visible record without raw-data rights
answers 403 on ``/spectrum``.

Requests are bounded: bodies over ``max_body_bytes`` and URLs over
``max_url_chars`` get 413 before routing; every query parameter is validated
(422 with a message). Every request is logged on the ``lightcomp.access`` logger
(:class:`~lightcomp.api.middleware.AccessLogMiddleware`; ``lightcomp serve`` writes it).
"""

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request

from lightcomp.api.deps import AUTH_CACHE_S, Reader
from lightcomp.api.errors import HttpError, document_every_answer, install_error_handlers
from lightcomp.api.middleware import AccessLogMiddleware, RequestLimitMiddleware
from lightcomp.api.portal import mount_portal
from lightcomp.api.routes import ROUTERS
from lightcomp.store import Store

__all__ = ["HttpError", "create_app"]

MAX_BODY_BYTES = 64 * 1024
MAX_URL_CHARS = 4096


def reject_unknown_query_parameters(request: Request) -> None:
    """422 naming every query parameter the endpoint does not take: a typo such as
    ``cct_mn`` must not silently return unfiltered data. Pages outside the API schema
    (the portal) are left alone."""
    from fastapi.routing import APIRoute

    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:  # portal pages
        return
    known: set[str] = set()
    todo = [route.dependant]
    while todo:  # the endpoint's own and its dependencies' query parameters
        d = todo.pop()
        known.update(p.alias for p in d.query_params)
        todo.extend(d.dependencies)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        names = ", ".join(unknown)
        allowed = ", ".join(sorted(known)) or "none"
        raise HttpError(
            422, f"unknown query parameter(s): {names} (this endpoint takes: {allowed})"
        )


def create_app(
    store_or_url: Store | str | None = None,
    *,
    lab_name: str | None = None,
    auth_cache_s: float = AUTH_CACHE_S,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_url_chars: int = MAX_URL_CHARS,
) -> FastAPI:
    """The ASGI app serving the store ``store_or_url`` (a :class:`Store` or a URL).

    A URL (or None: ``$LIGHTCOMP_DB``, else ``sqlite:///lightcomp.db``) is opened
    with :meth:`Store.open`. The OpenAPI document is at ``/openapi.json``.
    ``auth_cache_s``: how long a verified key is trusted without asking the
    database again (so a revocation takes effect within that time; 0 disables).
    """
    owns_store = not isinstance(store_or_url, Store)
    store = Store.open(store_or_url) if owns_store else store_or_url
    reader = Reader(store, auth_cache_s=auth_cache_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        reader.dispose()
        if owns_store:
            store.dispose()

    app = FastAPI(
        dependencies=[Depends(reject_unknown_query_parameters)],
        title="lightcomp alliance query service",
        version=_version(),
        description="Read-only access to coded component test records. Every endpoint except "
        "/health needs `Authorization: Bearer <API key>`. Roles: lab (everything), "
        "manufacturer (own components in full, published records of others), member "
        "(published records). Withdrawn records stay listed with their reason.",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    # Given: every record names it. Not given: each record names the laboratory by the
    # certificates' rule for its own run (lightcomp.laboratory), so a component's record
    # and its certificate agree.
    app.state.lab_name = lab_name
    document_every_answer(app)
    app.add_middleware(
        RequestLimitMiddleware, max_body_bytes=max_body_bytes, max_url_chars=max_url_chars
    )
    app.add_middleware(AccessLogMiddleware)  # added last: outermost, logs the 413s too
    install_error_handlers(app)
    app.state.reader = reader
    for router in ROUTERS:
        app.include_router(router)
    mount_portal(app)  # the web portal (issue 18): /, /login, /portal/..., offline /docs
    return app


def _version() -> str:
    from lightcomp import __version__

    return __version__
