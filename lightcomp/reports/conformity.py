"""The conformity decision of one result against its limits (pure; ILAC-G8:09/2019).

Used by the certificate and available to the API and other reports: the same value,
limits and uncertainty always give the same statement.
"""

from __future__ import annotations

import math

__all__ = ["DECISION_RULES", "conformity"]

DECISION_RULES = {
    "simple": "Simple acceptance, shared risk (ILAC-G8:09/2019 §4.2.1): a result conforms when "
    "the measured value lies within the limit(s); the measurement uncertainty is stated but "
    "not taken into account.",
    "guarded": "Guarded acceptance with guard band w = U, k = 2 (ILAC-G8:09/2019 §4.2.2, "
    "binary statement with guard band): a result conforms when the measured value lies inside "
    "the limit(s) by at least U, does not conform when it lies outside, and is indeterminate "
    "in between. Limits without a stated uncertainty use simple acceptance.",
}


def conformity(
    value: float | None,
    lo: float | None,
    hi: float | None,
    *,
    rule: str = "simple",
    u: float | None = None,
    passed: bool | None = None,
) -> tuple[str, str]:
    """(statement, rule applied) for ``value`` against ``lo``/``hi``.

    Statements: ``conforms``, ``does not conform``, ``indeterminate (within guard band)``.
    ``simple``: inside the limits conforms (``passed``, the station's verdict, when there
    is no numeric value, e.g. the ANSI quadrangle).  ``guarded`` with an expanded
    uncertainty ``u`` (k = 2): conforms when inside by at least ``u``, does not conform
    when outside, indeterminate in between; without ``u`` it falls back to simple.
    """
    if rule not in DECISION_RULES:
        raise ValueError(f"unknown decision rule {rule!r}: use {' or '.join(DECISION_RULES)}")
    if value is None or (lo is None and hi is None):
        ok = bool(passed)
        return ("conforms" if ok else "does not conform"), "simple"
    inside_by = min(
        (value - lo) if lo is not None else math.inf,
        (hi - value) if hi is not None else math.inf,
    )
    if rule == "guarded" and u is not None:
        if inside_by >= u:
            return "conforms", f"guarded, w = {u:g}"
        if inside_by < 0:
            return "does not conform", f"guarded, w = {u:g}"
        return "indeterminate (within guard band)", f"guarded, w = {u:g}"
    ok = inside_by >= 0 if passed is None else bool(passed)
    return ("conforms" if ok else "does not conform"), "simple"
