"""The alliance registry of manufacturers and component families.

Codes are issued only for registered families. A family's *type part*
(``families.type_code``) is fixed when it is registered: scheme version,
level, category, manufacturer registry id, nominal CCT / CRI / flux classes,
input class and the model sequence (assigned per manufacturer unless given).

Registry files (TOML, see ``station/registry/demo.toml``) carry the registry
ids and model sequences explicitly, so every store that imports the same file
derives the same type codes.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcomp.coding import counters
from lightcomp.coding.scheme import (
    MANUFACTURER_PREFIX,
    MAX_MANUFACTURER_NUMBER,
    MAX_MODEL_SEQ,
    CodeFieldError,
    encode_type,
    make_code,
    parse_manufacturer_id,
)
from lightcomp.coding.tables import category_code, cri_code, input_code, level_code, tables
from lightcomp.errors import CodeError
from lightcomp.store.models import Family, Manufacturer, Measurement

MANUFACTURER_INFO = ("address", "country", "contact")
FAMILY_TYPE_KEYS = (
    "level",
    "category",
    "input_class",
    "nominal_cct_k",
    "cri_class",
    "nominal_flux_lm",
)


# -- look-ups ------------------------------------------------------------------------


def find_manufacturer(session: Session, ref: str | Manufacturer) -> Manufacturer:
    """Manufacturer by registry id (``M0042``) or exact name; raises CodeError if unknown."""
    if isinstance(ref, Manufacturer):
        return ref
    text = str(ref).strip()
    row = session.scalar(select(Manufacturer).where(Manufacturer.registry_id == text.upper()))
    if row is None:
        row = session.scalar(select(Manufacturer).where(Manufacturer.name == text))
    if row is None:
        raise CodeError(f"manufacturer {ref!r} is not registered (lightcomp maker add)")
    return row


def find_family(
    session: Session, ref: str | int | Family, manufacturer: str | Manufacturer | None = None
) -> Family:
    """Family by name (within ``manufacturer``), type code, or model sequence number.

    Raises :class:`CodeError` when it is unknown or the name is ambiguous.
    """
    if isinstance(ref, Family):
        return ref
    maker = find_manufacturer(session, manufacturer) if manufacturer is not None else None
    text = str(ref).strip()
    query = select(Family)
    if maker is not None:
        query = query.where(Family.manufacturer_id == maker.id)
    rows = list(session.scalars(query.where(Family.name == text)))
    if not rows:
        rows = list(session.scalars(query.where(Family.type_code == text.upper().replace("-", ""))))
    if not rows and maker is not None and text.isascii() and text.isdigit():
        rows = list(session.scalars(query.where(Family.model_seq == int(text))))
    if not rows:
        where = f" of manufacturer {maker.registry_id} ({maker.name})" if maker else ""
        raise CodeError(f"family {ref!r}{where} is not registered (lightcomp family add)")
    if len(rows) > 1:
        makers = ", ".join(sorted(r.manufacturer.registry_id for r in rows))
        raise CodeError(
            f"family name {ref!r} is used by several manufacturers ({makers}): give --manufacturer"
        )
    return rows[0]


def find_family_by_type_code(session: Session, type_code: str) -> Family | None:
    """The family whose type part is ``type_code`` (canonical), or None."""
    return session.scalar(select(Family).where(Family.type_code == type_code))


# -- registration ----------------------------------------------------------------------


def _clean_name(name: Any, what: str, max_len: int) -> str:
    if not isinstance(name, str) or not name.strip():
        raise CodeError(f"{what} name must be non-empty text")
    name = name.strip()
    if len(name) > max_len:
        raise CodeError(f"{what} name {name[:40]!r}... is longer than {max_len} characters")
    if any(not ch.isprintable() for ch in name):
        raise CodeError(f"{what} name {name!r} contains control characters")
    return name


def register_manufacturer(
    session: Session, name: str, *, registry_id: str | None = None, **info: Any
) -> Manufacturer:
    """Register a manufacturer; assign the next free registry id unless one is given.

    ``info``: ``address``, ``country``, ``contact``. Raises :class:`CodeError`
    when the name or registry id is already registered or malformed.
    """
    name = _clean_name(name, "manufacturer", 200)
    unknown = set(info) - set(MANUFACTURER_INFO)
    if unknown:
        raise CodeError(
            f"unknown manufacturer field(s) {sorted(unknown)}; allowed: {list(MANUFACTURER_INFO)}"
        )
    if session.scalar(select(Manufacturer).where(Manufacturer.name == name)) is not None:
        raise CodeError(f"manufacturer {name!r} is already registered")
    if registry_id is not None:
        rid = parse_manufacturer_id(registry_id, field="registry_id")
        if session.scalar(select(Manufacturer).where(Manufacturer.registry_id == rid)) is not None:
            raise CodeError(f"registry id {rid} is already used")
    else:
        rid = _next_registry_id(session)
    maker = Manufacturer(
        registry_id=rid, name=name, **{k: v for k, v in info.items() if v is not None}
    )
    session.add(maker)
    session.flush()
    return maker


def _next_registry_id(session: Session) -> str:
    while True:
        number = counters.reserve(
            session, counters.MANUFACTURER_ID, 1, maximum=MAX_MANUFACTURER_NUMBER
        )
        rid = f"{MANUFACTURER_PREFIX}{number:04d}"
        if session.scalar(select(Manufacturer.id).where(Manufacturer.registry_id == rid)) is None:
            return rid


def limit_quantities() -> tuple[str, ...]:
    """Quantities a family limit may name: the measurement's numeric columns."""
    from sqlalchemy import Float

    return tuple(c.name for c in Measurement.__table__.columns if isinstance(c.type, Float))


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _check_limits(limits: Any, family: str) -> dict:
    """A family's limits: ``quantity -> {min, max}``; unknown quantities and keys refused
    (a typo would silently drop the limit)."""
    if limits is None:
        return {}
    if not isinstance(limits, dict):
        raise CodeError(f"family {family!r}: limits must be a table quantity -> {{min, max}}")
    known = limit_quantities()
    for quantity, lim in limits.items():
        if quantity not in known:
            raise CodeError(
                f"family {family!r}: unknown limit quantity {quantity!r} "
                f"(known: {', '.join(known)})"
            )
        if not isinstance(lim, dict):
            raise CodeError(
                f"family {family!r}: limit {quantity!r} must be a table with min and/or max"
            )
        extra = sorted(set(lim) - {"min", "max"})
        if extra:
            raise CodeError(
                f"family {family!r}: limit {quantity!r} has unknown key(s) {extra} "
                "(only min and max)"
            )
        if not lim:
            raise CodeError(f"family {family!r}: limit {quantity!r} gives neither min nor max")
        for key in ("min", "max"):
            value = lim.get(key)
            if value is not None and not _is_number(value):
                raise CodeError(
                    f"family {family!r}: limit {quantity}.{key} = {value!r} is not a number"
                )
        lo, hi = lim.get("min"), lim.get("max")
        if lo is not None and hi is not None and lo > hi:
            raise CodeError(f"family {family!r}: limit {quantity} has min {lo} > max {hi}")
    return dict(limits)


