"""Product coding of LED standard light components (scheme, check character, allocation).

See ``docs/coding.md`` for the scheme. Public API (other rooms depend on these names):

- :func:`encode`, :func:`decode`, :func:`canonical`, :func:`format_code`, :func:`validate`
- :func:`issue_codes`, :func:`reserve_block`, :func:`register_codes`, :class:`BlockFile`
- :func:`register_manufacturer`, :func:`register_family`, :func:`import_registry`
- :func:`write_label`
"""

from lightcomp.coding.allocation import (
    BlockFile,
    find_component,
    issue_codes,
    register_codes,
    reserve_block,
)
from lightcomp.coding.registry import (
    find_family,
    find_manufacturer,
    import_registry,
    register_family,
    register_manufacturer,
)
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
