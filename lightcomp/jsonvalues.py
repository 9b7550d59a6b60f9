"""Plain JSON values from numbers and containers: the one sanitiser and number helper.

JSON has no NaN or infinity and knows no numpy types; the store's JSON columns, the
API and the records export all go through :func:`json_safe` and :func:`finite`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["finite", "json_safe"]


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or None (None, booleans, non-numbers, NaN, ±inf)."""
    if value is None or isinstance(value, bool | np.bool_):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def json_safe(value: Any) -> Any:
    """A plain-JSON copy: NaN/inf -> None, numpy scalars and arrays -> Python values,
    dict keys -> str, tuples -> lists; other values are returned as they are."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    return value
