"""Issuing product codes: alliance-unique item serials, reserved blocks, offline issue.

Online, :func:`issue_codes` takes ``count`` serials from the alliance counter
(``code_counters['item_serial']``, one row-locked UPDATE, see
:mod:`lightcomp.coding.counters`) and creates the components in the caller's
transaction; concurrent stations on one PostgreSQL store never collide.

Offline, a station first reserves a block on the alliance store
(:func:`reserve_block`, a ``serial_blocks`` row plus a block file), then issues
codes from the block into its own local store (``issue_codes(..., block=...)``),
and later registers those codes on the alliance store
(:func:`register_codes`), which accepts a code only when its serial lies in a
block reserved there, its family is registered, and it is not registered yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcomp.coding import counters, signing
from lightcomp.coding.names import check_lot_name, check_serial
from lightcomp.coding.registry import find_family, find_family_by_type_code
from lightcomp.coding.scheme import MAX_ITEM_SERIAL, decode, make_codes
from lightcomp.errors import CodeError
from lightcomp.store.models import Component, Family, Lot, SerialBlock

#: Most codes one call may issue (a label print run, not a lifetime supply).
MAX_COUNT = 100_000
BLOCK_FORMAT = "lightcomp-serial-block"
BLOCK_FORMAT_VERSION = 2


@dataclass(frozen=True)
class BlockFile:
    """A reserved block of item serials as handed to an offline station.

    Version 2 files are signed by the alliance store (Ed25519, see
    :mod:`lightcomp.coding.signing`): ``signature`` covers the block id,
    holder, range and ``signer_key``. Version 1 files (unsigned) are accepted
    only for a block the local store already recorded.
    """

    block_id: int
    holder: str
    first: int
    last: int
    reserved_at: str | None = None
    signature: str | None = None
    signer_key: str | None = None

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def key_fingerprint(self) -> str | None:
        return signing.fingerprint(self.signer_key) if self.signer_key else None

    def contains(self, serial: int) -> bool:
        return self.first <= serial <= self.last

    def payload(self) -> bytes:
        return signing.signed_payload(
            self.block_id, self.holder, self.first, self.last, self.signer_key or ""
        )

    def verify(self, what: str | None = None) -> None:
        """Raise :class:`CodeError` when the file is signed and the signature does not hold."""
        what = what or f"block {self.block_id} ({self.holder})"
        if self.signature is None and self.signer_key is None:
            return
        if not self.signature or not self.signer_key:
            raise CodeError(f"{what}: signature or signer key missing: refused")
        signing.verify(self.signer_key, self.signature, self.payload(), what)

    def to_dict(self) -> dict[str, Any]:
        version = BLOCK_FORMAT_VERSION if self.signature else 1
        d = {"format": BLOCK_FORMAT, "version": version, **asdict(self)}
        if not self.signature:
            d.pop("signature")
            d.pop("signer_key")
        return d

    def write(self, path: str | Path) -> Path:
        """Write the block file (JSON)."""
        path = Path(path)
        try:
            path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise CodeError(f"cannot write block file {path}: {exc.strerror or exc}") from None
        return path

    @classmethod
    def from_block(cls, block: SerialBlock) -> BlockFile:
        at = block.reserved_at.isoformat() if isinstance(block.reserved_at, datetime) else None
        return cls(
            int(block.alliance_block_id or block.id),
            block.holder,
            int(block.first),
            int(block.last),
            at,
            block.signature,
            block.signer_key,
        )

    @classmethod
    def read(cls, path: str | Path) -> BlockFile:
        """Read and check a block file (signature included); raises :class:`CodeError`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CodeError(f"block file {path} not found") from None
        except OSError as exc:
            raise CodeError(f"cannot read block file {path}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CodeError(f"block file {path} is not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != BLOCK_FORMAT:
            raise CodeError(f"{path} is not a lightcomp serial block file")
        version = data.get("version")
        if version not in (1, BLOCK_FORMAT_VERSION) or isinstance(version, bool):
            raise CodeError(f"block file {path}: unknown version {version!r}")
        try:
            for key in ("block_id", "first", "last"):
                if isinstance(data[key], bool) or not isinstance(data[key], int):
                    raise ValueError(f"{key} must be a whole number, not {data[key]!r}")
            if not isinstance(data["holder"], str):
                raise ValueError(f"holder must be text, not {data['holder']!r}")
            block = cls(
                block_id=data["block_id"],
                holder=data["holder"],
                first=data["first"],
                last=data["last"],
                reserved_at=data.get("reserved_at"),
                signature=data.get("signature") if version == 2 else None,
                signer_key=data.get("signer_key") if version == 2 else None,
            )
            if version == 2 and not (
                isinstance(block.signature, str) and isinstance(block.signer_key, str)
            ):
                raise ValueError("signature and signer_key must be given as text")
        except (KeyError, TypeError, ValueError) as exc:
            raise CodeError(f"block file {path}: missing or bad field ({exc})") from None
        if not 1 <= block.first <= block.last <= MAX_ITEM_SERIAL:
            raise CodeError(f"block file {path}: bad serial range {block.first}..{block.last}")
        block.verify(f"block file {path}")
        return block


def _count(count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise CodeError(f"count must be a whole number from 1 to {MAX_COUNT}, not {count!r}")
    return count


def get_or_create_lot(
    session: Session, name: str, family_id: int | None, **values: Any
) -> tuple[Lot, bool]:
    """The lot ``name``, created (for ``family_id``) if it does not exist: (lot, created).

    Create-or-get with ``INSERT ... ON CONFLICT DO NOTHING``: two processes creating
    the same new lot at once both get the one row, never a unique-constraint error.
    """
    name = check_lot_name(name)
    row = session.scalar(select(Lot).where(Lot.name == name))
    if row is not None:
        return row, False
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    from lightcomp.store.models import utcnow

    created = session.execute(
        insert(Lot)
        .values(name=name, family_id=family_id, created_at=utcnow(), **values)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Lot.id)
    ).scalar_one_or_none()
    row = session.scalar(
        select(Lot).where(Lot.name == name).execution_options(populate_existing=True)
    )
    return row, created is not None


def _lot(session: Session, lot: Lot | str | None, family: Family) -> Lot | None:
    if lot is None or isinstance(lot, Lot):
        return lot
    try:
        row, _ = get_or_create_lot(session, lot, family.id)
    except CodeError as exc:
        raise CodeError(str(exc)) from None
    if row.family_id not in (None, family.id):
        raise CodeError(f"lot {row.name!r} belongs to another family (id {row.family_id})")
    refuse_closed_lot(row)
    return row


def refuse_closed_lot(lot: Lot) -> None:
    """A published or withdrawn lot is closed (the rule: :func:`lightcomp.store.lots.require_open`;
    its :class:`~lightcomp.store.lots.LotStateError` is a :class:`CodeError`)."""
    from lightcomp.store.lots import require_open

    require_open(lot)


def _held_block(session: Session, blk: BlockFile) -> SerialBlock:
    """This store's record of block ``blk``: verified, and its range as first recorded.

    The first use records the block (``held``); later block files must name the
    same range, so a file widened by hand is refused even if the store has seen
    it before. A signed file must be signed by the alliance key this store
    trusts (pinned on first use).
    """
    what = f"block {blk.block_id} ({blk.holder}, serials {blk.first}..{blk.last})"
    blk.verify(what)
    if blk.signer_key:
        signing.trust_alliance_key(session, blk.signer_key, what)
    held = session.scalar(
        select(SerialBlock).where(SerialBlock.held, SerialBlock.alliance_block_id == blk.block_id)
    )
    if held is None:  # a block recorded before blocks were signed: matched by its range
        held = session.scalar(
            select(SerialBlock).where(
                SerialBlock.held,
                SerialBlock.alliance_block_id.is_(None),
                SerialBlock.first == blk.first,
                SerialBlock.last == blk.last,
            )
        )
        if held is not None:
            held.alliance_block_id = blk.block_id
    if held is not None:
        if (int(held.first), int(held.last), held.holder) != (blk.first, blk.last, blk.holder):
            raise CodeError(
                f"{what}: this store recorded block {blk.block_id} as serials "
                f"{held.first}..{held.last} of {held.holder!r} when it first used it: "
                "the block file was changed; refused"
            )
        return held
    if not blk.signature:
        raise CodeError(
            f"{what}: unsigned block file (version 1) for a block this store has not used: "
            "refused; reserve a new block (`lightcomp code reserve`) for a signed block file"
        )
    clash = session.scalar(
        select(SerialBlock).where(
            SerialBlock.held, SerialBlock.first <= blk.last, SerialBlock.last >= blk.first
        )
    )
    if clash is not None:
        raise CodeError(
            f"{what}: overlaps block {clash.alliance_block_id} ({clash.first}..{clash.last}) "
            "held by this store: refused"
        )
    held = SerialBlock(
        holder=blk.holder,
        first=blk.first,
        last=blk.last,
        held=True,
        alliance_block_id=blk.block_id,
        signature=blk.signature,
        signer_key=blk.signer_key,
    )
    session.add(held)
    session.flush()
    return held


def _next_free(session: Session, held: SerialBlock) -> int:
    """First serial of ``held`` not yet issued in this store."""
    used_top = session.scalar(
        select(func.max(Component.item_serial)).where(
            Component.item_serial >= held.first, Component.item_serial <= held.last
        )
    )
    nxt = counters.peek(session, counters.block_counter(int(held.first)))
    return max(int(held.first), (used_top or 0) + 1, nxt or 0)


def _take_from_held(session: Session, held: SerialBlock, count: int) -> int:
    """First of ``count`` serials taken from the held block ``held`` in this (local) store."""
    first_b, last_b = int(held.first), int(held.last)
    used_top = session.scalar(
        select(func.max(Component.item_serial)).where(
            Component.item_serial >= first_b, Component.item_serial <= last_b
        )
    )
    start = max(first_b, (used_top or 0) + 1)
    name = counters.block_counter(first_b)
    first = counters.reserve(session, name, count, start=start)
    if first < start:  # counter behind the components (e.g. rows copied in): skip forward
        counters.reserve(session, name, start - first)  # row still locked: [start, +count) ours
        first = start
    if first + count - 1 > last_b:
        left = max(0, last_b - first + 1)
        raise CodeError(
            f"serial block {held.alliance_block_id} ({held.holder}, {first_b}..{last_b}) has "
            f"only {left} serial(s) left, {count} requested: reserve another block"
        )
    return first


def _serials_from_held_blocks(session: Session, count: int) -> int | None:
    """A store holding reserved blocks issues only from them: the first with room.

    None when the store holds no block (it then issues online).
    """
    held = list(
        session.scalars(select(SerialBlock).where(SerialBlock.held).order_by(SerialBlock.id))
    )
    if not held:
        return None
    left = []
    for blk in held:
        n = int(blk.last) - _next_free(session, blk) + 1
        if n >= count:
            return _take_from_held(session, blk, count)
        left.append(f"{blk.alliance_block_id}: {max(n, 0)}")
    raise CodeError(
        f"this store issues codes only from its reserved serial blocks, and none has {count} "
        f"serial(s) left (block: left = {', '.join(left)}): reserve another block on the alliance "
        "store and use it with `lightcomp code new --block FILE`"
    )


def issue_codes(
    session: Session,
    family: Family | str,
    count: int,
    *,
    lot: Lot | str | None = None,
    external_serials: Sequence[str] | None = None,
    block: BlockFile | SerialBlock | None = None,
) -> list[Component]:
    """Issue ``count`` new product codes of ``family``; return the new components.

    Creates :class:`Component` rows with status ``"issued"`` inside the
    caller's transaction (nothing is committed here). Serials come from the
    alliance counter, or from a reserved ``block`` when working offline; a store that
    holds reserved blocks issues only from them (the first with room left).
    ``family``: a Family or its type code / name. ``lot``: a Lot or a lot name
    (created for this family if new). ``external_serials``: the maker's own
    serial of each unit (``count`` of them).
    """
    count = _count(count)
    if not isinstance(family, Family):
        family = find_family(session, family)
    if not family.type_code:
        raise CodeError(
            f"family {family.name!r} has no type code (register it with register_family)"
        )
    if external_serials is not None:
        external_serials = [None if s is None else check_serial(s) for s in external_serials]
        if len(external_serials) != count:
            raise CodeError(f"{len(external_serials)} external serials given for {count} codes")
    lot_row = _lot(session, lot, family)
    if block is None:
        first = _serials_from_held_blocks(session, count)
        if first is None:
            first = counters.reserve(session, counters.ITEM_SERIAL, count, maximum=MAX_ITEM_SERIAL)
    else:
        blk = block if isinstance(block, BlockFile) else BlockFile.from_block(block)
        first = _take_from_held(session, _held_block(session, blk), count)
    codes = make_codes(family.type_code, first, count)
    components = [
        Component(
            product_code=codes[i],
            item_serial=first + i,
            family_id=family.id,
            lot_id=lot_row.id if lot_row is not None else None,
            external_serial=external_serials[i] if external_serials else None,
            status="issued",
        )
        for i in range(count)
    ]
    session.add_all(components)
    session.flush()
    return components


def reserve_block(session: Session, holder: str, count: int) -> SerialBlock:
    """Reserve ``count`` consecutive item serials for an offline ``holder`` (station).

    The serials come from the alliance counter, so online issue never uses
    them. Returns the new ``serial_blocks`` row (use :meth:`BlockFile.from_block`
    to hand it to the station).
    """
    count = _count(count)
    if not isinstance(holder, str) or not holder.strip() or len(holder.strip()) > 64:
        raise CodeError("holder must be a station or person name of 1 to 64 characters")
    first = counters.reserve(session, counters.ITEM_SERIAL, count, maximum=MAX_ITEM_SERIAL)
    block = SerialBlock(holder=holder.strip(), first=first, last=first + count - 1)
    session.add(block)
    session.flush()
    block.signature, block.signer_key = signing.sign(
        session,
        lambda key: signing.signed_payload(
            int(block.id), block.holder, int(block.first), int(block.last), key
        ),
    )
    session.flush()
    return block


def register_codes(
    session: Session, codes: Iterable[str], *, holder: str | None = None
) -> list[Component]:
    """Register on the alliance store codes issued offline from reserved blocks.

    Every code must be valid, its family registered here (by type code), its
    serial inside a block reserved here (held by ``holder`` when given), and
    neither the code nor its serial registered already: a code from a block is
    registered once only. All or nothing (caller's transaction); raises
    :class:`CodeError` naming the first offending code.
    """
    out: list[Component] = []
    seen: set[int] = set()
    blocks = list(session.scalars(select(SerialBlock)))
    for raw in codes:
        fields = decode(raw)
        code, serial = fields["code"], fields["item_serial"]
        family = find_family_by_type_code(session, fields["type_code"])
        if family is None:
            raise CodeError(
                f"{fields['printed']}: type {fields['type_code']} is not registered here"
            )
        block = next((b for b in blocks if b.first <= serial <= b.last), None)
        if block is None:
            raise CodeError(f"{fields['printed']}: serial {serial} is not in a reserved block")
        if holder is not None and block.holder != holder:
            raise CodeError(
                f"{fields['printed']}: serial {serial} is in block {block.id} of {block.holder!r}, "
                f"not {holder!r}"
            )
        if serial in seen:
            raise CodeError(f"{fields['printed']}: serial {serial} appears twice in the input")
        existing = session.scalar(select(Component).where(Component.item_serial == serial))
        if existing is not None:
            raise CodeError(
                f"{fields['printed']}: already registered"
                + (
                    ""
                    if existing.product_code == code
                    else f" (serial used by {existing.product_code})"
                )
            )
        seen.add(serial)
        comp = Component(
            product_code=code, item_serial=serial, family_id=family.id, status="issued"
        )
        session.add(comp)
        out.append(comp)
    session.flush()
    return out


def find_component(session: Session, code: str) -> Component | None:
    """The component with product code ``code`` (any accepted form), or None if unknown.

    Raises :class:`CodeError` when ``code`` itself is invalid.
    """
    canon = decode(code)["code"]
    return session.scalar(select(Component).where(Component.product_code == canon))
