"""CSV cells a spreadsheet would run as formulas are neutralised (CSV/formula injection).

A text cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab / carriage return,
which some spreadsheets skip before such a character) is evaluated as a formula
when the file is opened in Excel, LibreOffice or Google Sheets; a spectrum name or
a maker's serial such as ``=HYPERLINK(...)`` would run on the reader's machine.
:func:`safe_cell` prefixes such text with an apostrophe (the spreadsheet convention
for "this is text", OWASP CSV-injection advice). Numbers are never touched, nor text
that is just a number (``-5``, ``+1.5e3``): a negative value stays a value.

Every CSV writer of lightcomp passes its text cells (and header names) through
:func:`safe_cell` or :func:`safe_frame`.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.IGNORECASE)


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet runs as a formula (non-text unchanged)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        if _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def safe_frame(frame):
    """A copy of a pandas DataFrame with every text cell and column name made safe."""
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype) or is_datetime64_any_dtype(dtype)):
            out[col] = out[col].map(safe_cell)
    out.columns = [safe_cell(c) for c in out.columns]
    return out
