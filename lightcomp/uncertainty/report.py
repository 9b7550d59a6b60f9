"""Uncertainty in reports: the certificate's budget annex and a lot's typical U."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from lightcomp.uncertainty.model import GROUP_LABELS, GROUPS


def budget_rows(
    budget: dict[str, dict[str, float | None]],
    uncertainty: dict[str, Any],
    keys: Iterable[str],
    *,
    label: Callable[[str], str] = str,
    group_label: Callable[[str], str] = str,
    fmt_u: Callable[[str, float], str] = lambda _k, u: f"{u:.2g}",
    top: int = 4,
) -> list[list[str]]:
    """One row per quantity: label, U (k = 2) and the input groups that dominate its
    variance (share u_g² / Σ u_g², largest first, those ≥ 1 %; one group varied at a
    time, so for nearly linear quantities the shares add up to about 100 %).

    ``label(key)`` names a quantity; ``group_label(text)`` gives an input group's label
    (:data:`~lightcomp.uncertainty.model.GROUP_LABELS`,
    :data:`~lightcomp.uncertainty.modulation.MODULATION_GROUP_LABELS`, English) in the
    report's language — the certificate passes its translator — and is identity by
    default."""
    from lightcomp.uncertainty.modulation import MODULATION_GROUP_LABELS, MODULATION_GROUPS

    groups = (*GROUPS, *MODULATION_GROUPS)
    labels = {**GROUP_LABELS, **MODULATION_GROUP_LABELS}
    rows = []
    for key in keys:
        entry = uncertainty.get(key)
        if not isinstance(entry, dict) or entry.get("U") is None:
            continue
        shares = {
            g: (budget.get(g) or {}).get(key) for g in groups if (budget.get(g) or {}).get(key)
        }
        total = sum(float(v) ** 2 for v in shares.values() if v and math.isfinite(v))
        parts = sorted(
            ((float(v) ** 2 / total, g) for g, v in shares.items() if total > 0),
            reverse=True,
        )
        text = ", ".join(
            f"{group_label(labels[g])} {100 * s:.0f} %" for s, g in parts[:top] if s >= 0.01
        )
        rows.append([label(key), fmt_u(key, float(entry["U"])), text or "–"])
    return rows


def typical_u(uncertainties: Iterable[dict | None], keys: Iterable[str]) -> dict[str, float]:
    """Median expanded uncertainty (k = 2) of each quantity over measurements that
    carry one (the lot report's 'typical U')."""
    keys = list(keys)
    values: dict[str, list[float]] = {k: [] for k in keys}
    for d in uncertainties:
        if not isinstance(d, dict):
            continue
        for k in keys:
            e = d.get(k)
            u = e.get("U") if isinstance(e, dict) else None
            if u is not None and math.isfinite(float(u)):
                values[k].append(float(u))
    out = {}
    for k, v in values.items():
        if v:
            v.sort()
            n = len(v)
            out[k] = v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])
    return out
