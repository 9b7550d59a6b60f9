"""ASGI middleware of the API: request size limits (413 before routing)."""

from __future__ import annotations

from fastapi.responses import JSONResponse

__all__ = ["RequestLimitMiddleware"]


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
