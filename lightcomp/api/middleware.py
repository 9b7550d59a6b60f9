"""ASGI middleware of the API: request size limits (413 before routing), access log."""

from __future__ import annotations

import logging
import re
import time

from fastapi.responses import JSONResponse

from lightcomp.api.keys import KEY_SCHEME, PREFIX_HEX, parse_api_key

__all__ = ["ACCESS_LOGGER", "AccessLogMiddleware", "RequestLimitMiddleware", "redact_keys"]

ACCESS_LOGGER = "lightcomp.access"
"""Logger of the access log (one INFO record per request); ``lightcomp serve`` writes it."""

_KEY_IN_TEXT = re.compile(rf"{KEY_SCHEME}_([0-9a-fA-F]{{0,{PREFIX_HEX}}})[^\s&/?#;,\"']*")


def redact_keys(text: str) -> str:
    """``text`` with anything that looks like an API key cut to its look-up prefix
    (``lck_<prefix>_…``): a key pasted into a URL by mistake must not reach the log."""
    return _KEY_IN_TEXT.sub(lambda m: f"{KEY_SCHEME}_{m.group(1)}_…", text)


def key_prefix(scope) -> str:
    """What the access log shows of the caller's key: its look-up prefix, ``-`` without a
    bearer key, ``malformed`` for a bearer token that is not a key. Never the key."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":
                return "-"
            return parse_api_key(token.strip()) or "malformed"
    return "-"


class AccessLogMiddleware:
    """One line per HTTP request on :data:`ACCESS_LOGGER`: client, method, path (with the
    query string, keys redacted), status, duration in ms and the key prefix.

    Outermost, so refusals by the other middleware (413) are logged too; a request that
    raised before answering is logged with status 500."""

    def __init__(self, app, logger: logging.Logger | None = None):
        self.app = app
        self.log = logger or logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = 500

        async def logging_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, logging_send)
        finally:
            ms = 1000.0 * (time.perf_counter() - t0)
            query = scope.get("query_string", b"").decode("latin-1")
            path = scope.get("path", "") + (f"?{query}" if query else "")
            client = scope.get("client")
            self.log.info(
                "%s %s %s %d %.1f ms key=%s",
                client[0] if client else "-",
                scope.get("method", "-"),
                redact_keys(path),
                status,
                ms,
                key_prefix(scope),
            )


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
