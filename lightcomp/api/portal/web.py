"""Request plumbing of the portal: sign-in state, CSRF, language, templates, security headers.

One :class:`Portal` per app. A page handler calls :meth:`Portal.page` with a
``view(ctx, session)`` function; that runs in the thread pool with one read
session (the API's own :class:`~lightcomp.api.app.Reader` sessions, so pages and
API share the read path), finds the signed-in user (cached for ``AUTH_CACHE_S``
like API keys), and renders the template the view names. A form handler calls
:meth:`Portal.action`, which first checks the CSRF token, then runs
``work(ctx, session)`` in one write transaction.

CSRF (OWASP CSRF Prevention Cheat Sheet): signed-in forms carry the session's
synchroniser token (``portal_sessions.csrf_token``); the login form a
double-submit cookie; every POST must also come from this origin when the
browser says where it comes from (``Origin``). Cookies are ``Secure; HttpOnly;
SameSite=Lax`` (browsers accept Secure cookies over plain HTTP only on
localhost: serve the portal over HTTPS anywhere else).
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from lightcomp.api.portal import i18n
from lightcomp.api.portal.accounts import SessionUser, session_user, token_hash
from lightcomp.api.portal.i18n import _
from lightcomp.errors import LightcompError
from lightcomp.laboratory import lab_identity

SESSION_COOKIE = "lc_session"
LOGIN_CSRF_COOKIE = "lc_login_csrf"
FLASH_COOKIE = "lc_flash"
AUTH_CACHE_S = 2.0
LOGIN_WINDOW_S = 300.0
LOGIN_MAX_PER_CLIENT = 30  # attempts per client address per window, then 429
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class PortalError(Exception):
    """An error page: status, one-line message (already translated)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Ctx:
    """What a view knows of its request."""

    request: Request
    lang: str
    user: SessionUser | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)
    cookies_to_set: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def principal(self):
        return self.user.principal() if self.user else None


@dataclass
class Page:
    """A view's answer: template name and its variables (status 200 unless said)."""

    template: str
    context: dict[str, Any]
    status: int = 200


def cookie_args(name: str, value: str, max_age: int | None, *, path: str = "/") -> dict:
    return {
        "key": name,
        "value": value,
        "max_age": max_age,
        "path": path,
        "secure": True,
        "httponly": True,
        "samesite": "lax",
    }