LM80_KEYS = {
    "rated_life_h": "number",
    "case_temperature_c": "number",
    "drive_current_a": "number",
    "maintained_sdcm": "number",
    "hours": "list",
    "flux": "table",
    "source": "text",
    "notes": "text",
}
"""Keys of a family's ``[family.lm80]`` table (IES LM-80 data)."""


def check_lm80(lm80: Any, family: str) -> dict | None:
    """Validate a family's LM-80 data at import: numbers, shapes, and that the IEC 62717
    maintained flux can be computed from them (the station run needs it).

    ``hours`` (T,) from 0, increasing; ``flux`` (units x T) of positive numbers, every
    row T long; ``rated_life_h`` > 0. Raises :class:`CodeError` naming the first problem.
    """
    if lm80 is None:
        return None
    what = f"family {family!r}: lm80"
    if not isinstance(lm80, dict):
        raise CodeError(f"{what} must be a table [family.lm80]")
    unknown = sorted(set(lm80) - set(LM80_KEYS))
    if unknown:
        raise CodeError(f"{what}: unknown key(s) {unknown} (known: {', '.join(LM80_KEYS)})")
    for key in ("hours", "flux", "rated_life_h"):
        if key not in lm80:
            raise CodeError(f"{what}: missing {key!r}")
    for key, kind in LM80_KEYS.items():
        if key not in lm80:
            continue
        v = lm80[key]
        if kind == "number" and not _is_number(v):
            raise CodeError(f"{what}.{key} = {v!r} is not a number")
        if kind == "text" and not isinstance(v, str):
            raise CodeError(f"{what}.{key} must be text")
    if lm80["rated_life_h"] <= 0:
        raise CodeError(f"{what}.rated_life_h must be > 0 h, not {lm80['rated_life_h']}")
    hours = lm80["hours"]
    if not isinstance(hours, list) or len(hours) < 2:
        raise CodeError(f"{what}.hours must be a list of at least 2 reading times (h)")
    for i, h in enumerate(hours):
        if not _is_number(h):
            raise CodeError(f"{what}.hours[{i}] = {h!r} is not a number")
    if hours[0] != 0 or any(b <= a for a, b in zip(hours, hours[1:], strict=False)):
        raise CodeError(f"{what}.hours must start at 0 and increase, not {hours!r}")
    flux = lm80["flux"]
    if not isinstance(flux, list) or not flux:
        raise CodeError(f"{what}.flux must be a table of rows (one per unit)")
    for u, row in enumerate(flux):
        if not isinstance(row, list):
            raise CodeError(f"{what}.flux row {u + 1} is not a list of numbers")
        if len(row) != len(hours):
            raise CodeError(
                f"{what}.flux row {u + 1} has {len(row)} values, hours has {len(hours)} "
                "(ragged rows)"
            )
        for t, v in enumerate(row):
            if not _is_number(v) or v <= 0:
                raise CodeError(
                    f"{what}.flux row {u + 1}, value {t + 1} = {v!r} is not a positive number"
                )
    from lightcomp.analysis.lumen_maintenance import maintained_flux_fraction_IEC62717
    from lightcomp.errors import LightcompError

    try:
        maintained_flux_fraction_IEC62717(hours, flux, float(lm80["rated_life_h"]))
    except LightcompError as exc:
        raise CodeError(f"{what}: unusable for the IEC 62717 maintained flux: {exc}") from None
    return dict(lm80)


