"""Portal accounts: Argon2id passwords, lock-out, server-side sessions, the keys a user owns.

Passwords are hashed with Argon2id (RFC 9106) through ``argon2-cffi``'s
:class:`~argon2.PasswordHasher` (its default parameters are RFC 9106's "second
recommended" low-memory profile: t = 3, m = 64 MiB, p = 4); a hash made with older
parameters is upgraded at the next successful sign-in.

Lock-out: after :data:`LOCK_AFTER` wrong passwords in a row an account is locked
for :data:`LOCK_MINUTES` minutes (OWASP ASVS 4.0.3 V2.2.1: anti-automation); a
correct password during the lock is refused too. Unknown e-mails cost the same
hash verification as known ones, so timing does not tell which exist.

Sessions: the cookie holds 32 random bytes (URL-safe base64); the table keeps only
their SHA-256 with an expiry, a revocation time and the session's CSRF token.
Logging out, disabling the account or resetting its password revokes its sessions.
Every change writes an ``audit_events`` row (who, when, what).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lightcomp.api.keys import (
    Principal,
    acts_in_role,
    create_api_key,
    revoke_api_key,
    role_manufacturer,
)
from lightcomp.errors import ConfigError, StoreError
from lightcomp.store.models import (
    ApiPrincipal,
    AuditEvent,
    Manufacturer,
    PortalSession,
    PortalUser,
    PortalUserKey,
    utcnow,
)

LOCK_AFTER = 5
LOCK_MINUTES = 15
SESSION_HOURS = 12
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,189}\.[^@\s\x00-\x1f.]{2,63}$")

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown e-mails (made once, on first need)."""
    return _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class SessionUser:
    """A signed-in user as a request sees it."""

    user_id: int
    email: str
    role: str
    manufacturer_id: int | None
    manufacturer: str | None
    csrf_token: str
    session_id: int

    def principal(self) -> Principal:
        """The API principal with this user's rights (the API's role rules apply unchanged)."""
        return Principal(
            id=self.user_id, name=self.email, role=self.role, manufacturer_id=self.manufacturer_id
        )


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def normalise_email(email: str) -> str:
    """Lower-case, trimmed e-mail; :class:`ConfigError` when it is not an address."""
    e = (email or "").strip().lower()
    if not EMAIL.match(e):
        raise ConfigError(f"not an e-mail address: {email!r}")
    return e


def check_password(password: str) -> None:
    """:class:`ConfigError` for a password too short or too long."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConfigError(f"password is {len(password)} characters; at least {MIN_PASSWORD_CHARS}")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ConfigError(f"password is longer than {MAX_PASSWORD_CHARS} characters")


def hash_password(password: str) -> str:
    """Argon2id hash (PHC string ``$argon2id$v=19$m=...``) of ``password``."""
    return _hasher.hash(password)


def _user(session: Session, email: str) -> PortalUser:
    u = session.scalars(
        select(PortalUser).where(PortalUser.email == normalise_email(email))
    ).first()
    if u is None:
        raise StoreError(f"no portal user {email!r}")
    return u


def _audit(session: Session, actor: str | None, kind: str, user: PortalUser, **details) -> None:
    session.add(
        AuditEvent(
            actor=actor,
            kind=kind,
            subject=f"user:{user.id}",
            details={"email": user.email, **details},
        )
    )


def add_user(
    session: Session,
    email: str,
    role: str,
    password: str,
    *,
    manufacturer: str | None = None,
    actor: str | None = None,
) -> PortalUser:
    """Create a portal user. Same roles as API keys; ``manufacturer`` (registry id or
    name) is required for, and only for, role ``manufacturer``."""
    email = normalise_email(email)
    mfr = role_manufacturer(session, role, manufacturer)
    check_password(password)
    if session.scalar(select(PortalUser.id).where(PortalUser.email == email)) is not None:
        raise StoreError(f"portal user {email} already exists")
    now = utcnow()
    user = PortalUser(
        email=email,
        password_hash=hash_password(password),
        role=role,
        manufacturer_id=mfr.id if mfr else None,
        created_at=now,
        failed_logins=0,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    _audit(session, actor, "user.add", user, role=role, manufacturer=mfr.name if mfr else None)
    return user


def list_users(session: Session) -> list[dict]:
    """Every portal user (never the hash): id, email, role, manufacturer, dates, lock state."""
    rows = session.execute(
        select(PortalUser, Manufacturer.name)
        .outerjoin(Manufacturer, PortalUser.manufacturer_id == Manufacturer.id)
        .order_by(PortalUser.id)
    ).all()
    now = utcnow()
    return [
        {
            "id": u.id,
            "email": u.email,
            "role": u.role,
            "manufacturer": mname,
            "created_at": _aware(u.created_at),
            "disabled_at": _aware(u.disabled_at),
            "last_login_at": _aware(u.last_login_at),
            "locked": u.locked_until is not None and _aware(u.locked_until) > now,
            "failed_logins": u.failed_logins,
        }
        for u, mname in rows
    ]


def _revoke_sessions(session: Session, user_id: int, now: datetime) -> None:
    session.execute(
        update(PortalSession)
        .where(PortalSession.user_id == user_id, PortalSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def disable_user(session: Session, email: str, *, actor: str | None = None) -> PortalUser:
    """Disable an account: its sessions end and the API keys it made are revoked."""
    user = _user(session, email)
    if user.disabled_at is not None:
        raise StoreError(f"portal user {user.email} is already disabled")
    now = utcnow()
    user.disabled_at = now
    _revoke_sessions(session, user.id, now)
    revoked = []
    for p in session.scalars(
        select(ApiPrincipal)
        .join(PortalUserKey, PortalUserKey.principal_id == ApiPrincipal.id)
        .where(PortalUserKey.user_id == user.id, ApiPrincipal.revoked_at.is_(None))
    ):
        p.revoked_at = now
        revoked.append(p.key_prefix)
    _audit(session, actor, "user.disable", user, revoked_keys=revoked)
    return user


def reset_password(
    session: Session, email: str, password: str, *, actor: str | None = None
) -> PortalUser:
    """Set a new password: clears the lock-out, re-enables nothing, ends every session."""
    user = _user(session, email)
    check_password(password)
    now = utcnow()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    _revoke_sessions(session, user.id, now)
    _audit(session, actor, "user.reset", user)
    return user


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a sign-in attempt: ``ok``, or why not (``bad``, ``locked``, ``disabled``)."""

    status: str
    user_id: int | None = None
    locked_until: datetime | None = None


