"""Re-analysis of one chunk of stored measurements (pure: arrays and dicts in, rows out).

This is the function the engines run — in-process (``local``) or on Dask workers —
so it takes only picklable plain data and touches no store.  It pushes the chunk's
stored calibrated spectra through the current analysis core in one batch
(:func:`lightcomp.analysis.analyze_arrays`) and judges every component against the
plan it was tested with, as the station judged it: the plan's limits
(:func:`lightcomp.station.judge.judge_rows`), its ``[modulation.limits]`` on the stored
VLC results (:func:`lightcomp.station.modulation.merge_modulation_verdicts`) and its
decision rule with the measurement's U carried to the new values
(:func:`lightcomp.uncertainty.station.carried_uncertainty`,
:func:`~lightcomp.uncertainty.station.ruled`).  The U themselves are not copied into the
new row: it stores a reference to the measurement whose Monte Carlo gave them
(:func:`~lightcomp.uncertainty.station.carry_reference`), and readers carry them.  Readings that are not spectral
(electrical, temperatures, self-absorption, modulation results) are kept as stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Chunk", "NewResult", "reanalyse_chunk"]


@dataclass
class Chunk:
    """Stored measurements to re-analyse (one plan group per ``plans`` key).

    ``spectra`` (n, W) on ``wavelengths`` (W,), ``power_w`` (n,) NaN when unknown,
    ``stored[i]`` the row's stored ``quantities`` JSON, ``plan_keys[i]`` the key of its
    plan snapshot in ``plans``, ``maintenance[i]`` its family's (steps, flux fraction).
    """

    ids: np.ndarray
    wavelengths: np.ndarray
    spectra: np.ndarray
    power_w: np.ndarray
    stored: list[dict]
    plan_keys: list[Any]
    plans: dict[Any, dict]
    maintenance: list[tuple[float, float]] = field(default_factory=list)
    #: the stored ``uncertainty`` JSON of the measurement whose Monte Carlo gave each
    #: row its U (the row holding its arrays: ``source_ids``), carried to the new values
    uncertainty: list[dict] = field(default_factory=list)
    #: that measurement's id (default: the row's own) and stored ``quantities`` (None:
    #: the row is that measurement, ``stored[i]``)
    source_ids: list[int] = field(default_factory=list)
    source_quantities: list[dict | None] = field(default_factory=list)
    #: each row's stored error message when its verdict was ``error`` (None otherwise):
    #: an error of the measurement (instrument, stabilisation, required U) stays
    errors: list[str | None] = field(default_factory=list)


@dataclass
class NewResult:
    """The re-analysed result of one stored measurement."""

    source_id: int
    verdict: str
    error_message: str | None
    quantities: dict
    verdicts: dict
    failed_limits: list
    uncertainty: dict = field(default_factory=dict)


def reanalyse_chunk(chunk: Chunk, stages: dict | None = None) -> list[NewResult]:
    """Re-analyse one chunk with the current core; results in the chunk's row order.

    ``stages``, when given, gets the seconds spent analysing and judging added to its
    ``analyse`` and ``judge`` entries (the run's stage report).
    """
    from lightcomp.analysis import ANALYZE_COLUMNS, analyze_arrays
    from lightcomp.station.judge import judge_rows, judged_error
    from lightcomp.station.modulation import merge_modulation_verdicts
    from lightcomp.station.plan import plan_from_snapshot
    from lightcomp.uncertainty.station import (
        carried_uncertainty,
        carry_reference,
        decision_rule_of,
        has_reported_u,
        ruled,
    )

    n = len(chunk.ids)
    if n == 0:
        return []
    t0 = time.perf_counter()
    power = np.asarray(chunk.power_w, float)
    arrays = analyze_arrays(
        chunk.wavelengths,
        chunk.spectra,
        absolute=True,
        power_w=np.where(np.isfinite(power), power, np.nan),
    )
    keys = [k for k in ANALYZE_COLUMNS if k != "name"]
    if "efficacy" in arrays:
        keys.append("efficacy")
    # Plain floats, None where not finite (the stored JSON form), row by row.
    table = np.stack([arrays[k] for k in keys], axis=1)
    table = np.where(np.isfinite(table), table, np.nan).tolist()
    errors = [None if e is None else str(e) for e in arrays["error"]]
    t1 = time.perf_counter()
    derived = ("ansi_category", "ansi_inside", "sdcm_steps", "photometric_code", "binning_error")
    rows: list[dict] = []
    for i in range(n):
        q = {k: v for k, v in chunk.stored[i].items() if k not in derived}
        q.update({k: (None if v != v else v) for k, v in zip(keys, table[i], strict=True)})
        rows.append(q)
    out: list[NewResult | None] = [None] * n
    by_plan: dict[Any, list[int]] = {}
    for i, key in enumerate(chunk.plan_keys):
        by_plan.setdefault(key, []).append(i)
    maint = chunk.maintenance or [(np.nan, np.nan)] * n
    stored_u = chunk.uncertainty or [{}] * n
    source_ids = chunk.source_ids or [int(i) for i in chunk.ids]
    source_q = chunk.source_quantities or [None] * n
    stored_errors = chunk.errors or [None] * n
    for key, idx in by_plan.items():
        plan = plan_from_snapshot(chunk.plans[key])
        rule = decision_rule_of(plan.raw.get("uncertainty"))
        # The family's LM-80 maintenance enters the photometric code: group by it too.
        groups: dict[tuple, list[int]] = {}
        for i in idx:
            groups.setdefault(tuple(-1.0 if v != v else v for v in maint[i]), []).append(i)
        for gidx in groups.values():
            sel = np.asarray(gidx)
            judged = judge_rows(
                plan,
                [rows[i] for i in gidx],
                [errors[i] for i in gidx],
                maint[gidx[0]],
                columns={k: arrays[k][sel] for k in ("CCT", "Duv", "x", "y", "Ra")},
                copy=False,  # the rows were made above for this call
            )
            for i, j in zip(gidx, judged, strict=True):
                verdict, message, verdicts, failed = (
                    j.verdict,
                    j.error_message,
                    j.verdicts,
                    j.failed_limits,
                )
                if plan.modulation is not None:
                    verdict, changed, verdicts, failed = merge_modulation_verdicts(
                        verdict, verdicts, failed, j.quantities, plan.modulation
                    )
                    message = changed or message
                src = int(source_ids[i])
                if has_reported_u(stored_u[i]):  # as the station: the rule applies with U
                    # (carried to the new values, for the judged quantities only)
                    judged = {
                        k: stored_u[i][k]
                        for k in {v.get("quantity") for v in verdicts.values()}
                        if k in stored_u[i]
                    }
                    unc = carried_uncertainty(
                        judged,
                        chunk.stored[i] if source_q[i] is None else source_q[i],
                        j.quantities,
                        src,
                    )
                    verdict, verdicts, failed = ruled(verdict, verdicts, failed, unc, rule)
                if stored_errors[i] is not None and not judged_error(stored_errors[i]):
                    # An instrument, the stabilisation or a required U failed: the data
                    # are what they were, and so is the error (re-measure, not re-analyse).
                    verdict, message = "error", stored_errors[i]
                out[i] = NewResult(
                    int(chunk.ids[i]),
                    verdict,
                    message,
                    j.quantities,
                    verdicts,
                    failed,
                    carry_reference(stored_u[i], src),  # U stays in its one home
                )
    if stages is not None:
        stages["analyse"] = stages.get("analyse", 0.0) + t1 - t0
        stages["judge"] = stages.get("judge", 0.0) + time.perf_counter() - t1
    return out  # type: ignore[return-value]
