"""Signed serial-block files (Ed25519): the alliance signs, every store can verify.

A block file widened by hand must be refused before any code is printed. The
alliance store keeps one Ed25519 key pair (``signing_keys`` row ``"own"``, made
on the first reservation) and signs each block's identity and range; the block
file carries the signature and the public key. A local store verifies the
signature, trusts the alliance key it first saw (``signing_keys`` row
``"alliance"``; its fingerprint is printed by ``code reserve`` and on first use,
so a technician can compare it) and refuses a block signed by another key. The
alliance store verifies the same signature with its own key.

Ed25519 (RFC 8032) via the ``cryptography`` package: a signature anyone can
check with the public key, unlike an HMAC, whose verifier could also forge.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from lightcomp.errors import CodeError
from lightcomp.store.models import SigningKey

OWN = "own"
ALLIANCE = "alliance"


def signed_payload(block_id: int, holder: str, first: int, last: int, key_hex: str) -> bytes:
    """The bytes signed for one block: its alliance id, holder, range and the signer's key."""
    body = {"block_id": block_id, "holder": holder, "first": first, "last": last, "key": key_hex}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def fingerprint(key_hex: str) -> str:
    """Short fingerprint of a public key (first 16 hex digits of its SHA-256), for people."""
    digest = hashlib.sha256(bytes.fromhex(key_hex)).hexdigest()[:16]
    return ":".join(digest[i : i + 4] for i in range(0, 16, 4))


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def own_key(session: Session) -> SigningKey:
    """This store's signing key pair, created once (concurrent first calls agree on one)."""
    row = session.scalar(select(SigningKey).where(SigningKey.name == OWN))
    if row is not None and row.private_key:
        return row
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    priv = Ed25519PrivateKey.generate()
    priv_hex = priv.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    pub_hex = priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    session.execute(
        _insert(session)(SigningKey)
        .values(name=OWN, public_key=pub_hex, private_key=priv_hex)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return session.scalar(select(SigningKey).where(SigningKey.name == OWN))


def sign(session: Session, payload_of) -> tuple[str, str]:
    """Sign with this store's key; ``payload_of(key_hex)`` gives the bytes. (signature, key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = own_key(session)
    priv = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key.private_key))
    return priv.sign(payload_of(key.public_key)).hex(), key.public_key


def verify(key_hex: str, signature_hex: str, payload: bytes, what: str) -> None:
    """Raise :class:`CodeError` unless ``signature_hex`` signs ``payload`` under ``key_hex``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
        pub.verify(bytes.fromhex(signature_hex), payload)
    except (InvalidSignature, ValueError):
        raise CodeError(
            f"{what}: signature does not match its contents (edited or forged block file): "
            "refused; ask the alliance for the block file again"
        ) from None


def trust_alliance_key(session: Session, key_hex: str, what: str) -> bool:
    """Check ``key_hex`` is the alliance key this store trusts; pin it on first use.

    Returns True when the key was pinned now. A store that signs blocks itself
    (the alliance store) trusts its own key.
    """
    rows = {r.name: r for r in session.scalars(select(SigningKey))}
    own = rows.get(OWN)
    if own is not None and own.public_key == key_hex:
        return False
    trusted = rows.get(ALLIANCE)
    if trusted is None:
        session.execute(
            _insert(session)(SigningKey)
            .values(name=ALLIANCE, public_key=key_hex)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        trusted = session.scalar(select(SigningKey).where(SigningKey.name == ALLIANCE))
        if trusted.public_key == key_hex:
            return True
    if trusted.public_key != key_hex:
        raise CodeError(
            f"{what}: signed by key {fingerprint(key_hex)}, but this store trusts the alliance "
            f"key {fingerprint(trusted.public_key)}: refused"
        )
    return False
