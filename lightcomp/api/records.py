"""Turning store rows into API records; product codes through :mod:`lightcomp.coding`.

A code is accepted printed or canonical, in any case (``coding.canonical``
validates fields and check character); records show the printed form
(``coding.format_code``) and the decoded fields (``coding.decode``). Codes stored
by other means that do not decode are shown as stored, with ``decoded: null``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from lightcomp import coding
from lightcomp import quantities as catalogue
from lightcomp.api.publication import publication_status
from lightcomp.api.queries import KEY_QUANTITIES, row_uncertainty
from lightcomp.errors import CodeError
from lightcomp.jsonvalues import finite, json_safe
from lightcomp.laboratory import lab_identity

MAX_CODE_CHARS = 64


def canonical_code(code: str) -> str:
    """Store form of ``code`` given printed or canonical, any case.

    Raises :class:`CodeError` naming what is wrong (length, field, check character).
    """
    if len(code) > MAX_CODE_CHARS:
        raise CodeError(f"product code is {len(code)} characters long; at most {MAX_CODE_CHARS}")
    return coding.canonical(code.strip().upper())


@lru_cache(maxsize=65536)
def printed_code(product_code: str) -> str:
    """Printed form of a canonical code (as stored if it does not decode).

    Cached: formatting validates the whole code, and search pages repeat codes.
    """
    try:
        return coding.format_code(product_code)
    except CodeError:
        return product_code


def decoded_code(product_code: str) -> dict[str, Any] | None:
    """Fields of the code by name (None when it does not decode)."""
    try:
        fields = coding.decode(product_code)
    except CodeError:
        return None
    return json_safe(dict(fields))


def utc(value: datetime | None) -> datetime | None:
    """Timezone-aware UTC (SQLite hands back naive datetimes; the store writes UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def publication(row) -> dict[str, Any]:
    """Publication block of a row with ``published_at``, ``withdrawn_at``, ``withdraw_reason``."""
    return {
        "status": publication_status(row.published_at, row.withdrawn_at),
        "published_at": utc(row.published_at),
        "withdrawn_at": utc(row.withdrawn_at),
        "withdraw_reason": row.withdraw_reason,
    }


def lot_yield(row, counts: dict[str, int]) -> dict[str, Any]:
    """Yield record of the lot ``row`` (of :func:`lightcomp.api.queries.lot_row`) from its
    verdict ``counts`` (:func:`lightcomp.store.queries.lot_verdict_counts`): publication,
    counts and the yield summary (yield, 95 % interval, verdict against the target)."""
    from lightcomp.reports.yields import yield_summary_dict

    return {
        "lot": row.name,
        "publication": publication(row),
        "counts": counts,
        "summary": json_safe(yield_summary_dict(counts["pass"], counts["fail"], counts["error"])),
    }


def summary(row) -> dict[str, Any]:
    """Search-hit form of a record row (published fields only)."""
    return {
        "code": printed_code(row.product_code),
        "product_code": row.product_code,
        "manufacturer": row.manufacturer_name,
        "manufacturer_registry_id": row.manufacturer_registry_id,
        "family": row.family_name,
        "level": row.level,
        "lot": row.lot_name,
        "publication": publication(row),
        "verdict": row.verdict if row.verdict in ("pass", "fail", "error") else None,
        "tested_at": utc(row.measured_at),
        "analysis_version": row.analysis_version,
        "photometric_code": row.photometric_code or row.component_photometric_code,
        "measured": {name: finite(getattr(row, name)) for name, _ in KEY_QUANTITIES},
    }


def judged_limits(verdicts: Any) -> dict[str, dict[str, Any]]:
    """The plan's limits a measurement was judged against, by plan limit name, from its
    stored per-limit verdicts (:func:`lightcomp.station.verdict.evaluate_limits`): the
    quantity, ``min``/``max`` with their unit, or the ``expected`` ANSI quadrangle, and
    whether it held. Not the registry's rated values: a plan may be stricter or newer."""
    out: dict[str, dict[str, Any]] = {}
    if not isinstance(verdicts, dict):
        return out
    for name, v in verdicts.items():
        if not isinstance(v, dict):
            continue
        entry = {
            "label": catalogue.limit_label(str(name)),
            "quantity": v.get("quantity"),
            "min": finite(v.get("min")),
            "max": finite(v.get("max")),
            "unit": v.get("unit"),
            "pass": v.get("pass") if isinstance(v.get("pass"), bool) else None,
        }
        if v.get("expected") is not None:
            entry["expected"] = str(v["expected"])
        out[str(name)] = entry
    return out


def _limit(limits: dict[str, dict[str, Any]], column: str, bound: str) -> float | None:
    """The judged ``bound`` (min/max) on the quantity of measurement column ``column``."""
    want = catalogue.by_column(column)
    for lim in limits.values():
        quantity = lim["quantity"]
        if isinstance(quantity, str) and catalogue.lookup(quantity) is want:
            if lim[bound] is not None:
                return lim[bound]
    return None


def lab_name_for(row, given: str | None) -> str:
    """The laboratory named with a component: the server's ``--lab-name`` when given, else
    the certificates' rule for the component's own run (:func:`lab_identity`)."""
    return given or lab_identity(getattr(row, "run_params", None))["name"]


def record(row, *, full: bool, lab_name: str | None) -> dict[str, Any]:
    """Full record of one component; ``full`` adds the raw-data-level detail;
    ``lab_name``: the server's given name, or None (see :func:`lab_name_for`)."""
    out = summary(row)
    rated = row.rated if isinstance(row.rated, dict) else {}
    unc = row_uncertainty(row)
    limits = judged_limits(row.verdicts)
    quantities = {}
    for name, _ in KEY_QUANTITIES:
        r = finite(rated.get(name))
        nominal = catalogue.by_column(name).nominal
        if r is None and nominal is not None:
            r = finite(getattr(row, nominal))
        entry = unc.get(catalogue.by_column(name).key)
        quantities[name] = {
            "measured": out["measured"][name],
            "U": finite(entry.get("U")) if isinstance(entry, dict) else None,
            "rated": r,
            "limit_min": _limit(limits, name, "min"),
            "limit_max": _limit(limits, name, "max"),
        }
    out.update(
        access="full" if full else "published",
        decoded=decoded_code(row.product_code),
        family_info={
            "name": row.family_name,
            "type_code": row.type_code,
            "manufacturer": row.manufacturer_name,
            "manufacturer_registry_id": row.manufacturer_registry_id,
            "level": row.level,
            "category": row.category,
            "input_class": row.input_class,
            "nominal_cct_k": row.nominal_cct_k,
            "cri_class": row.cri_class,
            "nominal_flux_lm": finite(row.nominal_flux_lm),
            "spec_version": row.spec_version,
        },
        quantities=quantities,
        judged_against={
            "plan_name": row.plan_name,
            "plan_version": row.plan_version,
            "spec_version": row.spec_version,
            "limits": limits,
        },
        lab={"name": lab_name_for(row, lab_name), "station": row.station},
        component_status=row.component_status,
    )
    if full:
        out["detail"] = {
            "rated": json_safe(rated),
            "quantities": json_safe(row.quantities or {}),
            "verdicts": json_safe(row.verdicts or {}),
            "failed_limits": json_safe(row.failed_limits or []),
            "error_message": row.error_message,
            "electrical": json_safe(row.electrical or {}),
            "temperatures": json_safe(row.temperatures or {}),
            # the column quantities not in ``measured`` (quantity catalogue)
            **{
                qty.column: finite(getattr(row, qty.column))
                if qty.kind == "number"
                else getattr(row, qty.column)
                for qty in catalogue.column_quantities(kind=None)
                if not qty.summary or qty.kind == "flag" or qty.column == "ansi_category"
            },
            "instruments": json_safe(row.instruments or {}),
            "uncertainty": json_safe(unc),
            "external_serial": row.external_serial,
            "run_uid": row.run_uid,
        }
    return out
