"""lightcomp.api: the alliance query service (ASGI app, API keys, publication).

``create_app(store_or_url)`` builds the FastAPI app; it is imported lazily so
that the key and publication helpers (used by the CLI) do not load FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lightcomp.store import Store

__all__ = ["create_app"]


def create_app(store_or_url: Store | str | None = None, **options: Any) -> FastAPI:
    """The ASGI app over ``store_or_url``; see :func:`lightcomp.api.app.create_app`."""
    from lightcomp.api.app import create_app as _create_app

    return _create_app(store_or_url, **options)
