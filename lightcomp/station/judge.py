"""From quantities to a verdict, for a batch of components at once (pure).

The step after the analysis core, shared by the station (one component,
:func:`lightcomp.station.evaluate.evaluate`) and re-analysis of the archive (a chunk
of thousands, :mod:`lightcomp.reanalysis`): chromaticity bins and MacAdam steps, the
IEC 62717 photometric code, every limit of the plan and the unit's verdict.  The bins
and codes are computed on arrays; only the per-limit bookkeeping is per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lightcomp.errors import LightcompError
from lightcomp.station.plan import TestPlan
from lightcomp.station.verdict import chromaticity_bins, evaluate_limits_rows

__all__ = ["ANALYSIS_ERROR", "NO_VALUE", "Judged", "judge_rows", "judged_error", "no_value"]

#: How the errors the analysis and the judging give start (the only errors a
#: re-analysis computes again; any other stored error — an instrument, the
#: stabilisation, a required U — is the measurement's and stays).
ANALYSIS_ERROR = "analysis: "
NO_VALUE = "no valid measured value for limit(s) "


def no_value(limits: list[str]) -> str:
    """The error of a unit with limits that have no valid measured value."""
    return NO_VALUE + ", ".join(limits)


def judged_error(message: str | None) -> bool:
    """Whether a stored error message is one the analysis or the judging gave."""
    return bool(message) and message.startswith((ANALYSIS_ERROR, NO_VALUE))


@dataclass
class Judged:
    """One component's verdict and the quantities it was judged on (bins and code added)."""

    verdict: str  # pass | fail | error
    error_message: str | None
    quantities: dict
    verdicts: dict = field(default_factory=dict)
    failed_limits: list = field(default_factory=list)


def trial_sdcm_steps(plan: TestPlan, q: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """MacAdam steps from the plan's nominal quadrangle for Monte Carlo trials (arrays of
    CCT, Duv, x, y): the judging rule's own binning, so that the steps get a U
    (``ComponentInputs.derived``). NaN for trials that cannot be binned."""
    cct, duv, x, y = (np.asarray(q[k], dtype=float) for k in ("CCT", "Duv", "x", "y"))
    steps = np.full(cct.shape, np.nan)
    ok = np.isfinite(cct + duv + x + y)
    if plan.ansi_quadrangle and ok.any():
        try:
            b = chromaticity_bins(cct[ok], duv[ok], x[ok], y[ok], plan.ansi_quadrangle)
            steps[ok] = b["sdcm_steps"]
        except LightcompError:  # a trial outside every quadrangle: no steps, no U
            pass
    return {"sdcm_steps": steps}


def _column(rows: list[dict], key: str, columns: dict[str, np.ndarray] | None) -> np.ndarray:
    """``key`` of every row as floats (NaN where missing or not a number); taken from
    ``columns`` when the caller has the array already (a re-analysis chunk)."""
    if columns is not None and key in columns:
        return np.asarray(columns[key], dtype=float)
    out = np.full(len(rows), np.nan)
    for i, q in enumerate(rows):
        v = q.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool):
            out[i] = v
    return out


def judge_rows(
    plan: TestPlan,
    rows: list[dict[str, Any]],
    errors: list[str | None] | None = None,
    maintenance: tuple[float, float] = (np.nan, np.nan),
    columns: dict[str, np.ndarray] | None = None,
    copy: bool = True,
) -> list[Judged]:
    """Bins, photometric code, limits and verdict of each row of quantities.

    ``rows[i]`` holds one component's quantities under the catalogue's keys (analysis
    results, electrical and temperature readings), JSON-safe already (plain floats, None
    for a missing value), and so are the results; ``errors[i]`` the analysis error of
    that row (its verdict is then ``error``).  ``maintenance`` is the family's
    (maintained MacAdam steps, maintained flux fraction) for the photometric code.
    ``columns``: the same values as arrays where the caller has them (the core's
    output; NaN for None), so they are not gathered from the rows again.  ``copy=False``
    lets the bins and code be added to the caller's own dicts (made for this call).
    """
    from lightcomp.analysis.photometric_code import photometric_code

    n = len(rows)
    errors = list(errors) if errors is not None else [None] * n
    q = [dict(r) for r in rows] if copy else list(rows)
    cct, duv, x, y = (_column(q, k, columns) for k in ("CCT", "Duv", "x", "y"))
    ok = np.array([e is None for e in errors]) & np.isfinite(cct + duv + x + y)
    cat = np.full(n, None, dtype=object)
    inside = np.zeros(n, dtype=bool)
    steps = np.full(n, np.nan)
    bin_error: dict[int, str] = {}
    idx = np.flatnonzero(ok)
    if idx.size:
        try:
            b = chromaticity_bins(cct[idx], duv[idx], x[idx], y[idx], plan.ansi_quadrangle)
            cat[idx], inside[idx], steps[idx] = (
                b["ansi_category"],
                b["ansi_inside"],
                b["sdcm_steps"],
            )
        except LightcompError:  # rare: find the rows one by one (an error path)
            for i in idx:
                try:
                    b = chromaticity_bins(
                        cct[i : i + 1], duv[i : i + 1], x[i : i + 1], y[i : i + 1],
                        plan.ansi_quadrangle,
                    )  # fmt: skip
                    cat[i], inside[i], steps[i] = (
                        b["ansi_category"][0],
                        b["ansi_inside"][0],
                        b["sdcm_steps"][0],
                    )
                except LightcompError as exc:
                    bin_error[i] = str(exc)
    # Photometric code: the rated (plan) CCT when the plan names one, else the measured.
    ra = _column(q, "Ra", columns)
    nominal = np.full(n, float(plan.ansi_quadrangle)) if plan.ansi_quadrangle else cct
    codes = np.full(n, None, dtype=object)
    good = ok & np.isfinite(ra) & np.isfinite(steps) & np.isfinite(nominal)
    good &= (nominal >= 950) & (nominal < 9950)
    gi = np.flatnonzero(good)
    if gi.size:
        kept_steps, kept_flux = maintenance
        try:
            codes[gi] = photometric_code(
                ra[gi],
                nominal[gi],
                steps[gi],
                np.full(gi.size, kept_steps),
                np.full(gi.size, kept_flux),
            )
        except (LightcompError, TypeError, ValueError):
            pass
    todo: list[int] = []
    for i in range(n):
        if errors[i] is not None:
            continue
        qi = q[i]
        if ok[i] and i not in bin_error:
            qi["ansi_category"] = None if cat[i] is None else str(cat[i])
            qi["ansi_inside"] = bool(inside[i])
            qi["sdcm_steps"] = float(steps[i])
        else:
            qi["ansi_category"], qi["ansi_inside"], qi["sdcm_steps"] = None, False, None
            if i in bin_error:
                qi["binning_error"] = bin_error[i]
        qi["photometric_code"] = None if codes[i] is None else str(codes[i])
        todo.append(i)
    limits = iter(evaluate_limits_rows(plan, [q[i] for i in todo]))
    out: list[Judged] = []
    for i in range(n):
        if errors[i] is not None:
            out.append(Judged("error", f"{ANALYSIS_ERROR}{errors[i]}", q[i]))
            continue
        verdicts, failed = next(limits)
        # A limit with no valid measured value is a measurement problem (an instrument
        # gave no data), not a product failure: the unit is an error, to be re-measured.
        missing = [k for k, v in verdicts.items() if k != "ansi_quadrangle" and v["value"] is None]
        out.append(
            Judged(
                "error" if missing else ("fail" if failed else "pass"),
                no_value(missing) if missing else None,
                q[i],
                verdicts,
                failed,
            )
        )
    return out
