"""The API's hot read queries: code look-up, search with keyset pagination, lot look-up.

Every query is a SQLAlchemy expression (no SQL assembled from strings) that
selects plain columns -- never the spectra BLOBs unless asked -- so a look-up is
one indexed round trip:

- code look-up: unique index on ``components.product_code``, then the current
  measurement through ``ix_measurements_component_current``;
- search: keyset on ``components.id`` (``id > cursor ORDER BY id LIMIT n+1``),
  filters as ``WHERE`` terms, visibility as one more term.

Visibility (:func:`visible_clause`): the lab sees everything; a manufacturer its
own components plus published ones; a member published ones only. A lot counts
as published from ``lots.published_at`` on, withdrawn or not.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, true, union_all
from sqlalchemy.orm import Session

from lightcomp import quantities as catalogue
from lightcomp.api.keys import Principal
from lightcomp.store.models import (
    ArraySource,
    CarrySource,
    Component,
    Family,
    Lot,
    Manufacturer,
    Measurement,
    TestRun,
    array_source_on,
    carry_source_on,
    current_join,
    current_measurement_clause,
    current_measurement_id,
    uncertainty_columns,
)

MAX_PAGE = 200
DEFAULT_PAGE = 50

# Key quantities: (response name, column), from the quantity catalogue. The response
# name is the store column (unit in the name: lm, lm/W, K, V, A, W).
KEY_QUANTITIES: tuple[tuple[str, Any], ...] = tuple(
    (qty.column, getattr(Measurement, qty.column))
    for qty in catalogue.column_quantities()
    if qty.summary
)

_RECORD_COLUMNS = (
    Component.id.label("component_id"),
    Component.product_code,
    Component.status.label("component_status"),
    Component.photometric_code.label("component_photometric_code"),
    Component.family_id,
    Family.name.label("family_name"),
    Family.type_code,
    Family.level,
    Family.category,
    Family.input_class,
    Family.nominal_cct_k,
    Family.cri_class,
    Family.nominal_flux_lm,
    Family.spec_version,
    Family.manufacturer_id,
    Manufacturer.name.label("manufacturer_name"),
    Manufacturer.registry_id.label("manufacturer_registry_id"),
    Lot.name.label("lot_name"),
    Lot.published_at,
    Lot.withdrawn_at,
    Lot.withdraw_reason,
    Measurement.id.label("measurement_id"),
    Measurement.verdict,
    Measurement.measured_at,
    Measurement.analysis_version,
    Measurement.photometric_code,
    *(col.label(name) for name, col in KEY_QUANTITIES),
    TestRun.station,
    TestRun.plan_name,
    TestRun.plan_version,
)


def _record_select(*extra: Any, ids: Any = None) -> Select:
    """Record columns of components; ``ids`` (a subquery with column ``id``) drives the join."""
    base = select(*_RECORD_COLUMNS, *extra)
    if ids is None:
        base = base.select_from(Component)
    else:
        base = base.select_from(ids).join(Component, Component.id == ids.c.id)
    base = (
        base.join(Family, Component.family_id == Family.id)
        .join(Manufacturer, Family.manufacturer_id == Manufacturer.id)
        .outerjoin(Lot, Component.lot_id == Lot.id)
    )
    return current_join(base, outer=True).outerjoin(TestRun, Measurement.test_run_id == TestRun.id)


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the component row (joined with family and lot) is visible."""
    if principal.role == "lab":
        return true()
    published = Lot.published_at.is_not(None)
    if principal.role == "manufacturer":
        return or_(Family.manufacturer_id == principal.manufacturer_id, published)
    return published


def has_full_access(principal: Principal, manufacturer_id: int | None) -> bool:
    """Full record, spectra and raw data: the lab, or the owning manufacturer."""
    if principal.role == "lab":
        return True
    return principal.role == "manufacturer" and principal.manufacturer_id == manufacturer_id