def safe_next(target: str | None, default: str = "/portal/") -> str:
    """A same-site path to go to after login (never another host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


class LoginThrottle:
    """Sliding-window count of sign-in attempts per client address (in memory)."""

    def __init__(self, window_s: float = LOGIN_WINDOW_S, limit: int = LOGIN_MAX_PER_CLIENT):
        self.window_s = window_s
        self.limit = limit
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10000:
                self._seen.clear()
            q = self._seen.setdefault(client, deque())
            while q and q[0] < now - self.window_s:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            return True


class Portal:
    """Shared state of the portal routes (templates, caches, the store's sessions)."""

    def __init__(self, app):
        self.app = app
        self.store = app.state.store
        # The API reader's sessions (own autocommit engine on PostgreSQL).
        self.read_sessions = app.state.reader.session
        self.lab_name = app.state.lab_name
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.install_gettext_callables(i18n._, i18n.ngettext, newstyle=True)
        self.env.globals["languages"] = i18n.LANGUAGES
        self.throttle = LoginThrottle()
        self._auth_cache: dict[str, tuple[float, SessionUser]] = {}
        self._lock = threading.Lock()
        self.cache: OrderedDict[Any, Any] = OrderedDict()  # figures and reports
        self.cache_max = 256
        self._timed: dict[Any, tuple[float, Any]] = {}

    # -- caches -----------------------------------------------------------------------------
    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        value = make()
        with self._lock:
            self.cache[key] = value
            while len(self.cache) > self.cache_max:
                self.cache.popitem(last=False)
        return value

    def cached_for(self, seconds: float, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, remembered for ``seconds`` (small lists shown on every form)."""
        now = time.monotonic()
        hit = self._timed.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = make()
        self._timed[key] = (now + seconds, value)
        return value

    def forget_token(self, token: str) -> None:
        with self._lock:
            self._auth_cache.pop(token_hash(token), None)

    def forget_all_sessions(self) -> None:
        """Drop cached sign-ins (after a disable/reset, so it takes effect at once here)."""
        with self._lock:
            self._auth_cache.clear()

    def _user(self, session: Session, token: str | None) -> SessionUser | None:
        if not token:
            return None
        digest = token_hash(token)
        now = time.monotonic()
        hit = self._auth_cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        user = session_user(session, token)
        if user is not None:
            with self._lock:
                if len(self._auth_cache) > 4096:
                    self._auth_cache.clear()
                self._auth_cache[digest] = (now + AUTH_CACHE_S, user)
        return user

    # -- context ----------------------------------------------------------------------------
    def ctx(self, request: Request) -> Ctx:
        lang = i18n.choose_language(
            request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
        )
        ctx = Ctx(request=request, lang=lang)
        raw = request.cookies.get(FLASH_COOKIE)
        if raw:
            try:
                data = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=="))
                ctx.flash = [(str(k), str(m)) for k, m in data][:5]
            except (ValueError, TypeError):
                pass
        return ctx

    def render(self, ctx: Ctx, page: Page) -> HTMLResponse:
        i18n.activate(ctx.lang)
        tpl = self.env.get_template(page.template)
        html = tpl.render(
            **page.context,
            lang=ctx.lang,
            user=ctx.user,
            csrf=ctx.user.csrf_token if ctx.user else "",
            flash=ctx.flash,
            path=ctx.request.url.path,
            query=ctx.request.url.query,
            lab_name=self.lab_name or lab_identity()["name"],
        )
        resp = HTMLResponse(html, status_code=page.status)
        self.finish(ctx, resp)
        return resp

    def finish(self, ctx: Ctx, resp: Response) -> Response:
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers.setdefault("Content-Language", ctx.lang)
        if ctx.flash and ctx.request.cookies.get(FLASH_COOKIE):
            resp.delete_cookie(FLASH_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
        for name, value, age in ctx.cookies_to_set:
            resp.set_cookie(**cookie_args(name, value, age))
        return resp

    def error_page(self, ctx: Ctx, status: int, message: str) -> HTMLResponse:
        return self.render(ctx, Page("error.html", {"status": status, "message": message}, status))

    def login_redirect(self, ctx: Ctx) -> RedirectResponse:
        target = ctx.request.url.path + (
            f"?{ctx.request.url.query}" if ctx.request.url.query else ""
        )
        resp = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        self.finish(ctx, resp)
        return resp

    def redirect(self, ctx: Ctx, url: str, flash: list[tuple[str, str]] | None = None) -> Response:
        resp = RedirectResponse(url, status_code=303)
        if flash:
            raw = base64.urlsafe_b64encode(json.dumps(flash).encode()).decode().rstrip("=")
            resp.set_cookie(**cookie_args(FLASH_COOKIE, raw, 60))
        ctx.flash = []
        return self.finish(ctx, resp)

    # -- pages and actions ------------------------------------------------------------------
    async def page(
        self,
        request: Request,
        view: Callable[[Ctx, Session], Page | Response],
        *,
        roles: tuple[str, ...] | None = None,
    ) -> Response:
        """Render a signed-in page (redirect to /login when not signed in)."""
        ctx = self.ctx(request)
        token = request.cookies.get(SESSION_COOKIE)

        def run() -> Response:
            i18n.activate(ctx.lang)
            with self.read_sessions() as session:
                ctx.user = self._user(session, token)
                if ctx.user is None:
                    return self.login_redirect(ctx)
                if roles is not None and ctx.user.role not in roles:
                    return self.error_page(ctx, 403, _("This page is for the laboratory only."))
                try:
                    out = view(ctx, session)
                except PortalError as exc:
                    return self.error_page(ctx, exc.status, exc.message)
            if isinstance(out, Page):
                return self.render(ctx, out)
            return self.finish(ctx, out)

        return await run_in_threadpool(run)

    def check_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None
        host = request.headers.get("host", "")
        return urlsplit(origin).netloc == host

    async def action(
        self,
        request: Request,
        work: Callable[[Ctx, Session, dict[str, str]], Response],
        *,
        roles: tuple[str, ...] | None = None,
        write: bool = True,
        back: str | None = None,
    ) -> Response:
        """Run a signed-in form post: CSRF token and origin checked, then ``work(ctx, session,
        form)`` in one write transaction (``write=False``: ``session`` is None and ``work``
        opens what it needs)."""
        ctx = self.ctx(request)
        token = request.cookies.get(SESSION_COOKIE)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

        def run() -> Response:
            i18n.activate(ctx.lang)
            with self.read_sessions() as session:
                ctx.user = self._user(session, token)
            if ctx.user is None:
                return self.error_page(ctx, 403, _("Your session has ended: please sign in again."))
            sent = form.get("csrf_token", "")
            if not (
                sent
                and hmac.compare_digest(sent.encode(), ctx.user.csrf_token.encode())
                and self.check_origin(request)
            ):
                return self.error_page(
                    ctx, 403, _("The form was refused: its security token is missing or wrong.")
                )
            if roles is not None and ctx.user.role not in roles:
                return self.error_page(ctx, 403, _("This page is for the laboratory only."))
            try:
                if not write:
                    return work(ctx, None, form)
                with self.store.transaction() as session:
                    return work(ctx, session, form)
            except PortalError as exc:
                return self.error_page(ctx, exc.status, exc.message)
            except LightcompError as exc:  # refused by the store: nothing was changed
                return self.redirect(ctx, back or "/portal/", [("error", str(exc))])

        return await run_in_threadpool(run)

    def login_csrf(self, ctx: Ctx) -> str:
        """The login form's double-submit token (a new cookie when there is none)."""
        tok = ctx.request.cookies.get(LOGIN_CSRF_COOKIE)
        if not tok or len(tok) > 100:
            tok = secrets.token_urlsafe(32)
            ctx.cookies_to_set.append((LOGIN_CSRF_COOKIE, tok, 3600))
        return tok
