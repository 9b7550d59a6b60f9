"""The record pages: search, component, lot, programme dashboard (and their figures/files).

Every page reads through the API's queries (:mod:`lightcomp.api.queries`) and
record builder (:mod:`lightcomp.api.records`) with the signed-in user's
:class:`~lightcomp.api.keys.Principal`, so what a user sees is exactly what an API
key of the same role sees: a member never an unpublished record (unknown and
invisible answer the same 404), a manufacturer its own components in full,
spectra and raw data for the lab and the owner only (403 otherwise).
Figures are the report's (:mod:`lightcomp.reports.plots`), rendered on first
request and cached per measurement.
"""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import fields as dc_fields
from functools import cache
from typing import Any
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightcomp.api import queries as q
from lightcomp.api.portal import queries as pq
from lightcomp.api.portal.i18n import _
from lightcomp.api.portal.web import Ctx, Page, Portal, PortalError
from lightcomp.api.publication import publication_status
from lightcomp.api.records import canonical_code, lab_name_for, lot_yield, printed_code, record, utc
from lightcomp.errors import CodeError, LightcompError
from lightcomp.store import decode_array

VERDICTS = ("pass", "fail", "error")
PUBLICATIONS = ("unpublished", "published", "withdrawn")
PAGE_SIZES = (25, 50, 100, 200)
FIGURES = ("spectrum",)

# Search form: field -> (SearchFilters name, low bound, high bound) for numbers.
NUMBER_FIELDS: dict[str, tuple[float, float]] = {
    "cct_min": (0, 1e6),
    "cct_max": (0, 1e6),
    "ra_min": (-1000, 100),
    "ra_max": (-1000, 100),
    "r9_min": (-1000, 100),
    "flux_min": (0, 1e9),
    "flux_max": (0, 1e9),
    "efficacy_min": (0, 1000),
}
TEXT_FIELDS = ("manufacturer", "family", "lot")


@cache
def ansi_categories() -> tuple[str, ...]:
    """Nominal CCTs of the ANSI C78.377 quadrangles, as stored in ``ansi_category``."""
    from lightcomp.analysis.binning import ansi_quadrangles

    return tuple(str(k) for k in sorted(ansi_quadrangles()))


def _clean_text(v: str) -> str | None:
    v = v.strip()
    if not v:
        return None
    if len(v) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in v):
        raise ValueError
    return v


def parse_search(params: dict[str, str]) -> tuple[q.SearchFilters, dict[str, str], list[str]]:
    """Search filters from the form (bad fields are reported and ignored)."""
    values: dict[str, Any] = {}
    shown: dict[str, str] = {}
    errors: list[str] = []
    for name in TEXT_FIELDS:
        raw = params.get(name, "")
        shown[name] = raw[:200]
        try:
            values[name] = _clean_text(raw)
        except ValueError:
            errors.append(_("%(field)s: not a valid text", field=name))
    for name, (lo, hi) in NUMBER_FIELDS.items():
        raw = params.get(name, "").strip()
        shown[name] = raw[:40]
        if not raw:
            continue
        try:
            v = float(raw)
            if not math.isfinite(v) or not lo <= v <= hi:
                raise ValueError
            values[name] = v
        except ValueError:
            errors.append(
                _("%(field)s: give a number from %(lo)g to %(hi)g", field=name, lo=lo, hi=hi)
            )
    for lo_name, hi_name in (
        ("cct_min", "cct_max"),
        ("ra_min", "ra_max"),
        ("flux_min", "flux_max"),
    ):
        a, b = values.get(lo_name), values.get(hi_name)
        if a is not None and b is not None and a > b:
            errors.append(_("%(lo)s is greater than %(hi)s", lo=lo_name, hi=hi_name))
            values.pop(lo_name), values.pop(hi_name)
    for name, allowed, conv in (
        ("level", ("0", "1"), int),
        ("nominal_cct_k", ansi_categories(), int),
    ):
        raw = params.get(name, "")
        shown[name] = raw if raw in allowed else ""
        if raw in allowed:
            values[name] = conv(raw)
        elif raw:
            errors.append(_("%(field)s: not one of the choices", field=name))
    for name, allowed in (
        ("verdict", VERDICTS),
        ("publication", PUBLICATIONS),
        ("ansi_category", ansi_categories()),
    ):
        raw = params.get(name, "")
        shown[name] = raw if raw in allowed else ""
        if raw in allowed:
            values[name] = raw
        elif raw:
            errors.append(_("%(field)s: not one of the choices", field=name))
    known = {f.name for f in dc_fields(q.SearchFilters)}
    return q.SearchFilters(**{k: v for k, v in values.items() if k in known}), shown, errors


