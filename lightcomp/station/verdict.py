"""Verdicts: measured quantities against the limits of a test plan.

A component passes when every limit of its plan holds; each limit gets its own
entry ``{value, min, max, unit, pass}`` (stored as the measurement's
``verdicts`` JSON) and the names of the failed ones make ``failed_limits``.
A missing or non-finite value fails its limit (it cannot be shown to hold); the runner
then records the unit as an `error` (no data is a measurement problem, not a product verdict).
``fail`` is a product verdict; an instrument problem is ``error`` and is
decided by the runner, never here.

Chromaticity binning uses ANSI C78.377-2017 (7-step quadrangles in CIE 1931
x,y, :func:`lightcomp.analysis.binning.ansi_c78377_bin`) and the MacAdam step
distance from the nominal quadrangle's centre (IEC 60081 ellipses,
:func:`lightcomp.analysis.binning.macadam_steps`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lightcomp.jsonvalues import finite
from lightcomp.station.plan import TestPlan


def chromaticity_bins(
    cct_k: np.ndarray, duv: np.ndarray, x: np.ndarray, y: np.ndarray, nominal_cct_k: int | None
) -> dict[str, np.ndarray]:
    """ANSI category (sub-bin or nearest nominal CCT), inside-the-nominal-quadrangle flag and
    MacAdam steps from the nominal centre, for arrays of components (vectorised)."""
    from lightcomp.analysis import binning

    cct = np.atleast_1d(np.asarray(cct_k, dtype=float))
    b = binning.ansi_c78377_bin(cct, duv, x, y)
    category = np.where(b["sub_bin"] != "", b["sub_bin"], b["nominal_cct_k"].astype(str))
    if nominal_cct_k is None:
        inside = b["in_quadrangle"]
        nominal = b["nominal_cct_k"]
    else:
        # the plan's own quadrangle, tested directly (neighbours share edges and overlap)
        inside = binning.inside_ansi_quadrangle(x, y, nominal_cct_k)
        nominal = np.full(cct.shape, nominal_cct_k)
    centre = binning.nominal_centre_xy(nominal)  # ANSI centre, or the flexible-CCT target
    steps = binning.macadam_steps(x, y, centre[:, 0], centre[:, 1], cct_k=nominal.astype(float))
    return {"ansi_category": category.astype(str), "ansi_inside": inside, "sdcm_steps": steps}


def evaluate_limits(plan: TestPlan, quantities: dict[str, Any]) -> tuple[dict, list[str]]:
    """Check ``quantities`` against every limit of ``plan``.

    Returns ``(verdicts, failed_limits)``: ``verdicts[name] = {"quantity", "value",
    "min", "max", "unit", "pass"}`` for each limit (and ``"ansi_quadrangle"``
    when the plan sets one), ``failed_limits`` the names that did not hold, in
    plan order.  One row of :func:`evaluate_limits_rows` (the one rule).
    """
    return evaluate_limits_rows(plan, [quantities])[0]


def evaluate_limits_rows(
    plan: TestPlan, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[dict, list[str]]]:
    """:func:`evaluate_limits` of many rows at once (a re-analysis chunk: thousands).

    The rule: a limit holds when the value is a finite number and ``min <= value <=
    max`` (either side optional); a missing, non-numeric or non-finite value fails.
    The quadrangle holds when ``ansi_inside`` is true.  Limit by limit over the rows
    (the limit's fields looked up once), so a chunk costs a comparison and a small
    dict per row and limit, not a function call per value.
    """
    n = len(rows)
    verdicts: list[dict[str, dict]] = [{} for _ in range(n)]
    failed: list[list[str]] = [[] for _ in range(n)]
    for lim in plan.limits:
        key, name, lmin, lmax, unit = lim.quantity, lim.name, lim.min, lim.max, lim.unit
        lo = -math.inf if lmin is None else lmin
        hi = math.inf if lmax is None else lmax
        for i, q in enumerate(rows):
            value = q.get(key)
            if type(value) is not float:  # the usual case is a plain float: no call
                value = finite(value)
            elif value != value or value in (math.inf, -math.inf):
                value = None
            ok = value is not None and lo <= value <= hi
            # (key order as the stored JSON has always had it)
            verdicts[i][name] = {
                "quantity": key,
                "value": value,
                "min": lmin,
                "max": lmax,
                "unit": unit,
                "pass": ok,
            }
            if not ok:
                failed[i].append(name)
    if plan.ansi_quadrangle is not None:
        expected = str(plan.ansi_quadrangle)
        for i, q in enumerate(rows):
            inside = q.get("ansi_inside")
            ok = bool(inside) if inside is not None else False
            verdicts[i]["ansi_quadrangle"] = {
                "quantity": "ansi_category",
                "value": q.get("ansi_category"),
                "expected": expected,
                "pass": ok,
            }
            if not ok:
                failed[i].append("ansi_quadrangle")
    return list(zip(verdicts, failed, strict=True))
