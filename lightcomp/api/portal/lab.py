"""The lab's page (lots in progress, publish / withdraw, users, keys) and each user's account
page (their own API keys).

Publication and withdrawal go through :mod:`lightcomp.api.publication` (the same
functions as ``lightcomp publish``), accounts through
:mod:`lightcomp.api.portal.accounts` (the same as ``lightcomp user``), keys through
:mod:`lightcomp.api.keys`; every change is audited with the signed-in user's e-mail.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightcomp.api.keys import ROLES, list_api_keys
from lightcomp.api.portal import accounts
from lightcomp.api.portal import queries as pq
from lightcomp.api.portal.i18n import _
from lightcomp.api.portal.web import Ctx, Page, Portal, PortalError
from lightcomp.api.publication import publish_lot, withdraw_lot

LAB = ("lab",)


def register(router: APIRouter, portal: Portal) -> None:
    """Add /portal/lab and /portal/account with their forms to ``router``."""

    def lab_page(ctx: Ctx, session: Session) -> Page:
        return Page(
            "lab.html",
            {
                "in_progress": pq.lots_in_progress(session),
                "published": pq.published_lots(session),
                "users": accounts.list_users(session),
                "keys": list_api_keys(session),
                "roles": ROLES,
                "makers": pq.manufacturer_names(session),
            },
        )

    @router.get("/portal/lab", include_in_schema=False)
    async def lab(request: Request) -> Response:
        return await portal.page(request, lab_page, roles=LAB)

    async def lab_action(request: Request, work) -> Response:
        """A lab form's post (CSRF, lab role, one write transaction), back to the lab page."""
        return await portal.action(request, work, roles=LAB, back="/portal/lab")

    def done(ctx: Ctx, message: str) -> Response:
        """Back to the lab page, saying what was done."""
        return portal.redirect(ctx, "/portal/lab", [("info", message)])

    @router.post("/portal/lab/lots/{lot}/publish", include_in_schema=False)
    async def publish(request: Request, lot: str) -> Response:
        def work(ctx: Ctx, session: Session, form: dict) -> Response:
            publish_lot(session, lot, actor=ctx.user.email)
            return done(ctx, _("Lot %(lot)s published.", lot=lot))

        return await lab_action(request, work)

    @router.post("/portal/lab/lots/{lot}/withdraw", include_in_schema=False)
    async def withdraw(request: Request, lot: str) -> Response:
        def work(ctx: Ctx, session: Session, form: dict) -> Response:
            withdraw_lot(session, lot, form.get("reason", ""), actor=ctx.user.email)
            return done(ctx, _("Lot %(lot)s withdrawn.", lot=lot))

        return await lab_action(request, work)

    @router.post("/portal/lab/users", include_in_schema=False)
    async def add_user(request: Request) -> Response:
        def work(ctx: Ctx, session: Session, form: dict) -> Response:
            u = accounts.add_user(
                session,
                form.get("email", ""),
                form.get("role", ""),
                form.get("password", ""),
                manufacturer=form.get("manufacturer") or None,
                actor=ctx.user.email,
            )
            return done(ctx, _("User %(email)s added.", email=u.email))

        return await lab_action(request, work)

    @router.post("/portal/lab/users/disable", include_in_schema=False)
    async def disable_user(request: Request) -> Response:
        def work(ctx: Ctx, session: Session, form: dict) -> Response:
            u = accounts.disable_user(session, form.get("email", ""), actor=ctx.user.email)
            portal.forget_all_sessions()
            return done(ctx, _("User %(email)s disabled.", email=u.email))

        return await lab_action(request, work)

    @router.post("/portal/lab/users/reset", include_in_schema=False)
    async def reset_user(request: Request) -> Response:
        def work(ctx: Ctx, session: Session, form: dict) -> Response:
            u = accounts.reset_password(
                session, form.get("email", ""), form.get("password", ""), actor=ctx.user.email
            )
            portal.forget_all_sessions()
            return done(ctx, _("New password set for %(email)s.", email=u.email))

        return await lab_action(request, work)

    @router.post("/portal/lab/keys/{key_id}/revoke", include_in_schema=False)
    async def lab_revoke(request: Request, key_id: int) -> Response:
        def work(ctx: Ctx, session: Session, form: dict) -> Response:
            prefix = accounts.revoke_user_key(session, ctx.user, key_id)
            return done(ctx, _("API key %(prefix)s revoked.", prefix=prefix))

        return await lab_action(request, work)

    @router.post("/portal/lab/components/{code}/certificate", include_in_schema=False)
    async def issue(request: Request, code: str) -> Response:
        def work(ctx: Ctx, _session, form: dict) -> Response:
            import tempfile
            from pathlib import Path

            from lightcomp.api.records import canonical_code, printed_code
            from lightcomp.errors import CodeError
            from lightcomp.reports.certificate import issue_certificate

            try:
                canon = canonical_code(code)
            except CodeError as exc:
                raise PortalError(
                    404, _("No such component, or it is not visible to you.")
                ) from exc
            with tempfile.TemporaryDirectory() as tmp:
                info = issue_certificate(
                    portal.store, canon, Path(tmp) / "certificate.pdf", authorised_by=ctx.user.email
                )
            return portal.redirect(
                ctx,
                f"/portal/components/{printed_code(canon)}",
                [("info", _("Certificate %(id)s issued.", id=info["report_id"]))],
            )

        return await portal.action(
            request, work, roles=LAB, write=False, back=f"/portal/components/{code}"
        )

    # -- account: own API keys ---------------------------------------------------------------
    def account_page(ctx: Ctx, session: Session, extra: dict | None = None) -> Page:
        return Page(
            "account.html", {"keys": accounts.user_keys(session, ctx.user.user_id), **(extra or {})}
        )

    @router.get("/portal/account", include_in_schema=False)
    async def account(request: Request) -> Response:
        return await portal.page(request, account_page)

    @router.post("/portal/account/keys", include_in_schema=False)
    async def create_key(request: Request) -> Response:
        def work(ctx: Ctx, session: Session, form: dict) -> Response:
            prefix, key = accounts.create_user_key(session, ctx.user, form.get("name"))
            session.flush()
            # Shown once, in this answer only (never stored, never in a redirect or cookie).
            return portal.render(
                ctx, account_page(ctx, session, {"new_key": key, "new_prefix": prefix})
            )

        return await portal.action(request, work, back="/portal/account")

    @router.post("/portal/account/keys/{key_id}/revoke", include_in_schema=False)
    async def revoke_key(request: Request, key_id: int) -> Response:
        def work(ctx: Ctx, session: Session, form: dict) -> Response:
            prefix = accounts.revoke_user_key(session, ctx.user, key_id)
            return portal.redirect(
                ctx, "/portal/account", [("info", _("API key %(prefix)s revoked.", prefix=prefix))]
            )

        return await portal.action(request, work, back="/portal/account")