def result_rows(rows) -> list[dict[str, str | None]]:
    """Search hits formatted for the table (done here, not in the template: 5x faster)."""
    from urllib.parse import quote

    from lightcomp.api.portal.formats import num, when

    out = []
    for r in rows:
        pub = publication_status(r.published_at, r.withdrawn_at)
        verdict = r.verdict if r.verdict in VERDICTS else None
        out.append(
            {
                "code": printed_code(r.product_code),
                "maker": r.manufacturer_name,
                "family": r.family_name,
                "lot": r.lot_name,
                "lot_href": quote(r.lot_name, safe="") if r.lot_name else None,
                "verdict": verdict,
                "verdict_text": _(verdict) if verdict else "–",
                "pub": pub,
                "pub_text": _(pub),
                "flux": num(r.luminous_flux_lm, "luminous_flux_lm"),
                "efficacy": num(r.efficacy_lmw, "efficacy_lmw"),
                "cct": num(r.cct_k, "cct_k"),
                "ra": num(r.ra, "ra"),
                "r9": num(r.r9, "r9"),
                "tested": when(r.measured_at),
            }
        )
    return out


def _canonical(code: str) -> str:
    """The store form of a typed code; a 404 page naming what is wrong with a malformed one."""
    try:
        return canonical_code(code)
    except CodeError as exc:
        raise PortalError(404, _("Malformed product code: %(reason)s", reason=str(exc))) from exc


def visible_component(ctx: Ctx, session: Session, code: str, *, detail: bool = True):
    """The component row when the user may see it (the API's rule); 404 page otherwise."""
    row = q.component_row(session, _canonical(code), detail=detail)
    p = ctx.principal
    if row is None or not q.is_visible(p, row.manufacturer_id, row.published_at):
        raise PortalError(404, _("No such component, or it is not visible to you."))
    return row


def full_spectrum(ctx: Ctx, session: Session, row) -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths (nm) and spectral flux (W/nm) of the row's current measurement, for the
    lab and the component's manufacturer only (the API's rule: 403 page otherwise; 404
    page when none is stored)."""
    if not q.has_full_access(ctx.principal, row.manufacturer_id):
        raise PortalError(
            403, _("Spectra are for the laboratory and the component's manufacturer.")
        )
    arrays = q.component_spectrum_row(session, row.component_id)
    if arrays is None or arrays.spectrum is None or arrays.wavelengths is None:
        raise PortalError(404, _("No spectrum stored for this component."))
    return decode_array(arrays.wavelengths), decode_array(arrays.spectrum)


def _uncertainty(stored: dict, name: str) -> str | None:
    """The text of quantity ``name``'s U in ``stored`` (:func:`q.row_uncertainty`, read
    once per page: a re-analysis' U are carried on reading)."""
    from lightcomp.quantities import lookup
    from lightcomp.reports.certificate import _fmt_u, _uncertainty

    # by every name of the quantity: U are stored under the core's keys (luminous_flux,
    # CCT, Ra), the results table shows columns (luminous_flux_lm, cct_k, ra)
    q = lookup(name)
    u = _uncertainty({"uncertainty": stored}, name, (q.key, *q.names) if q else ())
    if u is None:
        return None
    return f"{_fmt_u(u[0])} (k = {u[1]:g})"


