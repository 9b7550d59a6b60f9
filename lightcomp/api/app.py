"""The alliance query service: an ASGI (FastAPI) app over the lightcomp store.

``create_app(store_or_url)`` builds it; ``lightcomp serve`` runs it with uvicorn.
Every endpoint but ``/health`` needs ``Authorization: Bearer <key>`` (see
:mod:`lightcomp.api.keys`); what a key may see follows its role
(:mod:`lightcomp.api.queries`). Unknown and invisible components both answer
404 so existence does not leak; a visible record without raw-data rights
answers 403 on ``/spectrum``.

Requests are bounded: bodies over ``max_body_bytes`` and URLs over
``max_url_chars`` get 413 before routing; every query parameter is validated
(422 with a message).
"""

import io
import math
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import create_engine, literal, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from lightcomp import __version__
from lightcomp.api import queries as q
from lightcomp.api.keys import Principal, authenticate, hash_api_key, touch_api_key
from lightcomp.api.portal import mount_portal
from lightcomp.api.records import canonical_code, record, summary
from lightcomp.api.records import publication as publication_block
from lightcomp.api.schemas import (
    ComponentPage,
    ComponentRecord,
    ErrorMessage,
    Health,
    LotYield,
)
from lightcomp.errors import CodeError, LightcompError, StoreError
from lightcomp.store import Store, decode_array

