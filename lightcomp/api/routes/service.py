"""Service routes: ``/health`` (no key needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from lightcomp.api.deps import ReaderDep
from lightcomp.api.schemas import Health

router = APIRouter(tags=["service"])


@router.get("/health", response_model=Health)
async def health(reader: ReaderDep) -> dict[str, Any]:
    """Liveness and database reachability (no key needed)."""
    from lightcomp import __version__

    db = "ok" if await run_in_threadpool(reader.ping) else "unreachable"
    return {"status": "ok" if db == "ok" else "degraded", "database": db, "version": __version__}