def is_visible(principal: Principal, manufacturer_id: int | None, published_at: Any) -> bool:
    """Python twin of :func:`visible_clause` for one fetched row."""
    return has_full_access(principal, manufacturer_id) or published_at is not None


def component_row(session: Session, product_code: str, *, detail: bool = False):
    """The record row of the component with canonical ``product_code``, or None.

    Always: the family's rated values, the measurement's per-limit verdicts (the
    plan's limits it was judged against, with their values) and its uncertainty.
    With ``detail`` the measurement's other JSON columns come along
    (``quantities``, ``failed_limits``, ``electrical``, ``temperatures``,
    ``instruments``, ``external_serial``, ``run_uid``).
    """
    extra: tuple = (
        Family.rated,
        Measurement.verdicts,
        *uncertainty_columns(),  # read through row_uncertainty
        TestRun.params.label("run_params"),  # the laboratory's name, as the certificate
    )
    if detail:
        extra += (
            Measurement.quantities,
            Measurement.failed_limits,
            Measurement.electrical,
            Measurement.temperatures,
            Measurement.instruments,
            Measurement.error_message,
            Measurement.tc_c,
            Measurement.ambient_c,
            Measurement.sdcm_steps,
            Measurement.ansi_category,
            Measurement.ansi_inside,
            Component.external_serial,
            TestRun.run_uid,
        )
    stmt = (
        _record_select(*extra)
        .outerjoin(CarrySource, carry_source_on())
        .where(Component.product_code == product_code)
    )
    return session.execute(stmt).first()


def row_uncertainty(row) -> dict:
    """The U of a :func:`component_row` row's measurement, a re-analysis' carried from
    the measurement whose Monte Carlo gave them
    (:func:`lightcomp.uncertainty.station.stored_uncertainty`)."""
    from lightcomp.uncertainty.station import stored_uncertainty

    def d(v):
        return v if isinstance(v, dict) else None

    return stored_uncertainty(
        d(row.uncertainty), d(row.u_quantities), d(row.source_uncertainty), d(row.source_quantities)
    )


def component_spectrum_row(session: Session, component_id: int):
    """Arrays of the current measurement of one component (or None), with the plan of its
    run (``plan``: why a raw reading may have no dark) and its ``instruments``; a
    re-analysed row serves the arrays of the stored measurement it links
    (``ArraySource``)."""
    return session.execute(
        select(
            Measurement.id,
            ArraySource.wavelengths,
            ArraySource.spectrum,
            ArraySource.raw_spectrum,
            ArraySource.dark_spectrum,
            Measurement.measured_at,
            Measurement.instruments,
            TestRun.plan,
        )
        .join(ArraySource, array_source_on())
        .outerjoin(TestRun, Measurement.test_run_id == TestRun.id)
        .where(Measurement.id == current_measurement_id(component_id))
    ).first()


# -- search ------------------------------------------------------------------


class CursorError(ValueError):
    """A pagination cursor that this server did not issue."""


