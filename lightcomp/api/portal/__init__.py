"""The web portal: the browser front of the alliance query service (issue 18).

``mount_portal(app)`` adds to the API app (one line in ``create_app``): ``/`` and
``/login``, the pages under ``/portal/`` (search, component, lot, programme,
lab, account), their static files and the offline API docs (``/docs``,
``/redoc``). API paths are untouched. Modules:

- :mod:`~lightcomp.api.portal.accounts` -- users, Argon2id, lock-out, sessions, own keys;
- :mod:`~lightcomp.api.portal.web` -- cookies, CSRF, language, templates;
- :mod:`~lightcomp.api.portal.pages` -- record pages; :mod:`~lightcomp.api.portal.lab` -- lab
  and account pages; :mod:`~lightcomp.api.portal.auth` -- sign-in;
- :mod:`~lightcomp.api.portal.i18n` -- gettext catalogues (``locale/``);
- :mod:`~lightcomp.api.portal.apidocs` -- Swagger UI / ReDoc served from a package.
"""

from __future__ import annotations

from typing import Any

__all__ = ["mount_portal"]


def mount_portal(app: Any) -> None:
    """Add the portal's routes, static files and offline API docs to the API ``app``."""
    from fastapi import APIRouter
    from fastapi.staticfiles import StaticFiles

    from lightcomp.api.portal import apidocs, auth, formats, lab, pages
    from lightcomp.api.portal.web import STATIC, Portal

    portal = Portal(app)
    formats.register(portal.env)
    router = APIRouter()
    auth.register(router, portal)
    pages.register(router, portal)
    lab.register(router, portal)
    app.include_router(router)
    apidocs.install(app)
    app.mount("/portal/static", StaticFiles(directory=STATIC), name="portal-static")
    app.state.portal = portal