def verify_login(
    session: Session, email: str, password: str, *, now: datetime | None = None
) -> LoginResult:
    """Check a sign-in (in a write transaction: counts failures, locks, upgrades the hash)."""
    now = now or utcnow()
    try:
        email = normalise_email(email)
    except ConfigError:
        email = ""
    user = (
        session.scalars(select(PortalUser).where(PortalUser.email == email)).first()
        if email and len(password) <= MAX_PASSWORD_CHARS
        else None
    )
    if user is None:
        try:  # same cost as a real check
            _hasher.verify(_dummy_hash(), password[:MAX_PASSWORD_CHARS])
        except VerificationError:
            pass
        return LoginResult("bad")
    locked = _aware(user.locked_until)
    if locked is not None and locked > now:
        user.failed_logins += 1
        return LoginResult("locked", user.id, locked)
    try:
        _hasher.verify(user.password_hash, password)
        good = True
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        good = False
    if not good:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= LOCK_AFTER:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            _audit(session, None, "user.lock", user, failures=user.failed_logins)
            return LoginResult("locked", user.id, user.locked_until)
        return LoginResult("bad", user.id)
    if user.disabled_at is not None:
        return LoginResult("disabled", user.id)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return LoginResult("ok", user.id)


def token_hash(token: str) -> str:
    """Stored form of a session token: ``sha256:<hex>`` (the token has 256 random bits)."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user_id: int, *, now: datetime | None = None) -> str:
    """A new session for ``user_id``; returns the cookie token (shown once, stored hashed)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            token_hash=token_hash(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )
    return token


def end_session(session: Session, token: str) -> None:
    """Revoke the session of ``token`` (logout); nothing happens for an unknown token."""
    session.execute(
        update(PortalSession)
        .where(PortalSession.token_hash == token_hash(token), PortalSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def session_user(
    session: Session, token: str, *, now: datetime | None = None
) -> SessionUser | None:
    """The user of a live session (not expired, not revoked, account enabled), else None."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    row = session.execute(
        select(
            PortalSession.id,
            PortalSession.csrf_token,
            PortalSession.expires_at,
            PortalSession.revoked_at,
            PortalUser.id.label("user_id"),
            PortalUser.email,
            PortalUser.role,
            PortalUser.manufacturer_id,
            PortalUser.disabled_at,
            Manufacturer.name.label("manufacturer"),
        )
        .join(PortalUser, PortalUser.id == PortalSession.user_id)
        .outerjoin(Manufacturer, Manufacturer.id == PortalUser.manufacturer_id)
        .where(PortalSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None or row.disabled_at is not None:
        return None
    if _aware(row.expires_at) <= now or not acts_in_role(row.role, row.manufacturer_id):
        return None
    return SessionUser(
        user_id=row.user_id,
        email=row.email,
        role=row.role,
        manufacturer_id=row.manufacturer_id,
        manufacturer=row.manufacturer,
        csrf_token=row.csrf_token,
        session_id=row.id,
    )


# -- the API keys a user owns ------------------------------------------------------------------
def create_user_key(session: Session, user: SessionUser, name: str | None) -> tuple[str, str]:
    """A new API key with the user's own role and manufacturer; returns ``(prefix, key)``."""
    mname = user.manufacturer if user.role == "manufacturer" else None
    label = (name or "").strip()[:80] or "portal"
    principal, key = create_api_key(
        session, user.role, manufacturer=mname, name=f"{user.email}: {label}", actor=user.email
    )
    session.add(PortalUserKey(principal_id=principal.id, user_id=user.user_id))
    return principal.key_prefix, key


def user_keys(session: Session, user_id: int) -> list[dict]:
    """The keys a user made (newest first; never the key itself)."""
    rows = session.scalars(
        select(ApiPrincipal)
        .join(PortalUserKey, PortalUserKey.principal_id == ApiPrincipal.id)
        .where(PortalUserKey.user_id == user_id)
        .order_by(ApiPrincipal.id.desc())
    ).all()
    return [
        {
            "id": p.id,
            "prefix": p.key_prefix,
            "name": p.name,
            "role": p.role,
            "created_at": _aware(p.created_at),
            "revoked_at": _aware(p.revoked_at),
            "last_used_at": _aware(p.last_used_at),
        }
        for p in rows
    ]


def revoke_user_key(session: Session, user: SessionUser, principal_id: int) -> str:
    """Revoke one of the user's own keys (the lab may revoke any key); returns its prefix."""
    p = session.get(ApiPrincipal, principal_id)
    if p is None:
        raise StoreError(f"no API key with id {principal_id}")
    own = session.get(PortalUserKey, principal_id)
    if user.role != "lab" and (own is None or own.user_id != user.user_id):
        raise StoreError(f"API key {principal_id} is not yours")
    revoke_api_key(session, p.key_prefix, actor=user.email)
    return p.key_prefix
