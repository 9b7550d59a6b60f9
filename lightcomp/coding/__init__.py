"""Product coding of LED standard light components (scheme, check character, allocation).

See ``docs/coding.md`` for the scheme. Public API (other rooms depend on these names):

- :func:`encode`, :func:`decode`, :func:`canonical`, :func:`format_code`, :func:`validate`
- :func:`issue_codes`, :func:`reserve_block`, :func:`register_codes`, :class:`BlockFile`
- :func:`register_manufacturer`, :func:`register_family`, :func:`import_registry`
- :func:`write_label`
"""

from lightcomp.coding.scheme import (
    ALPHABET,
    CHECK_ALPHABET,
    CODE_LENGTH,
    FIELDS,
    TYPE_LENGTH,
    CodeFieldError,
    canonical,
    check_character,
    decode,
    encode,
    encode_type,
    format_code,
    is_valid,
    make_code,
    validate,
)
from lightcomp.coding.tables import tables
from lightcomp.errors import CodeError

# Allocation and the registry need the store (SQLAlchemy): imported on first use, so
# that checking a code (`lightcomp code validate`) starts without them.
_LAZY = {
    "BlockFile": "allocation",
    "find_component": "allocation",
    "issue_codes": "allocation",
    "register_codes": "allocation",
    "reserve_block": "allocation",
    "find_family": "registry",
    "find_manufacturer": "registry",
    "import_registry": "registry",
    "register_family": "registry",
    "register_manufacturer": "registry",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lightcomp.coding' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"lightcomp.coding.{module}"), name)
    globals()[name] = value
    return value


def write_label(code: str, path, **kwargs):
    """Write a printable label for ``code`` (see :func:`lightcomp.coding.label.write_label`)."""
    from lightcomp.coding.label import write_label as _write

    return _write(code, path, **kwargs)


__all__ = [
    "ALPHABET",
    "CHECK_ALPHABET",
    "BlockFile",
    "CODE_LENGTH",
    "CodeError",
    "CodeFieldError",
    "FIELDS",
    "TYPE_LENGTH",
    "canonical",
    "check_character",
    "decode",
    "encode",
    "encode_type",
    "find_component",
    "find_family",
    "find_manufacturer",
    "format_code",
    "import_registry",
    "is_valid",
    "issue_codes",
    "make_code",
    "register_codes",
    "register_family",
    "register_manufacturer",
    "reserve_block",
    "tables",
    "validate",
    "write_label",
]
