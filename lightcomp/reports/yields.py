"""Yield of a lot or selection: counts from the store, statistics from the analysis core.

The counts come from :func:`lightcomp.store.queries.lot_verdict_counts` (or a
records frame); the interval and the verdict against a target from
:func:`lightcomp.analysis.yield_stats.yield_summary`.  Used by the lot report, the
API and the ``station run`` command.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from lightcomp.errors import ReportError
from lightcomp.store import queries
from lightcomp.store.models import Family, Lot

__all__ = ["lot_yield", "yield_summary_dict"]


def yield_summary_dict(
    n_pass: int,
    n_fail: int,
    n_error: int = 0,
    *,
    target: float = 0.95,
    confidence: float = 0.95,
    method: str = "wilson",
) -> dict[str, Any]:
    """Yield, its confidence interval and the verdict against ``target`` as plain scalars.

    Wraps :func:`lightcomp.analysis.yield_stats.yield_summary` (yield = passes /
    tested, tested = passes + failures; errors are counted apart, not as
    tested). Keys: ``n_pass``, ``n_fail``, ``n_error``, ``n_tested``, ``yield``,
    ``lower``, ``upper`` (two-sided), ``lower_one_sided``, ``upper_one_sided``,
    ``verdict`` ("target met" / "target missed" / "not yet decidable"),
    ``method``, ``target``, ``confidence``. With nothing tested (only errors)
    the yield and bounds are NaN and the verdict "not yet decidable".
    """
    from lightcomp.analysis.yield_stats import yield_summary

    p, f, e = int(n_pass), int(n_fail), int(n_error)
    if p + f == 0:
        nan = float("nan")
        return {
            "n_pass": p,
            "n_fail": f,
            "n_error": e,
            "n_tested": 0,
            "yield": nan,
            "lower": nan,
            "upper": nan,
            "lower_one_sided": nan,
            "upper_one_sided": nan,
            "verdict": "not yet decidable",
            "method": method,
            "target": target,
            "confidence": confidence,
        }
    res = yield_summary(p, f, e, target=target, confidence=confidence, method=method)
    out: dict[str, Any] = {}
    for k, v in res.items():
        a = np.asarray(v).reshape(-1)[0] if np.ndim(v) else v
        out[k] = a.item() if isinstance(a, np.generic) else a
    out["target"] = target
    out["confidence"] = confidence
    return out


def lot_yield(
    session: Session, lot: str, *, target: float = 0.95, confidence: float = 0.95
) -> dict[str, Any]:
    """Yield summary of a lot straight from the store (one aggregate query).

    Returns ``lot``, ``family``, ``n_components`` (in the lot), ``n_measured``
    (with a current measurement), ``n_unmeasured`` and the fields of
    :func:`yield_summary_dict` (``n_pass``, ``n_fail``, ``n_error``,
    ``n_tested``, ``yield``, ``lower``, ``upper``, ``verdict`` ...).
    Yield = passes / (passes + failures); errors are counted apart.
    """
    lid = queries.lot_id(session, lot)
    counts = queries.lot_verdict_counts(session, lid)
    measured = counts["pass"] + counts["fail"] + counts["error"]
    if measured == 0:
        raise ReportError(f"lot {lot!r} has no measured components")
    row = session.get(Lot, lid)
    fam = session.get(Family, row.family_id) if row.family_id else None
    n_components = measured + counts["untested"]
    out: dict[str, Any] = {
        "lot": lot,
        "family": fam.name if fam else None,
        "n_components": n_components,
        "n_measured": measured,
        "n_unmeasured": counts["untested"],
    }
    out.update(
        yield_summary_dict(
            counts["pass"], counts["fail"], counts["error"], target=target, confidence=confidence
        )
    )
    return out