def register(router: APIRouter, portal: Portal) -> None:
    """Add the record pages to ``router``."""

    # -- search ------------------------------------------------------------------------------
    @router.get("/portal/search", include_in_schema=False)
    async def search(request: Request) -> Response:
        params = dict(request.query_params)

        def view(ctx: Ctx, session: Session):
            code = params.get("code", "").strip()
            if code:
                return portal.redirect(ctx, f"/portal/components/{printed_code(_canonical(code))}")
            filters, shown, errors = parse_search(params)
            try:
                limit = int(params.get("limit", q.DEFAULT_PAGE))
            except ValueError:
                limit = q.DEFAULT_PAGE
            limit = limit if limit in PAGE_SIZES else q.DEFAULT_PAGE
            after = 0
            cursor = params.get("cursor", "")
            if cursor:
                try:
                    after = q.decode_cursor(cursor[:200])
                except q.CursorError:
                    errors.append(_("That page link is no longer valid: back to the first page."))
            rows, next_id = q.search_rows(
                session, ctx.principal, filters, after_id=after, limit=limit
            )
            keep = {k: v for k, v in shown.items() if v}
            if limit != q.DEFAULT_PAGE:
                keep["limit"] = str(limit)
            next_url = (
                "/portal/search?" + urlencode({**keep, "cursor": q.encode_cursor(next_id)})
                if next_id is not None
                else None
            )
            first_url = "/portal/search?" + urlencode(keep) if after else None
            return Page(
                "search.html",
                {
                    "rows": result_rows(rows),
                    "form": shown,
                    "errors": errors,
                    "limit": limit,
                    "page_sizes": PAGE_SIZES,
                    "next_url": next_url,
                    "first_url": first_url,
                    "searched": bool(keep) or bool(cursor),
                    "verdicts": VERDICTS,
                    "publications": PUBLICATIONS,
                    "ansi": ansi_categories(),
                    "makers": portal.cached_for(
                        60.0, "makers", lambda: pq.manufacturer_names(session)
                    ),
                },
            )

        return await portal.page(request, view)

    # -- component ---------------------------------------------------------------------------
    @router.get("/portal/components/{code}", include_in_schema=False)
    async def component(request: Request, code: str) -> Response:
        def view(ctx: Ctx, session: Session):
            row = visible_component(ctx, session, code)
            full = q.has_full_access(ctx.principal, row.manufacturer_id)
            rec = record(row, full=full, lab_name=portal.lab_name)
            unc = q.row_uncertainty(row)
            quantities = [
                {
                    "name": name,
                    **rec["quantities"][name],
                    "uncertainty": _uncertainty(unc, name),
                }
                for name, _col in q.KEY_QUANTITIES
            ]
            key_names = {n for n, _c in q.KEY_QUANTITIES}
            others = []
            verdicts = []
            if full:
                from lightcomp.quantities import lookup

                for name, v in sorted((rec["detail"]["quantities"] or {}).items()):
                    known = lookup(name)
                    if name in key_names or (known is not None and known.column in key_names):
                        continue  # already in the key-quantity table
                    if not isinstance(v, dict | list):
                        others.append(
                            {"name": name, "value": v, "uncertainty": _uncertainty(unc, name)}
                        )
                for name, v in (rec["detail"]["verdicts"] or {}).items():
                    if isinstance(v, dict):
                        verdicts.append(
                            {
                                "name": name,
                                "quantity": v.get("quantity") or name,
                                "value": v.get("value"),
                                "min": v.get("min"),
                                "max": v.get("max"),
                                "pass": v.get("pass"),
                            }
                        )
            cert = pq.current_certificate(session, row.component_id, row.measurement_id)
            decoded = [
                (k, v) for k, v in (rec["decoded"] or {}).items() if k not in ("code", "printed")
            ]
            return Page(
                "component.html",
                {
                    "rec": rec,
                    "full": full,
                    "quantities": quantities,
                    "others": others,
                    "verdicts": verdicts,
                    "decoded": decoded,
                    "cert": cert,
                    "base": f"/portal/components/{rec['code']}",
                    "has_xy": rec["measured"]["x"] is not None and rec["measured"]["y"] is not None,
                },
            )

        return await portal.page(request, view)

    @router.get("/portal/components/{code}/{figure}.png", include_in_schema=False)
    async def component_figure(request: Request, code: str, figure: str) -> Response:
        def view(ctx: Ctx, session: Session):
            if figure not in FIGURES:
                raise PortalError(404, _("No such figure."))
            row = visible_component(ctx, session, code, detail=False)
            wl, spd = full_spectrum(ctx, session, row)  # FIGURES: the spectrum only
            from lightcomp.reports import plots

            png = portal.cached(
                ("spectrum", row.measurement_id), lambda: plots.spectrum_png(wl, spd)
            )
            return Response(png, media_type="image/png", headers={"Cache-Control": "private"})

        return await portal.page(request, view)

    @router.get("/portal/components/{code}/{figure}.svg", include_in_schema=False)
    async def component_chromaticity(request: Request, code: str, figure: str) -> Response:
        def view(ctx: Ctx, session: Session):
            if figure not in ("chromaticity-xy", "chromaticity-uv"):
                raise PortalError(404, _("No such figure."))
            row = visible_component(ctx, session, code, detail=True)
            if row.x is None or row.y is None:
                raise PortalError(404, _("No chromaticity stored for this component."))
            from lightcomp.api.portal.figures import chromaticity_svg

            space = "uv" if figure.endswith("uv") else "xy"
            name = "CIE 1976 u'v'" if space == "uv" else "CIE 1931 x, y"
            svg = portal.cached(
                (figure, row.measurement_id),
                lambda: chromaticity_svg(
                    row.x, row.y, space=space, category=row.ansi_category,
                    title=f"{printed_code(row.product_code)}: {name}, ANSI C78.377 quadrangles",
                ),
            )  # fmt: skip
            return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private"})

        return await portal.page(request, view)

    @router.get("/portal/components/{code}/spectrum.{fmt}", include_in_schema=False)
    async def component_spectrum(request: Request, code: str, fmt: str) -> Response:
        def view(ctx: Ctx, session: Session):
            if fmt not in ("csv", "xml"):
                raise PortalError(404, _("No such file."))
            row = visible_component(ctx, session, code, detail=False)
            wl, spd = full_spectrum(ctx, session, row)
            from lightcomp.api.formats import csv_bytes, tm27_bytes

            name = printed_code(row.product_code)
            if fmt == "xml":
                body = tm27_bytes(row, wl, spd, lab_name_for(row, portal.lab_name))
                media = "application/xml"
            else:
                body = csv_bytes({"wavelength_nm": wl, "spectral_flux_w_per_nm": spd})
                media = "text/csv"
            return Response(
                body,
                media_type=media,
                headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
            )

        return await portal.page(request, view)

    @router.get("/portal/components/{code}/certificate.pdf", include_in_schema=False)
    async def component_certificate(request: Request, code: str) -> Response:
        def view(ctx: Ctx, session: Session):
            row = visible_component(ctx, session, code, detail=False)
            cert = pq.current_certificate(session, row.component_id, row.measurement_id)
            if cert is None or (cert.format or "pdf") != "pdf":
                raise PortalError(404, _("No certificate has been issued on this measurement."))
            pdf = portal.cached(
                ("certificate", cert.id), lambda: _rebuild_certificate(session, row, cert)
            )
            if pdf is None:
                raise PortalError(
                    409,
                    _("The certificate %(id)s cannot be reproduced from the stored data; ask the laboratory.", id=cert.report_id),
                )  # fmt: skip
            return Response(
                pdf,
                media_type="application/pdf",
                headers={"Content-Disposition": f'attachment; filename="{cert.report_id}.pdf"'},
            )

        return await portal.page(request, view)

    # -- lot -----------------------------------------------------------------------------------
    @router.get("/portal/lots/{lot}", include_in_schema=False)
    async def lot_page(request: Request, lot: str) -> Response:
        def view(ctx: Ctx, session: Session):
            if len(lot) > 64:
                raise PortalError(404, _("No such lot, or it is not visible to you."))
            from lightcomp.store.queries import lot_verdict_counts

            row = q.lot_row(session, lot)
            if row is None or not q.lot_visible(session, ctx.principal, row):
                raise PortalError(404, _("No such lot, or it is not visible to you."))
            yields = lot_yield(row, lot_verdict_counts(session, row.id))
            stamp = pq.lot_measurement_stamp(session, row.id)
            doc, report_error = None, None
            if stamp[0]:
                try:
                    doc = portal.cached(("lot", row.id, stamp), lambda: _lot_document(session, lot))
                except LightcompError as exc:
                    report_error = str(exc)
            return Page(
                "lot.html",
                {
                    **yields,
                    "lot": row,
                    "doc": doc,
                    "report_error": report_error,
                },
            )

        return await portal.page(request, view)

    # -- programme -----------------------------------------------------------------------------
    @router.get("/portal/", include_in_schema=False)
    async def programme(request: Request) -> Response:
        def view(ctx: Ctx, session: Session):
            fams = pq.family_yields(session, ctx.principal)
            reached = sum(1 for f in fams if f["verdict"] == "target met")
            return Page(
                "programme.html",
                {
                    "families": fams,
                    "reached": reached,
                    "goal": pq.PROGRAMME_GOAL_MODELS,
                    "target": pq.PROGRAMME_TARGET,
                },
            )

        return await portal.page(request, view)


