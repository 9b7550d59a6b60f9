"""Error answers of the API: one-line messages with a status, and their handlers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from lightcomp.api.schemas import ErrorMessage
from lightcomp.errors import CodeError, LightcompError, StoreError

__all__ = [
    "CHALLENGE",
    "ERRORS",
    "HttpError",
    "document_every_answer",
    "install_error_handlers",
]

CHALLENGE = {"WWW-Authenticate": "Bearer"}

#: Documented error answers of the key-protected endpoints (OpenAPI).
ERRORS = {
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


def install_error_handlers(app: FastAPI) -> None:
    """Map the project's errors onto answers: CodeError 422, StoreError 503, database down 503."""

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
