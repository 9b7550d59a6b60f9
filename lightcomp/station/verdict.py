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
    plan order.
    """
    verdicts: dict[str, dict] = {}
    failed: list[str] = []
    for lim in plan.limits:
        value = finite(quantities.get(lim.quantity))
        ok = value is not None
        if ok and lim.min is not None and value < lim.min:
            ok = False
        if ok and lim.max is not None and value > lim.max:
            ok = False
        verdicts[lim.name] = {
            "quantity": lim.quantity,
            "value": value,
            "min": lim.min,
            "max": lim.max,
            "unit": lim.unit,
            "pass": ok,
        }
        if not ok:
            failed.append(lim.name)
    if plan.ansi_quadrangle is not None:
        inside = quantities.get("ansi_inside")
        ok = bool(inside) if inside is not None else False
        verdicts["ansi_quadrangle"] = {
            "quantity": "ansi_category",
            "value": quantities.get("ansi_category"),
            "expected": str(plan.ansi_quadrangle),
            "pass": ok,
        }
        if not ok:
            failed.append("ansi_quadrangle")
    return verdicts, failed