def encode_cursor(after_id: int) -> str:
    """Opaque cursor continuing after component id ``after_id``."""
    raw = json.dumps({"v": 1, "after": after_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    """The component id a cursor continues after; :class:`CursorError` if invalid."""
    try:
        pad = "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(cursor + pad))
        after = data["after"]
        if data.get("v") != 1 or not isinstance(after, int) or isinstance(after, bool):
            raise TypeError
        if not 0 <= after < 2**31:  # components.id is a 32-bit INTEGER
            raise TypeError
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CursorError("invalid cursor: use the next_cursor of a previous page") from exc
    return after


@dataclass(frozen=True)
class SearchFilters:
    """Validated search filters (None = not filtered). Units in the names."""

    manufacturer: str | None = None
    family: str | None = None
    level: int | None = None
    category: str | None = None
    input_class: str | None = None
    nominal_cct_k: int | None = None
    lot: str | None = None
    verdict: str | None = None
    publication: str | None = None
    cct_min: float | None = None
    cct_max: float | None = None
    duv_min: float | None = None
    duv_max: float | None = None
    ra_min: float | None = None
    ra_max: float | None = None
    r9_min: float | None = None
    rf_min: float | None = None
    flux_min: float | None = None
    flux_max: float | None = None
    efficacy_min: float | None = None
    power_max: float | None = None
    bandwidth_min: float | None = None  # MHz, white modulation bandwidth (VLC)
    bandwidth_max: float | None = None
    ansi_category: str | None = None  # measured ANSI C78.377 quadrangle (nominal CCT, e.g. "3000")


#: Measured-quantity filters of :class:`SearchFilters`: (field, quantity, side); a field
#: ``<plan name>_min`` / ``_max`` filters the quantity's column (quantity catalogue).
_QUANTITY_FILTERS: tuple[tuple[str, catalogue.Quantity, str], ...] = tuple(
    (fld.name, catalogue.by_plan_name(fld.name[:-4]), fld.name[-3:])
    for fld in dataclasses.fields(SearchFilters)
    if fld.name.endswith(("_min", "_max")) and catalogue.by_plan_name(fld.name[:-4]) is not None
)


def _family_terms(f: SearchFilters) -> list[ColumnElement[bool]]:
    """Filters on the family (and its manufacturer): resolved to family ids first."""
    t: list[ColumnElement[bool]] = []
    if f.manufacturer is not None:
        t.append(
            or_(Manufacturer.registry_id == f.manufacturer, Manufacturer.name == f.manufacturer)
        )
    if f.family is not None:
        t.append(or_(Family.name == f.family, Family.type_code == f.family))
    for value, col in (
        (f.level, Family.level),
        (f.category, Family.category),
        (f.input_class, Family.input_class),
        (f.nominal_cct_k, Family.nominal_cct_k),
    ):
        if value is not None:
            t.append(col == value)
    return t


def _row_terms(f: SearchFilters) -> list[ColumnElement[bool]]:
    """Filters on the component's lot and current measurement."""
    t: list[ColumnElement[bool]] = []
    if f.lot is not None:
        t.append(Lot.name == f.lot)
    if f.verdict is not None:
        t.append(Measurement.verdict == f.verdict)
    if f.ansi_category is not None:
        t.append(Measurement.ansi_category == f.ansi_category)
    if f.publication == "unpublished":
        t.append(Lot.published_at.is_(None))
    elif f.publication == "published":
        t.append(and_(Lot.published_at.is_not(None), Lot.withdrawn_at.is_(None)))
    elif f.publication == "withdrawn":
        t.append(Lot.withdrawn_at.is_not(None))
    for name, qty, side in _QUANTITY_FILTERS:
        value = getattr(f, name)
        if value is not None:
            col = getattr(Measurement, qty.column)
            t.append(col >= value if side == "min" else col <= value)
    return t


# Up to this many matching families, a page is the merge of one keyset scan per
# family over ix_components_family_id_id (each stops after limit+1 rows); with
# more families matching, they are dense enough for one scan in id order.
FAMILY_FANOUT = 32


def _uses_measurement(f: SearchFilters) -> bool:
    """True for a measured-CCT window, the filter the (family_id, cct_k) index serves.

    Only then is the copied family id worth matching: for unselective filters (a
    verdict, R9 above a floor) scanning the family's components in id order and
    stopping at the page size is faster.
    """
    return f.cct_min is not None or f.cct_max is not None


def _families_in_cct_window(session: Session, fam_ids: list[int], f: SearchFilters) -> list[int]:
    """The families of ``fam_ids`` with a current measurement in the filter's CCT window."""
    window = [Measurement.family_id == Family.id, current_measurement_clause()]
    if f.cct_min is not None:
        window.append(Measurement.cct_k >= f.cct_min)
    if f.cct_max is not None:
        window.append(Measurement.cct_k <= f.cct_max)
    return list(
        session.scalars(
            select(Family.id)
            .where(Family.id.in_(fam_ids), exists(select(1).where(*window)))
            .order_by(Family.id)
        )
    )


def _id_select(principal: Principal, row_terms: list, after_id: int) -> Select:
    base = (
        select(Component.id)
        .select_from(Component)
        .join(Family, Component.family_id == Family.id)
        .outerjoin(Lot, Component.lot_id == Lot.id)
    )
    return current_join(base, outer=True).where(
        Component.id > after_id, visible_clause(principal), *row_terms
    )


def search_rows(
    session: Session,
    principal: Principal,
    filters: SearchFilters,
    *,
    after_id: int = 0,
    limit: int = DEFAULT_PAGE,
) -> tuple[list, int | None]:
    """One page of visible components matching ``filters``, ids ascending.

    Returns ``(rows, next_after_id)``; ``next_after_id`` is None on the last page.
    Family-level filters (manufacturer, family, level, category, input class,
    nominal CCT) are resolved to family ids with one small query first, so a
    selective family filter never scans other families' components.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1..{MAX_PAGE}, got {limit}")
    fam_terms = _family_terms(filters)
    row_terms = _row_terms(filters)
    fam_ids: list[int] | None = None
    if fam_terms:
        fam_ids = list(
            session.scalars(
                select(Family.id)
                .join(Manufacturer, Family.manufacturer_id == Manufacturer.id)
                .where(*fam_terms)
                .order_by(Family.id)
            )
        )
        if not fam_ids:
            return [], None
    if fam_ids is not None and len(fam_ids) <= FAMILY_FANOUT:
        if _uses_measurement(filters):
            # Keep only families with any current measurement in the CCT window: one
            # (family_id, cct_k) index probe each, so families that cannot match are not
            # scanned; the matching ones are then read in id order up to the page size.
            fam_ids = _families_in_cct_window(session, fam_ids, filters)
            if not fam_ids:
                return [], None
        per_family = [
            _id_select(principal, row_terms, after_id)
            .where(Component.family_id == fid)
            .order_by(Component.id)
            .limit(limit + 1)
            .subquery()
            for fid in fam_ids
        ]
        if len(per_family) == 1:
            ids = per_family[0]
        else:
            ids = union_all(*(select(sq.c.id) for sq in per_family)).subquery()
        stmt = _record_select(ids=ids)
    else:
        terms = [Component.id > after_id, visible_clause(principal), *row_terms]
        if fam_ids is not None:
            terms.append(Component.family_id.in_(fam_ids))
        stmt = _record_select().where(*terms)
    rows = session.execute(stmt.order_by(Component.id).limit(limit + 1)).all()
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, rows[-1].component_id
    return rows, None


# -- lots --------------------------------------------------------------------


def lot_row(session: Session, name: str):
    """The lot named ``name`` with its family's manufacturer id, or None."""
    return session.execute(
        select(
            Lot.id,
            Lot.name,
            Lot.published_at,
            Lot.withdrawn_at,
            Lot.withdraw_reason,
            Family.manufacturer_id,
        )
        .select_from(Lot)
        .outerjoin(Family, Lot.family_id == Family.id)
        .where(Lot.name == name)
    ).first()


def lot_owned_by(session: Session, lot_id: int, manufacturer_id: int | None) -> bool:
    """True when any component of the lot belongs to ``manufacturer_id``."""
    if manufacturer_id is None:
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    Component.lot_id == lot_id,
                    Component.family_id == Family.id,
                    Family.manufacturer_id == manufacturer_id,
                )
            )
        )
    )


def lot_visible(session: Session, principal: Principal, row) -> bool:
    """Whether ``principal`` may see the lot ``row`` (of :func:`lot_row`): the lab and any
    published lot always; a manufacturer its own lots (by the family's maker, else by any
    component of the lot being its own)."""
    if principal.role == "lab" or row.published_at is not None:
        return True
    if principal.role != "manufacturer":
        return False
    if row.manufacturer_id is not None:
        return row.manufacturer_id == principal.manufacturer_id
    return lot_owned_by(session, row.id, principal.manufacturer_id)
