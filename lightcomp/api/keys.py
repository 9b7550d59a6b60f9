"""API keys of the alliance query service: creation, verification, revocation.

A key reads ``lck_<prefix>_<secret>``:

- ``prefix`` -- 12 lowercase hex characters (48 random bits), stored in clear in
  ``api_principals.key_prefix`` so the server finds the principal with one
  indexed look-up;
- ``secret`` -- 32 random bytes (256 bits, :func:`secrets.token_bytes`) in
  URL-safe base64 without padding (43 characters).

Only ``sha256:`` + hex SHA-256 of the whole key is stored (``key_hash``). A slow
password hash (scrypt, bcrypt) protects *low-entropy* secrets against guessing;
a 256-bit random secret cannot be guessed, so one SHA-256 is as strong as any
KDF here and keeps verification cheap (microseconds) on every request. The
comparison uses :func:`hmac.compare_digest` (constant time). A stolen copy of
the table therefore gives no usable key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from lightcomp.errors import ConfigError, StoreError
from lightcomp.store.models import ApiPrincipal, AuditEvent, Manufacturer, utcnow

ROLES = ("lab", "manufacturer", "member")
KEY_SCHEME = "lck"
PREFIX_HEX = 12
SECRET_BYTES = 32
KEY_PATTERN = re.compile(r"^lck_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
HASH_SCHEME = "sha256"


@dataclass(frozen=True)
class Principal:
    """An authenticated API client (what a request may see is derived from this)."""

    id: int
    name: str
    role: str
    manufacturer_id: int | None
    last_used_at: datetime | None = None


def hash_api_key(key: str) -> str:
    """Stored form of ``key``: ``sha256:<hex digest>`` of its UTF-8 bytes."""
    return f"{HASH_SCHEME}:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_api_key(key: str) -> str | None:
    """The look-up prefix of a well-formed key, else None (malformed)."""
    m = KEY_PATTERN.match(key)
    return m.group(1) if m else None


def generate_api_key() -> tuple[str, str]:
    """A new random key and its prefix: ``(key, prefix)``."""
    prefix = secrets.token_hex(PREFIX_HEX // 2)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode()
    return f"{KEY_SCHEME}_{prefix}_{secret}", prefix


def verify_api_key(key: str, stored_hash: str) -> bool:
    """True when ``key`` hashes to ``stored_hash`` (constant-time comparison)."""
    return hmac.compare_digest(hash_api_key(key).encode(), stored_hash.encode())


def _manufacturer_by_ref(session: Session, ref: str) -> Manufacturer:
    """A manufacturer by registry id or name (exact), else :class:`ConfigError`."""
    m = session.scalars(
        select(Manufacturer).where(or_(Manufacturer.registry_id == ref, Manufacturer.name == ref))
    ).first()
    if m is None:
        raise ConfigError(f"unknown manufacturer {ref!r}: give its registry id or exact name")
    return m


def role_manufacturer(session: Session, role: str, manufacturer: str | None) -> Manufacturer | None:
    """The manufacturer a new key or portal user of ``role`` acts for (None but for role
    ``manufacturer``, which needs one: registry id or name); :class:`ConfigError` naming
    an unknown role, a missing manufacturer or one given to another role."""
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if role == "manufacturer":
        if not manufacturer:
            raise ConfigError("role 'manufacturer' needs --manufacturer (registry id or name)")
        return _manufacturer_by_ref(session, manufacturer)
    if manufacturer:
        raise ConfigError(f"--manufacturer only applies to role 'manufacturer', not {role!r}")
    return None


def acts_in_role(role: str, manufacturer_id: int | None) -> bool:
    """True when a stored principal or user can act: a known role, and a manufacturer for
    role ``manufacturer`` (a row damaged otherwise is refused, not given wider rights)."""
    return role in ROLES and (role != "manufacturer" or manufacturer_id is not None)


def create_api_key(
    session: Session,
    role: str,
    *,
    manufacturer: str | None = None,
    name: str | None = None,
    actor: str | None = None,
) -> tuple[ApiPrincipal, str]:
    """Create a principal with a fresh key; return ``(principal, key)``.

    The key is returned once and never stored. ``role`` is ``lab``,
    ``manufacturer`` (then ``manufacturer`` -- registry id or name -- is
    required) or ``member``. Writes an ``apikey.create`` audit event.
    """
    mfr = role_manufacturer(session, role, manufacturer)
    key, prefix = generate_api_key()
    principal = ApiPrincipal(
        name=(name or f"{role}{'-' + mfr.name if mfr else ''}")[:120],
        role=role,
        manufacturer_id=mfr.id if mfr else None,
        key_prefix=prefix,
        key_hash=hash_api_key(key),
        created_at=utcnow(),
    )
    session.add(principal)
    session.flush()
    session.add(
        AuditEvent(
            actor=actor,
            kind="apikey.create",
            subject=f"principal:{principal.id}",
            details={
                "prefix": prefix,
                "role": role,
                "name": principal.name,
                "manufacturer": mfr.name if mfr else None,
            },
        )
    )
    return principal, key


def revoke_api_key(session: Session, ref: str, *, actor: str | None = None) -> ApiPrincipal:
    """Revoke the principal named by key prefix, numeric id or whole key.

    Raises :class:`StoreError` when nothing matches or it is already revoked.
    Writes an ``apikey.revoke`` audit event.
    """
    ref = ref.strip()
    prefix = parse_api_key(ref) or ref
    cond = ApiPrincipal.key_prefix == prefix
    if ref.isdigit() and len(ref) < 10:
        cond = or_(cond, ApiPrincipal.id == int(ref))
    found = session.scalars(select(ApiPrincipal).where(cond)).all()
    if not found:
        raise StoreError(f"no API key with prefix or id {ref!r}")
    if len(found) > 1:
        raise StoreError(f"{ref!r} matches several keys (an id and a prefix): give the prefix")
    p = found[0]
    if p.revoked_at is not None:
        raise StoreError(
            f"API key {p.key_prefix} (id {p.id}) was already revoked at {p.revoked_at.isoformat()}"
        )
    p.revoked_at = utcnow()
    session.add(
        AuditEvent(
            actor=actor,
            kind="apikey.revoke",
            subject=f"principal:{p.id}",
            details={"prefix": p.key_prefix, "role": p.role, "name": p.name},
        )
    )
    return p


def list_api_keys(session: Session) -> list[dict]:
    """Every principal (never the key): id, prefix, name, role, manufacturer, dates."""
    rows = session.execute(
        select(ApiPrincipal, Manufacturer.name)
        .outerjoin(Manufacturer, ApiPrincipal.manufacturer_id == Manufacturer.id)
        .order_by(ApiPrincipal.id)
    ).all()
    return [
        {
            "id": p.id,
            "prefix": p.key_prefix,
            "name": p.name,
            "role": p.role,
            "manufacturer": mname,
            "created_at": p.created_at,
            "revoked_at": p.revoked_at,
            "last_used_at": p.last_used_at,
        }
        for p, mname in rows
    ]


def authenticate(session: Session, key: str, *, now: datetime | None = None) -> Principal | None:
    """The active principal holding ``key``, or None (malformed, unknown, revoked, wrong)."""
    prefix = parse_api_key(key)
    if prefix is None:
        return None
    row = session.execute(
        select(
            ApiPrincipal.id,
            ApiPrincipal.name,
            ApiPrincipal.role,
            ApiPrincipal.manufacturer_id,
            ApiPrincipal.key_hash,
            ApiPrincipal.revoked_at,
            ApiPrincipal.last_used_at,
        ).where(ApiPrincipal.key_prefix == prefix)
    ).first()
    if row is None:
        # Same work as a real check so timing does not tell whether the prefix exists.
        verify_api_key(key, hash_api_key("lck_000000000000_" + "0" * 43))
        return None
    ok = verify_api_key(key, row.key_hash)
    if not ok or row.revoked_at is not None or not acts_in_role(row.role, row.manufacturer_id):
        return None
    return Principal(
        id=row.id,
        name=row.name,
        role=row.role,
        manufacturer_id=row.manufacturer_id,
        last_used_at=row.last_used_at,
    )


def touch_api_key(session: Session, principal_id: int, now: datetime | None = None) -> None:
    """Record that the principal used its key (``api_principals.last_used_at``)."""
    session.execute(
        update(ApiPrincipal)
        .where(ApiPrincipal.id == principal_id)
        .values(last_used_at=now or utcnow())
    )