def _lot_document(session: Session, lot: str) -> dict[str, Any]:
    """The lot report's blocks, with figures as inline PNG data (the report's own figures)."""
    from lightcomp.reports.document import Figure
    from lightcomp.reports.lot_report import build_lot_report

    doc = build_lot_report(session, lot=lot)
    blocks = []
    for b in doc.blocks:
        kind = type(b).__name__
        if isinstance(b, Figure):
            data = "data:image/png;base64," + base64.b64encode(b.png).decode()
            blocks.append({"kind": kind, "src": data, "caption": b.caption})
        else:
            blocks.append({"kind": kind, "block": b})
    return {"title": doc.title, "subtitle": doc.subtitle, "blocks": blocks}


def _rebuild_certificate(session: Session, row, cert) -> bytes | None:
    """The issued certificate's PDF, rebuilt from the stored record with its recorded id, date
    and signatory; None unless it hashes to the recorded ``content_sha256`` (the PDF is
    rendered with ReportLab's invariant mode, so the same data give the same bytes)."""
    from lightcomp.laboratory import lab_identity
    from lightcomp.reports.certificate import DECISION_RULES, build_certificate
    from lightcomp.reports.lot_report import render
    from lightcomp.store import queries as sq
    from lightcomp.store.models import Certificate

    rec = sq.component_record(session, row.product_code)
    if rec is None:
        return None
    spectrum = sq.component_spectrum(session, row.product_code)
    lab = lab_identity((rec.get("test_run") or {}).get("params"), None)
    replaces = session.get(Certificate, cert.replaces_id).report_id if cert.replaces_id else None
    issued = utc(cert.issued_at)
    for rule in DECISION_RULES:
        doc = build_certificate(
            rec,
            spectrum,
            report_id=cert.report_id,
            issued_at=issued,
            authorised_by=cert.authorised_by or "",
            lab=lab,
            decision_rule=rule,
            replaces=replaces,
            reason=cert.reason,
        )
        pdf = render(doc, "pdf")
        if cert.content_sha256 is None or hashlib.sha256(pdf).hexdigest() == cert.content_sha256:
            return pdf
    return None
