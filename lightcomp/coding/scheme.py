"""Product codes: layout, check character, encoding, decoding, validation.

A product code (scheme version 1) is 32 characters from ``0-9 A-Z``::

    LC1-0-CB-M0042-30-8-F32-C-0007-000000124-Y
    └┬┘ │ └┤ └─┬─┘ └┤ │ └┬┘ │ └─┬┘ └───┬───┘ └ check character (ISO/IEC 7064 MOD 37-2)
     │  │  │   │    │ │  │  │   │       └ item serial (alliance-unique, 9 digits)
     │  │  │   │    │ │  │  │   └ model sequence (per manufacturer, 4 digits)
     │  │  │   │    │ │  │  └ electrical input class
     │  │  │   │    │ │  └ nominal flux class (F + 2 digits)
     │  │  │   │    │ └ colour-rendering class
     │  │  │   │    └ nominal CCT class
     │  │  │   └ manufacturer (alliance registry id, M + 4 digits)
     │  │  └ category / interface form
     │  └ level (0 light source, 1 light engine / module)
     └ prefix "LC" + scheme version

The first 22 characters are the *type part* (what the component is, shared by
every unit of a family, ``families.type_code``); the next 9 the *item part*
(which unit); the last one the check character computed over the 31 before it
(ISO/IEC 7064:2003, pure system MOD 37-2, via :mod:`stdnum.iso7064.mod_37_2`;
check character ``0-9 A-Z`` or ``*``). It detects every single-character
substitution and every adjacent transposition. (The hybrid MOD 37,36 does not:
for each running state one adjacent pair of consecutive values goes undetected,
e.g. serial ...056 -> ...065 of the same family; see docs/coding.md.)

The canonical form (what the store keeps in ``components.product_code``) has no
separators and is upper case; the printed form groups the fields with ``-``.
Parsing accepts either form, ``-`` or spaces as separators, any letter case.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from stdnum.iso7064 import mod_37_2

from lightcomp.coding.tables import (
    category_code,
    cct_code,
    cri_code,
    flux_code,
    input_code,
    level_code,
    tables,
)
from lightcomp.errors import CodeError

#: Characters of the data part of a canonical code.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Characters of the check character (ISO/IEC 7064 MOD 37-2: the data alphabet and ``*``).
CHECK_ALPHABET = ALPHABET + "*"
#: Separators accepted when parsing (the printed form uses the first).
SEPARATORS = "- "
#: Longest raw input looked at (a printed code is 42 characters).
MAX_INPUT_LENGTH = 64
SCHEME_VERSION = 1
#: ``CodeFieldError.field`` of errors that concern the code as a whole (length, characters).
FORMAT = "format"


class CodeFieldError(CodeError):
    """A product code is wrong in one named field (``field``; ``"check"`` for the check character)."""

    def __init__(self, field: str, message: str):
        super().__init__(message if field == FORMAT else f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Field:
    """One fixed-width field of the canonical code."""

    name: str
    start: int
    width: int
    kind: str  # "literal", "digits", "table", "manufacturer"

    @property
    def stop(self) -> int:
        return self.start + self.width


def _layout() -> tuple[Field, ...]:
    spec = [
        ("prefix", 2, "literal"),
        ("scheme_version", 1, "digits"),
        ("level", 1, "table"),
        ("category", 2, "table"),
        ("manufacturer", 5, "manufacturer"),
        ("cct_class", 2, "table"),
        ("cri_class", 1, "table"),
        ("flux_class", 3, "table"),
        ("input_class", 1, "table"),
        ("model_seq", 4, "digits"),
        ("item_serial", 9, "digits"),
        ("check", 1, "check"),
    ]
    out, pos = [], 0
    for name, width, kind in spec:
        out.append(Field(name, pos, width, kind))
        pos += width
    return tuple(out)


FIELDS = _layout()
FIELD_BY_NAME = {f.name: f for f in FIELDS}
CODE_LENGTH = FIELDS[-1].stop  # 32
TYPE_LENGTH = FIELD_BY_NAME["model_seq"].stop  # 22
#: Printed groups: the prefix and version print together ("LC1").
PRINT_GROUPS = (
    ("prefix", "scheme_version"),
    ("level",),
    ("category",),
    ("manufacturer",),
    ("cct_class",),
    ("cri_class",),
    ("flux_class",),
    ("input_class",),
    ("model_seq",),
    ("item_serial",),
    ("check",),
)
MAX_MODEL_SEQ = 10 ** FIELD_BY_NAME["model_seq"].width - 1
MAX_ITEM_SERIAL = 10 ** FIELD_BY_NAME["item_serial"].width - 1
MANUFACTURER_PREFIX = "M"
MAX_MANUFACTURER_NUMBER = 9999

#: Keys of :func:`decode` that :func:`encode` derives itself (ignored on input).
_DERIVED_KEYS = frozenset(
    {
        "code",
        "printed",
        "check",
        "type_code",
        "category_name",
        "level_name",
        "flux_range_lm",
        "input_name",
        "cri_name",
        "cct_name",
        "prefix",
    }
)


# -- check character ---------------------------------------------------------------


def check_character(data: str) -> str:
    """ISO/IEC 7064 MOD 37-2 check character of ``data`` (characters of :data:`ALPHABET`).

    The result is one of :data:`CHECK_ALPHABET` (``0-9``, ``A-Z`` or ``*``).
    """
    _require_alphabet(data, "data")
    return mod_37_2.calc_check_digit(data)


def _require_alphabet(text: str, what: str) -> None:
    for i, ch in enumerate(text):
        if ch not in ALPHABET:
            raise CodeError(f"{what}: character {i + 1} {_show(ch)} is not one of 0-9 A-Z")


def _show(ch: str) -> str:
    """A character shown safely in a message (code point and Unicode name for non-ASCII)."""
    if ch.isascii() and ch.isprintable():
        return repr(ch)
    name = unicodedata.name(ch, "control character" if unicodedata.category(ch) == "Cc" else "?")
    return f"U+{ord(ch):04X} ({name})"


# -- parsing -----------------------------------------------------------------------


def _normalise(code: Any) -> tuple[str, list[str] | None]:
    """Upper-case code without separators, and its groups when it had separators."""
    if not isinstance(code, str):
        raise CodeFieldError(FORMAT, f"a product code must be text, not {type(code).__name__}")
    text = code.strip(" \t\r\n")
    if not text:
        raise CodeFieldError(FORMAT, "empty product code")
    if len(text) > MAX_INPUT_LENGTH:
        raise CodeFieldError(
            FORMAT,
            f"product code too long ({len(text)} characters; a code has {CODE_LENGTH}, "
            f"{CODE_LENGTH + len(PRINT_GROUPS) - 1} with separators)",
        )
    last = len(text.rstrip(SEPARATORS)) - 1  # position of the check character
    for i, ch in enumerate(text):
        if ch == "*" and i == last:
            continue
        if ch == "*":
            raise CodeFieldError(
                FORMAT, f"character {i + 1} '*' is allowed only as the check character (last)"
            )
        if not (ch.isascii() and (ch.isalnum() or ch in SEPARATORS)):
            hint = ""
            if not ch.isascii():
                hint = " (look-alike of an ASCII character?)"
            raise CodeFieldError(
                FORMAT,
                f"character {i + 1} {_show(ch)} is not allowed in a product code: use only "
                f"A-Z, 0-9, '-' (and '*' as check character){hint}",
            )
    text = text.upper()
    groups = None
    if any(s in text for s in SEPARATORS):
        groups = [g for g in text.replace(" ", "-").split("-") if g]
    flat = text.replace("-", "").replace(" ", "")
    return flat, groups


def canonical(code: str) -> str:
    """Canonical form of ``code``: no separators, upper case (what the store keeps).

    The code is fully validated (fields and check character); raises
    :class:`CodeError` naming the wrong field or the check character.
    """
    decode(code)
    return _normalise(code)[0]


def _check_length(flat: str, groups: list[str] | None) -> None:
    if groups is not None and len(groups) == len(PRINT_GROUPS):
        for group, names in zip(groups, PRINT_GROUPS, strict=True):
            width = sum(FIELD_BY_NAME[n].width for n in names)
            if len(group) != width:
                name = names[-1]
                raise CodeFieldError(
                    name, f"{group!r} has {len(group)} characters, expected {width}"
                )
    if len(flat) != CODE_LENGTH:
        raise CodeFieldError(
            FORMAT,
            f"product code has {len(flat)} characters without separators, expected {CODE_LENGTH} "
            f"(e.g. {example_code()})",
        )


def _digits(field: str, text: str) -> int:
    for ch in text:
        if not ch.isdigit():
            hint = {
                "O": " (letter O; digit 0?)",
                "I": " (letter I; digit 1?)",
                "Q": " (letter Q; digit 0?)",
            }.get(ch, "")
            raise CodeFieldError(field, f"{text!r} must be digits, found {ch!r}{hint}")
    return int(text)


def _table_row(field: str, table_name: str, text: str):
    table = tables().field_table(table_name)
    row = table.get(text)
    if row is None:
        allowed = ", ".join(table)
        raise CodeFieldError(field, f"{text!r} is not in the table (allowed: {allowed})")
    return row


def parse_manufacturer_id(registry_id: str, *, field: str = "manufacturer") -> str:
    """Check an alliance registry id (``M`` + 4 digits, not M0000); return it upper case."""
    text = str(registry_id).strip().upper()
    if len(text) != 5 or text[0] != MANUFACTURER_PREFIX:
        raise CodeFieldError(
            field, f"{registry_id!r} is not a registry id like M0042 (M + 4 digits)"
        )
    number = _digits(field, text[1:])
    if number == 0:
        raise CodeFieldError(field, "M0000 is not a valid registry id")
    return text


def decode(code: str) -> dict[str, Any]:
    """Every field of a product code, by name.

    Returns a dict with ``code`` (canonical), ``printed``, ``type_code``,
    ``scheme_version``, ``level``, ``level_name``, ``category``, ``category_name``,
    ``manufacturer`` (registry id), ``cct_class`` (code), ``nominal_cct_k`` (K or
    None), ``cri_class`` (minimum Ra or None), ``cri_code``, ``flux_class``
    (code, e.g. ``"32"``), ``nominal_flux_lm`` (R10 preferred value, lm),
    ``flux_range_lm`` ([min, max) lm), ``input_class`` (e.g. ``"CC-DC"``),
    ``input_code``, ``input_name``, ``model_seq``, ``item_serial`` and ``check``.

    Raises :class:`CodeFieldError` (a :class:`CodeError`) naming the wrong
    field, or ``check`` when the check character does not match.
    """
    flat, groups = _normalise(code)
    _check_length(flat, groups)
    t = tables()
    part = {f.name: flat[f.start : f.stop] for f in FIELDS}

    if part["prefix"] != t.prefix:
        raise CodeFieldError(
            "prefix", f"{part['prefix']!r} is not {t.prefix!r}: not a lightcomp product code"
        )
    version = _digits("scheme_version", part["scheme_version"])
    if version != t.version:
        raise CodeFieldError(
            "scheme_version",
            f"unknown scheme version {version} (this software reads version {t.version})",
        )
    level_row = _table_row("level", "level", part["level"])
    cat_row = _table_row("category", "category", part["category"])
    level = int(level_row.code)
    if level not in cat_row.levels:
        raise CodeFieldError(
            "category",
            f"{cat_row.code!r} ({cat_row.name}) is not a level-{level} category",
        )
    manufacturer = parse_manufacturer_id(part["manufacturer"])
    cct_row = _table_row("cct_class", "cct", part["cct_class"])
    cri_row = _table_row("cri_class", "cri", part["cri_class"])
    flux_text = part["flux_class"]
    if flux_text[0] != "F":
        raise CodeFieldError("flux_class", f"{flux_text!r} must start with F (e.g. F32)")
    flux_row = _table_row("flux_class", "flux", flux_text[1:])
    input_row = _table_row("input_class", "input", part["input_class"])
    model_seq = _digits("model_seq", part["model_seq"])
    if model_seq == 0:
        raise CodeFieldError("model_seq", "0000 is not a valid model sequence")
    item_serial = _digits("item_serial", part["item_serial"])
    if item_serial == 0:
        raise CodeFieldError("item_serial", "000000000 is not a valid item serial")
    if mod_37_2.checksum(flat) != 1:
        raise CodeFieldError(
            "check",
            f"check character {part['check']!r} does not match the code "
            "(a character is mistyped or two are swapped)",
        )
    return {
        "code": flat,
        "printed": _printed(flat),
        "type_code": flat[:TYPE_LENGTH],
        "scheme_version": version,
        "level": level,
        "level_name": level_row.name,
        "category": cat_row.code,
        "category_name": cat_row.name,
        "manufacturer": manufacturer,
        "cct_class": cct_row.code,
        "nominal_cct_k": int(cct_row.value) if cct_row.value else None,
        "cri_class": int(cri_row.value) if cri_row.value else None,
        "cri_code": cri_row.code,
        "flux_class": flux_row.code,
        "nominal_flux_lm": flux_row.value,
        "flux_range_lm": [flux_row.min_value, flux_row.max_value],
        "input_class": input_row.name,
        "input_code": input_row.code,
        "input_name": input_row.description,
        "model_seq": model_seq,
        "item_serial": item_serial,
        "check": part["check"],
    }


def validate(code: str) -> None:
    """Raise :class:`CodeError` (naming the field or the check character) unless ``code`` is valid."""
    decode(code)


def is_valid(code: str) -> bool:
    """True when ``code`` is a valid product code (any accepted form)."""
    try:
        decode(code)
    except CodeError:
        return False
    return True


def _printed(flat: str) -> str:
    groups = []
    for names in PRINT_GROUPS:
        start = FIELD_BY_NAME[names[0]].start
        stop = FIELD_BY_NAME[names[-1]].stop
        groups.append(flat[start:stop])
    return tables().separator.join(groups)


def format_type_code(type_code: str) -> str:
    """Printed form of a type part (``families.type_code``), e.g. ``LC1-0-CB-M0042-30-8-F32-C-0007``."""
    printed = _printed(make_code(type_code, 1))
    return printed.rsplit(tables().separator, 2)[0]


def format_code(code: str) -> str:
    """Printed form of ``code`` (upper case, fields separated by ``-``); validates it."""
    return decode(code)["printed"]


# -- encoding ----------------------------------------------------------------------


def _int_field(fields: dict, name: str, maximum: int) -> int:
    if name not in fields or fields[name] is None:
        raise CodeFieldError(name, "missing")
    value = fields[name]
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
            value = int(value.strip())
        else:
            raise CodeFieldError(name, f"{value!r} is not a whole number")
    if not 1 <= value <= maximum:
        raise CodeFieldError(name, f"{value} is outside 1..{maximum}")
    return value


def _agree(name: str, a: str, b: str) -> None:
    if a != b:
        raise CodeFieldError(
            name, f"the class code {a!r} and the value given (class {b!r}) disagree"
        )


def encode_type(fields: dict[str, Any]) -> str:
    """The 22-character type part (canonical) from field values.

    Keys: ``level`` (0/1), ``category`` (code or name), ``manufacturer``
    (registry id), ``nominal_cct_k`` (K, or None for coloured) or ``cct_class``
    (code), ``cri_class`` (minimum Ra, or None) or ``cri_code``,
    ``nominal_flux_lm`` (lm) or ``flux_class`` (code ``"32"`` or ``"F32"``),
    ``input_class`` (``"CC-DC"``, ``"CV-DC"``, ``"AC"`` or the code letter) or
    ``input_code``, ``model_seq`` (1-9999), optional ``scheme_version``.
    """
    if not isinstance(fields, dict):
        raise CodeError(f"fields must be a dict, not {type(fields).__name__}")
    t = tables()
    version = fields.get("scheme_version", t.version)
    if version != t.version:
        raise CodeFieldError("scheme_version", f"{version!r} is not {t.version}")
    if "level" not in fields:
        raise CodeFieldError("level", "missing")
    level = _wrap("level", level_code, fields["level"])
    if "category" not in fields:
        raise CodeFieldError("category", "missing")
    category = _wrap("category", category_code, fields["category"], int(level))
    if "manufacturer" not in fields:
        raise CodeFieldError("manufacturer", "missing")
    manufacturer = parse_manufacturer_id(fields["manufacturer"])

    cct = _class_field(
        fields,
        "cct_class",
        "cct",
        "nominal_cct_k",
        cct_code,
    )
    cri = _class_field(fields, "cri_code", "cri", "cri_class", cri_code, report_as="cri_class")
    flux = _class_field(
        fields,
        "flux_class",
        "flux",
        "nominal_flux_lm",
        flux_code,
        normalise=lambda c: c.upper().removeprefix("F"),
    )
    inp = _class_field(
        fields,
        "input_code",
        "input",
        "input_class",
        input_code,
        normalise=str.upper,
        report_as="input_class",
    )

    model_seq = _int_field(fields, "model_seq", MAX_MODEL_SEQ)
    return (
        f"{t.prefix}{t.version}{level}{category}{manufacturer}{cct}{cri}F{flux}{inp}"
        f"{model_seq:0{FIELD_BY_NAME['model_seq'].width}d}"
    )


def _class_field(
    fields: dict[str, Any],
    code_key: str,
    table: str,
    value_key: str,
    coder,
    *,
    normalise=lambda c: c,
    report_as: str | None = None,
) -> str:
    """A class field given as its table code (``code_key``) and/or as a value (``value_key``).

    When both are given they must agree; errors name the field a person would fix.
    """
    code = None
    table_name = report_as or code_key
    if code_key in fields:
        code = normalise(str(fields[code_key]).strip())
        _table_row(table_name, table, code)
    if value_key in fields:
        by_value = _wrap(value_key, coder, fields[value_key])
        if code is not None:
            _agree(table_name, code, by_value)
        code = by_value
    if code is None:
        raise CodeFieldError(value_key, f"missing (give {value_key} or {code_key})")
    return code


def _wrap(name: str, fn, *args):
    """Call a table look-up; re-raise its CodeError as a CodeFieldError naming ``name``."""
    try:
        return fn(*args)
    except CodeFieldError:
        raise
    except CodeError as exc:
        raise CodeFieldError(name, str(exc)) from None


def make_code(type_code: str, item_serial: int) -> str:
    """Canonical code from a type part (``families.type_code``) and an item serial."""
    return make_codes(type_code, item_serial, 1)[0]


def make_codes(type_code: str, first_serial: int, count: int) -> list[str]:
    """Canonical codes for ``count`` consecutive serials from ``first_serial`` (one type part).

    The type part is validated once (by decoding the first code); raises
    :class:`CodeError` if it or a serial is invalid.
    """
    if not isinstance(type_code, str) or len(type_code) != TYPE_LENGTH:
        raise CodeError(f"type code {type_code!r} is not {TYPE_LENGTH} characters")
    first = _int_field({"item_serial": first_serial}, "item_serial", MAX_ITEM_SERIAL)
    _int_field({"item_serial": first + count - 1}, "item_serial", MAX_ITEM_SERIAL)
    type_code = type_code.upper()
    _require_alphabet(type_code, "type code")
    width = FIELD_BY_NAME["item_serial"].width
    codes = []
    for serial in range(first, first + count):
        data = f"{type_code}{serial:0{width}d}"
        codes.append(data + mod_37_2.calc_check_digit(data))
    decode(codes[0])  # the type part must itself be valid
    return codes


_KNOWN_KEYS = frozenset(
    {
        "scheme_version",
        "level",
        "category",
        "manufacturer",
        "cct_class",
        "nominal_cct_k",
        "cri_class",
        "cri_code",
        "flux_class",
        "nominal_flux_lm",
        "input_class",
        "input_code",
        "model_seq",
        "item_serial",
    }
)


def encode(fields: dict[str, Any]) -> str:
    """Canonical product code (no separators, upper case) from field values.

    Accepts the keys of :func:`encode_type` plus ``item_serial`` (1-999999999);
    the output of :func:`decode` is accepted as is (derived keys are ignored),
    so ``encode(decode(c)) == canonical(c)``. Raises :class:`CodeFieldError`
    naming a missing, unknown or wrong field. Use :func:`format_code` for labels.
    """
    if not isinstance(fields, dict):
        raise CodeError(f"fields must be a dict, not {type(fields).__name__}")
    unknown = set(fields) - _KNOWN_KEYS - _DERIVED_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise CodeFieldError(name, "unknown field")
    return make_code(encode_type(fields), fields.get("item_serial"))


def example_code() -> str:
    """A printed example code (used in messages and docs)."""
    return _printed(
        make_code(
            encode_type(
                {
                    "level": 0,
                    "category": "CB",
                    "manufacturer": "M0042",
                    "nominal_cct_k": 3000,
                    "cri_class": 80,
                    "nominal_flux_lm": 1600,
                    "input_class": "CC-DC",
                    "model_seq": 7,
                }
            ),
            124,
        )
    )
