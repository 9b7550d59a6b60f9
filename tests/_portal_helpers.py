"""Portal test world: the API's world (two makers, lots in every publication state) plus one
portal user per role and a certificate issued on a published component."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from _api_helpers import World, build_world

from lightcomp.api.portal.accounts import add_user
from lightcomp.coding import format_code
from lightcomp.reports.certificate import issue_certificate

PASSWORD = "correct horse battery"
USERS = {
    "lab": ("lab@lab.example", "lab", None),
    "manufacturer": ("qe@acme.example", "manufacturer", "ACME Lighting"),
    "member": ("member@alliance.example", "member", None),
    "other": ("qe@beta.example", "manufacturer", "BETA Lighting"),
}


@dataclass
class PortalWorld:
    api: World
    emails: dict[str, str] = field(default_factory=dict)
    certified: str = ""  # printed code of a published component with an issued certificate
    report_id: str = ""


def build_portal_world(store) -> PortalWorld:
    # A warm-white chromaticity inside the 3000 K quadrangle (stored rows are append-only:
    # given when the rows are written, not edited afterwards).
    api = build_world(store, columns={"x": 0.4338, "y": 0.4030, "ansi_category": "3000"})
    pw = PortalWorld(api=api)
    with store.transaction() as s:
        for who, (email, role, mfr) in USERS.items():
            add_user(s, email, role, PASSWORD, manufacturer=mfr, actor="test")
            pw.emails[who] = email
    code = api.codes[("ACME", "published")][0]
    with tempfile.TemporaryDirectory() as tmp:
        info = issue_certificate(store, code, Path(tmp) / "c.pdf", authorised_by="Test Signatory")
    pw.certified = format_code(code)
    pw.report_id = info["report_id"]
    return pw


def printed(code: str) -> str:
    return format_code(code)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client, email: str, password: str = PASSWORD, follow: bool = False):
    page = client.get("/login")
    token = csrf_of(page.text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/portal/"},
        follow_redirects=follow,
    )