def _check_rated(rated: Any, family: str) -> dict:
    if rated is None:
        return {}
    if not isinstance(rated, dict):
        raise CodeError(f"family {family!r}: rated must be a table of nominal values")
    return dict(rated)


def register_family(
    session: Session,
    manufacturer: str | Manufacturer,
    name: str,
    *,
    level: int,
    category: str,
    input_class: str,
    nominal_cct_k: int | None,
    cri_class: int | None,
    nominal_flux_lm: float,
    rated: dict | None = None,
    limits: dict | None = None,
    lm80: dict | None = None,
    spec_version: str | None = None,
    model_seq: int | None = None,
) -> Family:
    """Register a component family of ``manufacturer``; assign ``model_seq`` and ``type_code``.

    ``manufacturer``: Manufacturer, registry id or name. ``level``: 0 or 1;
    ``category``: table code or name (must suit the level); ``input_class``:
    ``CC-DC``, ``CV-DC`` or ``AC``; ``nominal_cct_k``: a nominal CCT of ANSI
    C78.377 in K (None for coloured light); ``cri_class``: minimum Ra (60-100,
    classed by IEC 62717 Ra group; None for coloured light);
    ``nominal_flux_lm``: nominal luminous flux in lm; ``rated``: nominal ratings
    in SI units; ``limits``: quantity -> {min, max}. ``model_seq`` is the next
    free number of the manufacturer unless given. Raises :class:`CodeError`
    naming the wrong field.
    """
    maker = find_manufacturer(session, manufacturer)
    name = _clean_name(name, "family", 120)
    existing = session.scalar(
        select(Family).where(Family.manufacturer_id == maker.id, Family.name == name)
    )
    if existing is not None:
        raise CodeError(
            f"family {name!r} of {maker.registry_id} is already registered ({existing.type_code})"
        )
    fields = {
        "level": level,
        "category": category,
        "manufacturer": maker.registry_id,
        "nominal_cct_k": nominal_cct_k,
        "cri_class": cri_class,
        "nominal_flux_lm": nominal_flux_lm,
        "input_class": input_class,
        "model_seq": 1,
    }
    encode_type(fields)  # validate every type field before using a sequence number
    if model_seq is None:
        model_seq = _next_model_seq(session, maker)
    elif (
        session.scalar(
            select(Family.id).where(
                Family.manufacturer_id == maker.id, Family.model_seq == model_seq
            )
        )
        is not None
    ):
        raise CodeFieldError("model_seq", f"{model_seq} is already used by {maker.registry_id}")
    fields["model_seq"] = model_seq
    type_code = encode_type(fields)
    make_code(type_code, 1)  # the whole code must decode (e.g. level/category agreement)
    level_c = level_code(level)
    family = Family(
        manufacturer_id=maker.id,
        name=name,
        level=int(level_c),
        category=category_code(category, int(level_c)),
        input_class=tables().input[input_code(input_class)].name,
        nominal_cct_k=int(nominal_cct_k) if nominal_cct_k else None,
        cri_class=tables().cri[cri_code(cri_class)].value or None,
        nominal_flux_lm=float(nominal_flux_lm),
        model_seq=int(model_seq),
        type_code=type_code,
        rated=_check_rated(rated, name),
        limits=_check_limits(limits, name),
        lm80=check_lm80(lm80, name),
        spec_version=spec_version,
    )
    session.add(family)
    session.flush()
    return family


