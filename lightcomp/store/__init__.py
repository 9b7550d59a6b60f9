"""The store: SQLAlchemy models, engine/session setup, array codec, migrations.

Reports and the API only read it; the station and coding write it, each logical
unit of work in one transaction (:meth:`Store.transaction`).
"""

# The audit trail's hash chain is filled in by an insert listener on the models.
from lightcomp.store import audit  # noqa: F401
from lightcomp.store.codec import decode_array, encode_array
from lightcomp.store.engine import Store, resolve_url
from lightcomp.store.models import (
    ApiPrincipal,
    AuditEvent,
    Base,
    Calibration,
    Certificate,
    CodeCounter,
    Component,
    Family,
    Instrument,
    Lot,
    LotLock,
    Manufacturer,
    Measurement,
    SerialBlock,
    SigningKey,
    TestRun,
)

__all__ = [
    "ApiPrincipal",
    "AuditEvent",
    "Base",
    "Calibration",
    "Certificate",
    "CodeCounter",
    "Component",
    "Family",
    "Instrument",
    "Lot",
    "LotLock",
    "Manufacturer",
    "Measurement",
    "SerialBlock",
    "SigningKey",
    "Store",
    "TestRun",
    "decode_array",
    "encode_array",
    "resolve_url",
]
