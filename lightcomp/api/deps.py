"""FastAPI dependencies of the API: the store reader, the API key, the session, the principal.

A route declares what it needs (``session: SessionDep, principal: PrincipalDep``);
FastAPI opens one short session per request, checks the key on it and closes it
after the answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import create_engine, literal, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lightcomp.api.errors import CHALLENGE, HttpError
from lightcomp.api.keys import Principal, authenticate, hash_api_key, touch_api_key
from lightcomp.errors import LightcompError
from lightcomp.store import Store

__all__ = [
    "AUTH_CACHE_S",
    "CodePath",
    "KeyDep",
    "PrincipalDep",
    "Reader",
    "ReaderDep",
    "SessionDep",
    "TEXT",
]

AUTH_CACHE_S = 2.0
AUTH_CACHE_MAX = 4096
LAST_USED_EVERY_S = 60.0

#: A printable text parameter (no control characters), 1 to 200 characters.
TEXT = r"^[^\x00-\x1f\x7f]{1,200}$"

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer lck_...`")


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
            raise HttpError(401, "invalid or revoked API key", CHALLENGE)
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

    def session(self) -> Session:
        """A new read session (the caller closes it)."""
        return self._sessions()

    def principal(self, session: Session, key: str) -> Principal:
        """The holder of ``key`` (401 for an unknown or revoked key)."""
        return self._principal(session, key)


def get_reader(request: Request) -> Reader:
    """The app's :class:`Reader` (made by ``create_app``)."""
    return request.app.state.reader


async def get_api_key(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The bearer key of the request (401 when there is none)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HttpError(401, "missing API key: send Authorization: Bearer <key>", CHALLENGE)
    return credentials.credentials


ReaderDep = Annotated[Reader, Depends(get_reader)]
KeyDep = Annotated[str, Depends(get_api_key)]


def get_session(reader: ReaderDep) -> Iterator[Session]:
    """One short read session per request, closed after the answer."""
    with reader.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(key: KeyDep, session: SessionDep, reader: ReaderDep) -> Principal:
    """Who is asking: the verified holder of the request's API key."""
    return reader.principal(session, key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]

CodePath = Annotated[
    str,
    PathParam(
        min_length=1, max_length=64, description="product code, printed or canonical, any case"
    ),
]