DEFAULT_LAB_NAME = "lightcomp test laboratory"
MAX_BODY_BYTES = 64 * 1024
MAX_URL_CHARS = 4096
AUTH_CACHE_S = 2.0
AUTH_CACHE_MAX = 4096
LAST_USED_EVERY_S = 60.0
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
T = TypeVar("T")
# No NUL or other control characters in text filters (PostgreSQL rejects NUL).
TEXT = r"^[^\x00-\x1f\x7f]{1,200}$"

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer lck_...`")

_ERRORS = {
    401: {"model": ErrorMessage, "description": "missing, malformed, unknown or revoked key"},
    404: {"model": ErrorMessage, "description": "unknown, or not visible to this key"},
    422: {"model": ErrorMessage, "description": "invalid parameter"},
    503: {"model": ErrorMessage, "description": "database unavailable"},
}


def document_every_answer(app: FastAPI) -> None:
    """Every operation's OpenAPI entry lists the answers the app can give it.

    The request-limit middleware answers 413 on every route (over-long URL, oversized
    body) before routing, and every operation with parameters can answer 422; both
    are added to each operation of the generated document, whichever router made it.
    """
    make = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = make()
        ref = {"$ref": "#/components/schemas/ErrorMessage"}
        body = {"content": {"application/json": {"schema": ref}}}
        doc.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "ErrorMessage", ErrorMessage.model_json_schema()
        )
        for item in doc.get("paths", {}).values():
            for op in item.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                responses = op["responses"]
                responses.setdefault(
                    "413", {"description": "URL or request body too large", **body}
                )
                if op.get("parameters") or op.get("requestBody"):
                    responses.setdefault("422", {"description": "invalid parameter", **body})
        app.openapi_schema = doc
        return doc

    app.openapi = openapi


class HttpError(Exception):
    """An error answer with a status code and a one-line message."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


class Reader:
    """Read access for the request handlers: one short session per request, key check.

    On PostgreSQL reads go through an own engine in autocommit mode without a
    pre-ping (one round trip per query, no BEGIN/ROLLBACK); a dropped connection
    fails one request with 503 and is replaced. Verified keys are remembered for
    ``auth_cache_s`` seconds (by SHA-256 of the key; revocation is seen after at
    most that long); ``api_principals.last_used_at`` is updated at most once a
    minute per key.
    """

    def __init__(self, store: Store, *, auth_cache_s: float = AUTH_CACHE_S):
        self.store = store
        self.auth_cache_s = auth_cache_s
        self._own_engine = None
        if store.dialect == "postgresql":
            self._own_engine = create_engine(
                store.url,
                pool_size=8,
                max_overflow=8,
                pool_pre_ping=False,
                pool_recycle=900,
                isolation_level="AUTOCOMMIT",
            )
            self._sessions = sessionmaker(self._own_engine)
        else:
            self._sessions = store.session
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def dispose(self) -> None:
        if self._own_engine is not None:
            self._own_engine.dispose()

    def ping(self) -> bool:
        try:
            with self._sessions() as session:
                session.execute(select(literal(1)))
            return True
        except (OperationalError, DBAPIError):
            return False

    def _principal(self, session: Session, key: str) -> Principal:
        digest = hash_api_key(key) if self.auth_cache_s > 0 else ""
        now = time.monotonic()
        if digest:
            hit = self._cache.get(digest)
            if hit is not None and hit[0] > now:
                return hit[1]
        principal = authenticate(session, key)
        if principal is None:
            raise HttpError(401, "invalid or revoked API key", _CHALLENGE)
        self._maybe_touch(principal)
        if digest:
            with self._lock:
                if len(self._cache) >= AUTH_CACHE_MAX:
                    self._cache.clear()
                self._cache[digest] = (now + self.auth_cache_s, principal)
        return principal

    def _maybe_touch(self, principal: Principal) -> None:
        """Update ``last_used_at`` at most every ``LAST_USED_EVERY_S`` per key (best effort)."""
        last = principal.last_used_at
        now = datetime.now(UTC)
        if last is not None:
            last = last if last.tzinfo else last.replace(tzinfo=UTC)
            if (now - last).total_seconds() < LAST_USED_EVERY_S:
                return
        try:
            with self.store.transaction() as session:
                touch_api_key(session, principal.id, now)
        except LightcompError:  # a busy or read-only store must not fail the read
            pass

    def run(self, key: str, work: Callable[[Session, Principal], T]) -> T:
        with self._sessions() as session:
            return work(session, self._principal(session, key))

    async def call(self, key: str, work: Callable[[Session, Principal], T]) -> T:
        """Run ``work(session, principal)`` in the thread pool (one hop per request)."""
        return await run_in_threadpool(self.run, key, work)


class RequestLimitMiddleware:
    """Refuse over-long URLs and oversized bodies with 413 (pure ASGI, no buffering).

    ``Content-Length`` over the limit is refused at once; a chunked body is
    counted while it streams and refused when it passes the limit.
    """

    def __init__(self, app, *, max_body_bytes: int, max_url_chars: int):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_url_chars = max_url_chars

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        url_len = len(scope.get("raw_path") or scope.get("path", "").encode()) + len(
            scope.get("query_string", b"")
        )
        if url_len > self.max_url_chars:
            return await _plain_error(
                send, 413, f"URL is {url_len} characters long; at most {self.max_url_chars}"
            )
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    n = int(value)
                except ValueError:
                    return await _plain_error(send, 400, "bad Content-Length header")
                if n > self.max_body_bytes:
                    return await _plain_error(
                        send, 413, f"request body is {n} bytes; at most {self.max_body_bytes}"
                    )
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _plain_error(send, 413, f"request body exceeds {self.max_body_bytes} bytes")


class _BodyTooLarge(Exception):
    pass


async def _plain_error(send, status: int, detail: str) -> None:
    body = JSONResponse({"detail": detail}).body
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(
    store_or_url: Store | str | None = None,
    *,
    lab_name: str = DEFAULT_LAB_NAME,
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
        title="lightcomp alliance query service",
        version=__version__,
        description="Read-only access to coded component test records. Every endpoint except "
        "/health needs `Authorization: Bearer <API key>`. Roles: lab (everything), "
        "manufacturer (own components in full, published records of others), member "
        "(published records). Withdrawn records stay listed with their reason.",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.lab_name = lab_name
    document_every_answer(app)
    app.add_middleware(
        RequestLimitMiddleware, max_body_bytes=max_body_bytes, max_url_chars=max_url_chars
    )

    @app.exception_handler(HttpError)
    async def _http_error(_request: Request, exc: HttpError):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(CodeError)
    async def _code_error(_request: Request, exc: CodeError):
        return JSONResponse({"detail": f"malformed product code: {exc}"}, status_code=422)

    @app.exception_handler(LightcompError)
    async def _lc_error(_request: Request, exc: LightcompError):
        status = 503 if isinstance(exc, StoreError) else 422
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(OperationalError)
    async def _db_down(_request: Request, _exc: OperationalError):
        return JSONResponse({"detail": "database unavailable"}, status_code=503)

    app.state.reader = reader

    async def get_api_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> str:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HttpError(401, "missing API key: send Authorization: Bearer <key>", _CHALLENGE)
        return credentials.credentials

    KeyDep = Annotated[str, Depends(get_api_key)]
    CodePath = Annotated[
        str,
        PathParam(
            min_length=1, max_length=64, description="product code, printed or canonical, any case"
        ),
    ]

    @app.get("/health", response_model=Health, tags=["service"])
    async def health() -> dict[str, Any]:
        """Liveness and database reachability (no key needed)."""
        db = "ok" if await run_in_threadpool(reader.ping) else "unreachable"
        return {
            "status": "ok" if db == "ok" else "degraded",
            "database": db,
            "version": __version__,
        }

    def _visible_component(session: Session, principal: Principal, code: str, *, detail: bool):
        canon = canonical_code(code)
        row = q.component_row(session, canon, detail=detail)
        if row is None or not q.is_visible(principal, row.manufacturer_id, row.published_at):
            raise HttpError(404, "no such component (or not visible to this key)")
        return row

    @app.get(
        "/components/{code}", response_model=ComponentRecord, responses=_ERRORS, tags=["components"]
    )
    async def get_component(code: CodePath, key: KeyDep) -> dict[str, Any]:
        """The record of one component: decoded code, family, rated beside measured
        values, verdict, plan/spec version, key quantities, publication status."""

        def work(session: Session, principal: Principal) -> dict[str, Any]:
            row = _visible_component(session, principal, code, detail=True)
            full = q.has_full_access(principal, row.manufacturer_id)
            return record(row, full=full, lab_name=app.state.lab_name)

        return await reader.call(key, work)

    @app.get(
        "/components/{code}/spectrum",
        responses={
            **_ERRORS,
            403: {"model": ErrorMessage, "description": "no raw-data rights for this component"},
            200: {
                "content": {"text/csv": {}, "application/xml": {}},
                "description": "spectrum as CSV or IES TM-27 XML",
            },
        },
        tags=["components"],
    )
    async def get_spectrum(
        code: CodePath,
        request: Request,
        key: KeyDep,
        format: Annotated[
            Literal["csv", "tm27"] | None,
            Query(description="csv or tm27; default from the Accept header, else csv"),
        ] = None,
        data: Annotated[
            Literal["calibrated", "raw"],
            Query(
                description="calibrated: spectral flux (W/nm) on the 1 nm grid; raw: the "
                "instrument's own reading and dark on its pixel wavelengths (CSV only)"
            ),
        ] = "calibrated",
    ) -> Response:
        """Calibrated spectral flux (W/nm) of the current measurement, or with
        ``data=raw`` the raw reading and dark signal on the instrument's own
        wavelengths; for the lab and the owning manufacturer."""
        accept = request.headers.get("accept", "")

        def work(session: Session, principal: Principal) -> Response:
            row = _visible_component(session, principal, code, detail=False)
            if not q.has_full_access(principal, row.manufacturer_id):
                raise HttpError(
                    403, "spectra and raw data are for the lab and the component's manufacturer"
                )
            fmt = format or _format_from_accept(accept)
            arrays = q.component_spectrum_row(session, row.component_id)
            if data == "raw":
                if format == "tm27":
                    raise HttpError(422, "raw data are served as CSV only (format=csv)")
                return _raw_csv_response(row, arrays)
            if arrays is None or arrays.wavelengths is None or arrays.spectrum is None:
                raise HttpError(404, "no spectrum stored for this component")
            wl = decode_array(arrays.wavelengths)
            spd = decode_array(arrays.spectrum)
            if fmt == "tm27":
                return Response(
                    _tm27_bytes(row, wl, spd, app.state.lab_name), media_type="application/xml"
                )
            cols = {"wavelength_nm": wl, "spectral_flux_w_per_nm": spd}
            for name, blob in (
                ("raw_counts", arrays.raw_spectrum),
                ("dark_counts", arrays.dark_spectrum),
            ):
                if blob is not None:
                    a = decode_array(blob)
                    if a.shape == wl.shape:
                        cols[name] = a
            return Response(
                _csv_bytes(cols),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{row.product_code}.csv"'},
            )

        return await reader.call(key, work)

    @app.get("/components", response_model=ComponentPage, responses=_ERRORS, tags=["components"])
    async def search_components(
        key: KeyDep,
        manufacturer: Annotated[
            str | None, Query(pattern=TEXT, description="registry id or exact name")
        ] = None,
        family: Annotated[
            str | None, Query(pattern=TEXT, description="family name or type code")
        ] = None,
        level: Annotated[int | None, Query(ge=0, le=9)] = None,
        category: Annotated[str | None, Query(pattern=TEXT)] = None,
        input_class: Annotated[str | None, Query(pattern=TEXT)] = None,
        nominal_cct_k: Annotated[int | None, Query(ge=1000, le=100000)] = None,
        lot: Annotated[str | None, Query(pattern=TEXT)] = None,
        verdict: Annotated[Literal["pass", "fail", "error"] | None, Query()] = None,
        publication: Annotated[
            Literal["unpublished", "published", "withdrawn"] | None, Query()
        ] = None,
        cct_min: Annotated[float | None, Query(ge=0, le=1e6, allow_inf_nan=False)] = None,
        cct_max: Annotated[float | None, Query(ge=0, le=1e6, allow_inf_nan=False)] = None,
        duv_min: Annotated[float | None, Query(ge=-1, le=1, allow_inf_nan=False)] = None,
        duv_max: Annotated[float | None, Query(ge=-1, le=1, allow_inf_nan=False)] = None,
        ra_min: Annotated[float | None, Query(ge=-1000, le=100, allow_inf_nan=False)] = None,
        ra_max: Annotated[float | None, Query(ge=-1000, le=100, allow_inf_nan=False)] = None,
        r9_min: Annotated[float | None, Query(ge=-1000, le=100, allow_inf_nan=False)] = None,
        rf_min: Annotated[float | None, Query(ge=0, le=100, allow_inf_nan=False)] = None,
        flux_min: Annotated[float | None, Query(ge=0, le=1e9, allow_inf_nan=False)] = None,
        flux_max: Annotated[float | None, Query(ge=0, le=1e9, allow_inf_nan=False)] = None,
        efficacy_min: Annotated[float | None, Query(ge=0, le=1000, allow_inf_nan=False)] = None,
        power_max: Annotated[float | None, Query(ge=0, le=1e6, allow_inf_nan=False)] = None,
        bandwidth_min: Annotated[
            float | None,
            Query(ge=0, le=1e6, allow_inf_nan=False, description="white -3 dB bandwidth, MHz"),
        ] = None,
        bandwidth_max: Annotated[
            float | None,
            Query(ge=0, le=1e6, allow_inf_nan=False, description="white -3 dB bandwidth, MHz"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=q.MAX_PAGE)] = q.DEFAULT_PAGE,
        cursor: Annotated[
            str | None, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")
        ] = None,
    ) -> dict[str, Any]:
        """Search visible components; keyset pagination by an opaque cursor
        (at most 200 per page). Withdrawn records are listed with their status."""
        for lo, hi, name in (
            (cct_min, cct_max, "cct"),
            (duv_min, duv_max, "duv"),
            (ra_min, ra_max, "ra"),
            (flux_min, flux_max, "flux"),
            (bandwidth_min, bandwidth_max, "bandwidth"),
        ):
            if lo is not None and hi is not None and lo > hi:
                raise HttpError(422, f"{name}_min ({lo}) is greater than {name}_max ({hi})")
        try:
            after = q.decode_cursor(cursor) if cursor else 0
        except q.CursorError as exc:
            raise HttpError(422, str(exc)) from exc
        filters = q.SearchFilters(
            manufacturer=manufacturer,
            family=family,
            level=level,
            category=category,
            input_class=input_class,
            nominal_cct_k=nominal_cct_k,
            lot=lot,
            verdict=verdict,
            publication=publication,
            cct_min=cct_min,
            cct_max=cct_max,
            duv_min=duv_min,
            duv_max=duv_max,
            ra_min=ra_min,
            ra_max=ra_max,
            r9_min=r9_min,
            rf_min=rf_min,
            flux_min=flux_min,
            flux_max=flux_max,
            efficacy_min=efficacy_min,
            power_max=power_max,
            bandwidth_min=bandwidth_min,
            bandwidth_max=bandwidth_max,
        )

        def work(session: Session, principal: Principal) -> dict[str, Any]:
            rows, next_id = q.search_rows(session, principal, filters, after_id=after, limit=limit)
            return {
                "items": [summary(r) for r in rows],
                "limit": limit,
                "next_cursor": q.encode_cursor(next_id) if next_id is not None else None,
            }

        return await reader.call(key, work)

    @app.get("/lots/{lot}/yield", response_model=LotYield, responses=_ERRORS, tags=["lots"])
    async def get_lot_yield(
        lot: Annotated[str, PathParam(pattern=TEXT, max_length=64)],
        key: KeyDep,
    ) -> dict[str, Any]:
        """Pass/fail/error counts of the lot's current measurements and the yield summary
        (yield, 95 % interval, verdict against the 95 % target)."""

        def work(session: Session, principal: Principal) -> dict[str, Any]:
            row = q.lot_row(session, lot)
            if row is None or not _lot_visible(session, principal, row):
                raise HttpError(404, "no such lot (or not visible to this key)")
            counts = q.lot_verdict_counts(session, row.id)
            return {
                "lot": row.name,
                "publication": publication_block(row),
                "counts": counts,
                "summary": _finite(_yield_summary(counts)),
            }

        return await reader.call(key, work)

    mount_portal(app)  # the web portal (issue 18): /, /login, /portal/..., offline /docs
    return app


def _lot_visible(session: Session, principal: Principal, row) -> bool:
    if principal.role == "lab" or row.published_at is not None:
        return True
    if principal.role != "manufacturer":
        return False
    if row.manufacturer_id is not None:
        return row.manufacturer_id == principal.manufacturer_id
    return q.lot_owned_by(session, row.id, principal.manufacturer_id)


def _yield_summary(counts: dict[str, int]) -> dict[str, Any]:
    """Yield summary from the analysis core (through the store's shared helper)."""
    from lightcomp.store.queries import yield_summary_dict

    return yield_summary_dict(counts["pass"], counts["fail"], counts["error"])


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _format_from_accept(accept: str) -> str:
    a = accept.lower()
    if "xml" in a and "csv" not in a:
        return "tm27"
    return "csv"


def _csv_bytes(cols: dict[str, np.ndarray]) -> bytes:
    buf = io.StringIO()
    buf.write(",".join(cols) + "\n")
    data = np.column_stack([np.asarray(c, dtype=float) for c in cols.values()])
    for row in data.tolist():  # repr of Python floats: shortest exact round trip
        buf.write(",".join(map(repr, row)) + "\n")
    return buf.getvalue().encode()


def _raw_csv_response(row, arrays) -> Response:
    """The raw reading (and dark) on the instrument's own wavelengths, as stored by a station:
    a (2, P) array of pixel wavelengths and values, the dark as (P,)."""
    raw = decode_array(arrays.raw_spectrum) if arrays is not None else None
    if raw is None:
        raise HttpError(404, "no raw reading stored for this component")
    if raw.ndim == 2 and raw.shape[0] == 2:
        pix_wl, values = raw
    else:  # a raw signal already on the calibrated grid
        pix_wl, values = decode_array(arrays.wavelengths), raw
    cols = {"instrument_wavelength_nm": pix_wl, "raw_signal": values}
    dark = decode_array(arrays.dark_spectrum) if arrays.dark_spectrum is not None else None
    if dark is not None and dark.shape == values.shape:
        cols["dark_signal"] = dark
    return Response(
        _csv_bytes(cols),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{row.product_code}-raw.csv"'},
    )


def _tm27_bytes(row, wl: np.ndarray, spd: np.ndarray, lab_name: str) -> bytes:
    from lightcomp.spectrafiles import write_tm27

    header = {
        "Manufacturer": row.manufacturer_name,
        "CatalogNumber": row.family_name,
        "UniqueIdentifier": row.product_code,
        "Laboratory": lab_name,
    }
    if row.measured_at is not None:
        header["ReportDate"] = row.measured_at.date().isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spectrum.xml"
        write_tm27(
            path,
            wl,
            spd,
            description=f"{row.product_code} spectral flux",
            spectral_quantity="flux",
            header=header,
        )
        return path.read_bytes()
