"""Sign-in, sign-out, the language switch and the front door ``/``."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from lightcomp.api.portal import i18n
from lightcomp.api.portal.accounts import SESSION_HOURS, end_session, start_session, verify_login
from lightcomp.api.portal.i18n import _
from lightcomp.api.portal.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Page,
    Portal,
    cookie_args,
    safe_next,
)


def register(router: APIRouter, portal: Portal) -> None:
    """Add /, /login, /logout and /portal/lang/{lang} to ``router``."""

    @router.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/portal/", status_code=303)

    @router.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        ctx = portal.ctx(request)
        nxt = safe_next(request.query_params.get("next"))
        token = portal.login_csrf(ctx)
        return portal.render(
            ctx, Page("login.html", {"login_csrf": token, "next": nxt, "email": ""})
        )

    @router.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        ctx = portal.ctx(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        nxt = safe_next(form.get("next"))
        email = form.get("email", "")[:254]
        password = form.get("password", "")
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        sent = form.get("csrf_token", "")

        def again(message: str, status: int) -> Response:
            token = portal.login_csrf(ctx)
            return portal.render(
                ctx,
                Page(
                    "login.html",
                    {"login_csrf": token, "next": nxt, "email": email, "error": message},
                    status,
                ),
            )

        if not (cookie and sent and hmac.compare_digest(cookie.encode(), sent.encode())) or (
            not portal.check_origin(request)
        ):
            i18n.activate(ctx.lang)
            return again(_("The form was refused: its security token is missing or wrong."), 403)
        client = request.client.host if request.client else "?"
        if not portal.throttle.allow(client):
            i18n.activate(ctx.lang)
            return again(_("Too many sign-in attempts from your address: wait a few minutes."), 429)

        def check():
            with portal.store.transaction() as session:
                res = verify_login(session, email, password)
                token = start_session(session, res.user_id) if res.status == "ok" else None
            return res, token

        res, token = await run_in_threadpool(check)
        i18n.activate(ctx.lang)
        if res.status == "locked":
            return again(
                _("Too many wrong passwords: this account is locked for a while. Try again later "
                  "or ask the laboratory to reset it."),
                423,
            )  # fmt: skip
        if res.status != "ok":
            return again(_("Wrong e-mail or password."), 401)
        resp = RedirectResponse(nxt, status_code=303)
        resp.set_cookie(**cookie_args(SESSION_COOKIE, token, SESSION_HOURS * 3600))
        resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
        return portal.finish(ctx, resp)

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE, "")

        def work(ctx, _session, _form) -> Response:
            with portal.store.transaction() as session:
                end_session(session, token)
            portal.forget_token(token)
            resp = portal.redirect(ctx, "/login", [("info", _("You are signed out."))])
            resp.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
            return resp

        return await portal.action(request, work, write=False)

    @router.get("/portal/lang/{lang}", include_in_schema=False)
    async def switch_language(request: Request, lang: str) -> Response:
        ctx = portal.ctx(request)
        target = safe_next(request.query_params.get("next"))
        resp = RedirectResponse(target, status_code=303)
        if lang in i18n.LANGUAGES:
            resp.set_cookie(**cookie_args(i18n.LANG_COOKIE, lang, 365 * 24 * 3600))
        return portal.finish(ctx, resp)
