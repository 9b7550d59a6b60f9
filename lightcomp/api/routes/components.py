"""Routes of one component and of the component search (``/components``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightcomp.api import queries as q
from lightcomp.api.deps import TEXT, CodePath, PrincipalDep, SessionDep
from lightcomp.api.errors import ERRORS, HttpError
from lightcomp.api.formats import csv_bytes, format_from_accept, raw_csv_response, tm27_bytes
from lightcomp.api.keys import Principal
from lightcomp.api.records import canonical_code, lab_name_for, record, summary
from lightcomp.api.schemas import ComponentPage, ComponentRecord, ErrorMessage
from lightcomp.store import decode_array

router = APIRouter(tags=["components"])


def _visible_component(session: Session, principal: Principal, code: str, *, detail: bool):
    canon = canonical_code(code)
    row = q.component_row(session, canon, detail=detail)
    if row is None or not q.is_visible(principal, row.manufacturer_id, row.published_at):
        raise HttpError(404, "no such component (or not visible to this key)")
    return row


@router.get("/components/{code}", response_model=ComponentRecord, responses=ERRORS)
def get_component(
    code: CodePath, request: Request, principal: PrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """The record of one component: decoded code, family, rated beside measured
    values, verdict, plan/spec version, key quantities, publication status."""
    row = _visible_component(session, principal, code, detail=True)
    full = q.has_full_access(principal, row.manufacturer_id)
    return record(row, full=full, lab_name=request.app.state.lab_name)


@router.get(
    "/components/{code}/spectrum",
    responses={
        **ERRORS,
        403: {"model": ErrorMessage, "description": "no raw-data rights for this component"},
        200: {
            "content": {"text/csv": {}, "application/xml": {}},
            "description": "spectrum as CSV or IES TM-27 XML",
        },
    },
)
def get_spectrum(
    code: CodePath,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    format: Annotated[
        Literal["csv", "tm27"] | None,
        Query(description="csv or tm27; default from the Accept header, else csv"),
    ] = None,
    data: Annotated[
        Literal["calibrated", "raw"],
        Query(
            description="calibrated: spectral flux (W/nm) on the 1 nm grid; raw: the "
            "instrument's own reading and dark on its pixel wavelengths (CSV only)"
        ),
    ] = "calibrated",
) -> Response:
    """Calibrated spectral flux (W/nm) of the current measurement, or with
    ``data=raw`` the raw reading and dark signal on the instrument's own
    wavelengths; for the lab and the owning manufacturer."""
    accept = request.headers.get("accept", "")
    row = _visible_component(session, principal, code, detail=False)
    if not q.has_full_access(principal, row.manufacturer_id):
        raise HttpError(
            403, "spectra and raw data are for the lab and the component's manufacturer"
        )
    fmt = format or format_from_accept(accept)
    arrays = q.component_spectrum_row(session, row.component_id)
    if data == "raw":
        if format == "tm27":
            raise HttpError(422, "raw data are served as CSV only (format=csv)")
        return raw_csv_response(row, arrays)
    if arrays is None or arrays.wavelengths is None or arrays.spectrum is None:
        raise HttpError(404, "no spectrum stored for this component")
    wl = decode_array(arrays.wavelengths)
    spd = decode_array(arrays.spectrum)
    if fmt == "tm27":
        return Response(
            tm27_bytes(row, wl, spd, lab_name_for(row, request.app.state.lab_name)),
            media_type="application/xml",
        )
    cols = {"wavelength_nm": wl, "spectral_flux_w_per_nm": spd}
    for name, blob in (
        ("raw_counts", arrays.raw_spectrum),
        ("dark_counts", arrays.dark_spectrum),
    ):
        if blob is not None:
            a = decode_array(blob)
            if a.shape == wl.shape:
                cols[name] = a
    return Response(
        csv_bytes(cols),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{row.product_code}.csv"'},
    )


@router.get("/components", response_model=ComponentPage, responses=ERRORS)
def search_components(
    principal: PrincipalDep,
    session: SessionDep,
    manufacturer: Annotated[
        str | None, Query(pattern=TEXT, description="registry id or exact name")
    ] = None,
    family: Annotated[
        str | None, Query(pattern=TEXT, description="family name or type code")
    ] = None,
    level: Annotated[int | None, Query(ge=0, le=9)] = None,
    category: Annotated[str | None, Query(pattern=TEXT)] = None,
    input_class: Annotated[str | None, Query(pattern=TEXT)] = None,
    nominal_cct_k: Annotated[int | None, Query(ge=1000, le=100000)] = None,
    lot: Annotated[str | None, Query(pattern=TEXT)] = None,
    verdict: Annotated[Literal["pass", "fail", "error"] | None, Query()] = None,
    publication: Annotated[Literal["unpublished", "published", "withdrawn"] | None, Query()] = None,
    cct_min: Annotated[float | None, Query(ge=0, le=1e6, allow_inf_nan=False)] = None,
    cct_max: Annotated[float | None, Query(ge=0, le=1e6, allow_inf_nan=False)] = None,
    duv_min: Annotated[float | None, Query(ge=-1, le=1, allow_inf_nan=False)] = None,
    duv_max: Annotated[float | None, Query(ge=-1, le=1, allow_inf_nan=False)] = None,
    ra_min: Annotated[float | None, Query(ge=-1000, le=100, allow_inf_nan=False)] = None,
    ra_max: Annotated[float | None, Query(ge=-1000, le=100, allow_inf_nan=False)] = None,
    r9_min: Annotated[float | None, Query(ge=-1000, le=100, allow_inf_nan=False)] = None,
    rf_min: Annotated[float | None, Query(ge=0, le=100, allow_inf_nan=False)] = None,
    flux_min: Annotated[float | None, Query(ge=0, le=1e9, allow_inf_nan=False)] = None,
    flux_max: Annotated[float | None, Query(ge=0, le=1e9, allow_inf_nan=False)] = None,
    efficacy_min: Annotated[float | None, Query(ge=0, le=1000, allow_inf_nan=False)] = None,
    power_max: Annotated[float | None, Query(ge=0, le=1e6, allow_inf_nan=False)] = None,
    bandwidth_min: Annotated[
        float | None,
        Query(ge=0, le=1e6, allow_inf_nan=False, description="white -3 dB bandwidth, MHz"),
    ] = None,
    bandwidth_max: Annotated[
        float | None,
        Query(ge=0, le=1e6, allow_inf_nan=False, description="white -3 dB bandwidth, MHz"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=q.MAX_PAGE)] = q.DEFAULT_PAGE,
    cursor: Annotated[
        str | None, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")
    ] = None,
) -> dict[str, Any]:
    """Search visible components; keyset pagination by an opaque cursor
    (at most 200 per page). Withdrawn records are listed with their status."""
    for lo, hi, name in (
        (cct_min, cct_max, "cct"),
        (duv_min, duv_max, "duv"),
        (ra_min, ra_max, "ra"),
        (flux_min, flux_max, "flux"),
        (bandwidth_min, bandwidth_max, "bandwidth"),
    ):
        if lo is not None and hi is not None and lo > hi:
            raise HttpError(422, f"{name}_min ({lo}) is greater than {name}_max ({hi})")
    try:
        after = q.decode_cursor(cursor) if cursor else 0
    except q.CursorError as exc:
        raise HttpError(422, str(exc)) from exc
    filters = q.SearchFilters(
        manufacturer=manufacturer,
        family=family,
        level=level,
        category=category,
        input_class=input_class,
        nominal_cct_k=nominal_cct_k,
        lot=lot,
        verdict=verdict,
        publication=publication,
        cct_min=cct_min,
        cct_max=cct_max,
        duv_min=duv_min,
        duv_max=duv_max,
        ra_min=ra_min,
        ra_max=ra_max,
        r9_min=r9_min,
        rf_min=rf_min,
        flux_min=flux_min,
        flux_max=flux_max,
        efficacy_min=efficacy_min,
        power_max=power_max,
        bandwidth_min=bandwidth_min,
        bandwidth_max=bandwidth_max,
    )
    rows, next_id = q.search_rows(session, principal, filters, after_id=after, limit=limit)
    return {
        "items": [summary(r) for r in rows],
        "limit": limit,
        "next_cursor": q.encode_cursor(next_id) if next_id is not None else None,
    }
