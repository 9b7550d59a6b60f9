"""Response schemas of the alliance query service (they make ``/openapi.json``).

Units are in the field names (SI, or lm, lm/W, K where customary). Dates are
ISO 8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from lightcomp import quantities as catalogue


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    version: str


class Publication(BaseModel):
    """Publication state of the component's lot (withdrawn records stay listed)."""

    status: Literal["unpublished", "published", "withdrawn"]
    published_at: datetime | None = None
    withdrawn_at: datetime | None = None
    withdraw_reason: str | None = None


Measured = create_model(
    "Measured",
    __doc__="Key quantities of the current measurement (None when not measured).",
    **{
        q.column: (float | None, Field(None, description=q.label()))
        for q in catalogue.column_quantities()
        if q.summary
    },
)


class ComponentSummary(BaseModel):
    """One search hit."""

    code: str = Field(description="printed product code")
    product_code: str = Field(description="canonical product code (store form)")
    manufacturer: str
    manufacturer_registry_id: str
    family: str
    level: int
    lot: str | None
    publication: Publication
    verdict: Literal["pass", "fail", "error"] | None
    tested_at: datetime | None
    analysis_version: str | None = Field(
        None, description="Analysis version (method set) of the values (docs/reanalysis.md)."
    )
    photometric_code: str | None
    measured: Measured


class QuantityComparison(BaseModel):
    """Nominal (rated) value from the registry, the limits of the test plan the component
    was judged against (``judged_against``) and the expanded uncertainty (k = 2, same unit,
    GUM S1 Monte Carlo; None when not evaluated) beside the measured value."""

    measured: float | None = None
    U: float | None = None
    rated: float | None = None
    limit_min: float | None = None
    limit_max: float | None = None


class FamilyInfo(BaseModel):
    name: str
    type_code: str | None
    manufacturer: str
    manufacturer_registry_id: str
    level: int
    category: str
    input_class: str
    nominal_cct_k: int | None
    cri_class: int | None
    nominal_flux_lm: float | None
    spec_version: str | None


class JudgedLimit(BaseModel):
    """One limit of the plan, as stored with the measurement it judged."""

    label: str = Field(description="what people read (quantity catalogue)")
    quantity: str | None = Field(description="quantity key (quantity catalogue)")
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    expected: str | None = Field(default=None, description="ANSI quadrangle (nominal CCT)")
    pass_: bool | None = Field(default=None, alias="pass", description="the limit held")


class JudgedAgainst(BaseModel):
    """The plan (name, version) and spec version the verdict was reached with, and the
    plan's limits as stored with the measurement (not the registry's rated values)."""

    plan_name: str | None
    plan_version: str | None
    spec_version: str | None
    limits: dict[str, JudgedLimit] = Field(default_factory=dict)


class Lab(BaseModel):
    name: str
    station: str | None


class ComponentRecord(ComponentSummary):
    """The record of one component as the caller may see it."""

    access: Literal["full", "published"] = Field(
        description="'full' for the lab and the owning manufacturer; 'published' otherwise"
    )
    decoded: dict[str, Any] | None = Field(description="fields of the product code, by name")
    family_info: FamilyInfo
    quantities: dict[str, QuantityComparison]
    judged_against: JudgedAgainst
    lab: Lab
    component_status: str
    detail: dict[str, Any] | None = Field(
        default=None,
        description="full-access extras: all quantities, per-limit verdicts, "
        "electrical readings, temperatures, instruments, uncertainty",
    )


class ComponentPage(BaseModel):
    items: list[ComponentSummary]
    limit: int
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


class LotYield(BaseModel):
    lot: str
    publication: Publication
    counts: dict[str, int]
    summary: dict[str, Any] = Field(
        description="yield summary of the analysis core "
        "(lightcomp.analysis.yield_stats.yield_summary)"
    )


class ErrorMessage(BaseModel):
    detail: Any