def _next_model_seq(session: Session, maker: Manufacturer) -> int:
    """Next model sequence of ``maker``: after the highest one in use (row-locked counter)."""
    name = counters.model_seq_counter(maker.registry_id)
    seq = counters.reserve(session, name, 1, maximum=MAX_MODEL_SEQ)  # locks the counter row
    top = session.scalar(
        select(func.max(Family.model_seq)).where(Family.manufacturer_id == maker.id)
    )
    if top is not None and seq <= top:  # explicit numbers were registered: move past them
        counters.reserve(session, name, top + 1 - seq, maximum=MAX_MODEL_SEQ + 1)
        seq = top + 1
    if seq > MAX_MODEL_SEQ:
        raise CodeFieldError("model_seq", f"{maker.registry_id} has used all {MAX_MODEL_SEQ}")
    return seq


# -- registry files ---------------------------------------------------------------------


def import_registry(session: Session, path: str | Path) -> dict[str, dict[str, int]]:
    """Import manufacturers and families from a registry TOML file (idempotent).

    New entries are registered; existing ones (same registry id / same
    manufacturer + family name) must have the same identity and type fields
    and get their info, ``rated``, ``limits``, ``lm80`` and ``spec_version``
    updated. Returns counts ``{"manufacturers": {"added", "updated",
    "unchanged"}, "families": {...}}``. Everything happens in the caller's
    transaction; raises :class:`CodeError` naming the entry that is wrong.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise CodeError(f"registry file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise CodeError(f"registry file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise CodeError(
            f"registry file {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except OSError as exc:
        raise CodeError(f"cannot read registry file {path}: {exc.strerror or exc}") from None
    unknown = set(data) - {"manufacturer", "family", "registry"}
    if unknown:
        raise CodeError(f"registry file {path}: unknown section(s) {sorted(unknown)}")
    summary = {
        "manufacturers": {"added": 0, "updated": 0, "unchanged": 0},
        "families": {"added": 0, "updated": 0, "unchanged": 0},
    }
    for i, entry in enumerate(data.get("manufacturer", []), 1):
        where = f"{path.name}: manufacturer #{i}"
        try:
            outcome = _import_manufacturer(session, entry)
        except CodeError as exc:
            raise CodeError(f"{where}: {exc}") from None
        summary["manufacturers"][outcome] += 1
    for i, entry in enumerate(data.get("family", []), 1):
        where = f"{path.name}: family #{i} ({entry.get('name', '?')})"
        try:
            outcome = _import_family(session, entry)
        except CodeError as exc:
            raise CodeError(f"{where}: {exc}") from None
        summary["families"][outcome] += 1
    return summary


def _import_manufacturer(session: Session, entry: dict) -> str:
    entry = dict(entry)
    name = entry.pop("name", None)
    rid = entry.pop("registry_id", None)
    unknown = set(entry) - set(MANUFACTURER_INFO)
    if unknown:
        raise CodeError(f"unknown key(s) {sorted(unknown)}")
    name = _clean_name(name, "manufacturer", 200)
    maker = session.scalar(select(Manufacturer).where(Manufacturer.name == name))
    if rid is not None:
        rid = parse_manufacturer_id(rid, field="registry_id")
        by_id = session.scalar(select(Manufacturer).where(Manufacturer.registry_id == rid))
        if by_id is not None and maker is not None and by_id.id != maker.id:
            raise CodeError(f"registry id {rid} belongs to {by_id.name!r}, not {name!r}")
        if by_id is not None and maker is None:
            raise CodeError(f"registry id {rid} is registered as {by_id.name!r}, not {name!r}")
        if maker is not None and maker.registry_id != rid:
            raise CodeError(f"{name!r} is registered as {maker.registry_id}, not {rid}")
    if maker is None:
        register_manufacturer(session, name, registry_id=rid, **entry)
        return "added"
    changed = False
    for key, value in entry.items():
        if getattr(maker, key) != value:
            setattr(maker, key, value)
            changed = True
    return "updated" if changed else "unchanged"


def _import_family(session: Session, entry: dict) -> str:
    entry = dict(entry)
    maker_ref = entry.pop("manufacturer", None)
    if maker_ref is None:
        raise CodeError("missing key 'manufacturer' (registry id or name)")
    name = entry.pop("name", None)
    allowed = set(FAMILY_TYPE_KEYS) | {"rated", "limits", "lm80", "spec_version", "model_seq"}
    unknown = set(entry) - allowed
    if unknown:
        raise CodeError(f"unknown key(s) {sorted(unknown)}")
    missing = [
        k for k in FAMILY_TYPE_KEYS if k not in entry and k not in ("nominal_cct_k", "cri_class")
    ]
    if missing:
        raise CodeError(f"missing key(s) {missing}")
    maker = find_manufacturer(session, maker_ref)
    name = _clean_name(name, "family", 120)
    family = session.scalar(
        select(Family).where(Family.manufacturer_id == maker.id, Family.name == name)
    )
    entry.setdefault("nominal_cct_k", None)
    entry.setdefault("cri_class", None)
    if family is None:
        register_family(session, maker, name, **entry)
        return "added"
    fields = {k: entry[k] for k in FAMILY_TYPE_KEYS}
    fields.update(
        manufacturer=maker.registry_id, model_seq=entry.get("model_seq") or family.model_seq
    )
    wanted = encode_type(fields)
    if wanted != family.type_code:
        raise CodeError(
            f"family {name!r} is registered with type code {family.type_code}, the file gives "
            f"{wanted}: a family's type fields cannot change (register a new family)"
        )
    changed = False
    updates = {
        "rated": _check_rated(entry.get("rated"), name),
        "limits": _check_limits(entry.get("limits"), name),
        "lm80": check_lm80(entry.get("lm80"), name),
        "spec_version": entry.get("spec_version"),
        "nominal_flux_lm": float(entry["nominal_flux_lm"]),
    }
    for key, value in updates.items():
        if getattr(family, key) != value:
            setattr(family, key, value)
            changed = True
    return "updated" if changed else "unchanged"
