"""Web portal views (TestClient over HTTPS): sign-in, lock-out, CSRF, the API's role rules on
every page, downloads, languages, the lab's publication forms, users' own API keys.

Expected visibility is written out from issue 9's access rules, independently of the code:
lab everything; manufacturer (ACME) its own components in full plus published/withdrawn
records of others; member published/withdrawn records only.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
from _api_helpers import MAKERS, STATES, drop_pg_schema, fresh_pg_url
from _portal_helpers import PASSWORD, build_portal_world, csrf_of, login, printed
from fastapi.testclient import TestClient
from sqlalchemy import select

from lightcomp.api import create_app
from lightcomp.api.portal import accounts
from lightcomp.store import AuditEvent, Lot, Store

ROLES = ("lab", "manufacturer", "member")


def _visible(role: str, maker: str, state: str) -> bool:
    if role == "lab" or (role == "manufacturer" and maker == "ACME"):
        return True
    return state in ("published", "withdrawn")


def _full(role: str, maker: str) -> bool:
    return role == "lab" or (role == "manufacturer" and maker == "ACME")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def world(request, tmp_path_factory):
    """(app, store, portal world) built once per module and backend."""
    cleanup = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('portal') / 'portal.db'}"
    else:
        made = fresh_pg_url()
        if made is None:
            pytest.skip("LIGHTCOMP_TEST_PG not set: PostgreSQL tests skipped")
        url, schema, base = made
        cleanup = (base, schema)
    store = Store.open(url)
    w = build_portal_world(store)
    app = create_app(store, lab_name="Test Lab")
    app.state.portal.throttle.limit = 10_000  # the throttle has its own test
    yield app, store, w
    store.dispose()
    if cleanup:
        drop_pg_schema(*cleanup)


def _client(app) -> TestClient:
    return TestClient(app, base_url="https://testserver")


@pytest.fixture(scope="module")
def clients(world):
    """One signed-in client per role."""
    app, _store, w = world
    out = {}
    for role in ROLES:
        c = _client(app)
        r = login(c, w.emails[role])
        assert r.status_code == 303, r.text
        out[role] = c
    yield out
    for c in out.values():
        c.close()


# -- sign-in ------------------------------------------------------------------------------------
def test_login_sets_a_secure_httponly_samesite_cookie_and_logout_ends_it(world):
    app, _store, w = world
    c = _client(app)
    assert c.get("/portal/", follow_redirects=False).headers["location"].startswith("/login")
    r = login(c, w.emails["member"])
    assert r.status_code == 303 and r.headers["location"] == "/portal/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("lc_session="))
    flags = {p.strip().lower() for p in cookie.split(";")}
    assert {"secure", "httponly", "samesite=lax"} <= flags
    token = cookie.split(";")[0].split("=", 1)[1]
    page = c.get("/portal/")
    assert page.status_code == 200 and w.emails["member"] in page.text
    r = c.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    # The old token no longer opens a page even when replayed.
    c2 = _client(app)
    c2.cookies.set("lc_session", token, domain="testserver")
    app.state.portal.forget_all_sessions()
    assert c2.get("/portal/", follow_redirects=False).status_code == 303


def test_wrong_password_then_lock_out_then_reset(world):
    app, store, _w = world
    with store.transaction() as s:
        accounts.add_user(s, "lock@x.example", "member", PASSWORD)
    c = _client(app)
    r = login(c, "lock@x.example", "wrong password!")
    assert r.status_code == 401 and "Wrong e-mail or password" in r.text
    r = login(c, "nobody@x.example", "wrong password!")
    assert r.status_code == 401 and "Wrong e-mail or password" in r.text
    for _ in range(accounts.LOCK_AFTER - 2):
        assert login(c, "lock@x.example", "wrong password!").status_code == 401
    r = login(c, "lock@x.example", "wrong password!")
    assert r.status_code == 423 and "locked" in r.text
    # Locked: even the right password is refused.
    assert login(c, "lock@x.example").status_code == 423
    with store.session() as s:
        kinds = [
            e.kind for e in s.scalars(select(AuditEvent).where(AuditEvent.kind == "user.lock"))
        ]
    assert kinds
    with store.transaction() as s:
        accounts.reset_password(s, "lock@x.example", "a brand new password", actor="test")
    assert login(c, "lock@x.example", "a brand new password").status_code == 303


def test_login_throttle_per_client(world):
    app, _store, w = world
    throttle = app.state.portal.throttle
    old = throttle.limit
    throttle.limit = 3
    throttle._seen.clear()
    try:
        c = _client(app)
        codes = [login(c, w.emails["member"], "not the password").status_code for _ in range(4)]
    finally:
        throttle.limit = old
        throttle._seen.clear()
    assert codes[:3] == [401, 401, 401] and codes[3] == 429


def test_disabled_user_cannot_sign_in(world):
    app, store, _w = world
    with store.transaction() as s:
        accounts.add_user(s, "gone@x.example", "member", PASSWORD)
    c = _client(app)
    assert login(c, "gone@x.example").status_code == 303
    with store.transaction() as s:
        accounts.disable_user(s, "gone@x.example", actor="test")
    app.state.portal.forget_all_sessions()
    assert c.get("/portal/", follow_redirects=False).status_code == 303  # session ended
    assert login(_client(app), "gone@x.example").status_code == 401


# -- CSRF ---------------------------------------------------------------------------------------
def test_forms_without_the_csrf_token_are_refused(world, clients):
    app, store, w = world
    c = _client(app)
    c.get("/login")
    r = c.post("/login", data={"email": w.emails["lab"], "password": PASSWORD})
    assert r.status_code == 403 and "security token" in r.text
    lot = w.api.lots[("ACME", "unpublished")]
    lab = clients["lab"]
    for data in ({}, {"csrf_token": "forged"}):
        r = lab.post(f"/portal/lab/lots/{lot}/publish", data=data, follow_redirects=False)
        assert r.status_code == 403
    # A right token from another origin is refused too.
    token = csrf_of(lab.get("/portal/lab").text)
    r = lab.post(
        f"/portal/lab/lots/{lot}/publish",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    with store.session() as s:
        assert s.scalar(select(Lot.published_at).where(Lot.name == lot)) is None
    r = lab.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert lab.get("/portal/").status_code == 200  # still signed in


# -- the API's role rules -------------------------------------------------------------------------
CASES = [(r, m, s) for r in ROLES for m in MAKERS for s in STATES]


@pytest.mark.parametrize(("role", "maker", "state"), CASES)
def test_component_page_follows_the_api_rules(world, clients, role, maker, state):
    _app, _store, w = world
    c = clients[role]
    for code in w.api.codes[(maker, state)]:
        r = c.get(f"/portal/components/{printed(code)}")
        if not _visible(role, maker, state):
            assert r.status_code == 404, r.text
            for path in ("chromaticity-xy.svg", "spectrum.png", "spectrum.csv", "certificate.pdf"):
                assert c.get(f"/portal/components/{printed(code)}/{path}").status_code == 404
            assert printed(code) not in r.text.replace(
                f"next=/portal/components/{printed(code)}", ""
            )
            continue
        assert r.status_code == 200, r.text
        assert printed(code) in r.text
        assert ("full record" in r.text) == _full(role, maker)
        s = c.get(f"/portal/components/{printed(code)}/spectrum.csv")
        assert s.status_code == (200 if _full(role, maker) else 403)
        if s.status_code == 200:
            data = np.loadtxt(s.text.splitlines()[1:], delimiter=",")
            assert np.array_equal(data[:, 1], w.api.spectra[code])
        png = c.get(f"/portal/components/{printed(code)}/spectrum.png")
        assert png.status_code == (200 if _full(role, maker) else 403)
        svg = c.get(f"/portal/components/{printed(code)}/chromaticity-uv.svg")
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
        assert b"<svg" in svg.content


def test_unknown_and_invisible_look_the_same(clients, world):
    _app, _store, w = world
    hidden = printed(w.api.codes[("BETA", "unpublished")][0])
    r1 = clients["member"].get(f"/portal/components/{hidden}")
    r2 = clients["member"].get("/portal/components/LC1-1-SM-M0009-30-8-F29-C-0001-000000099-X")
    assert r1.status_code == 404
    assert r2.status_code == 404
    assert "L1" not in r1.text or "No such component" in r1.text


@pytest.mark.parametrize("role", ROLES)
def test_search_lists_exactly_the_visible_components(world, clients, role):
    _app, _store, w = world
    c = clients[role]
    seen: list[str] = []
    url = "/portal/search?limit=25"
    while url:
        page = c.get(url)
        assert page.status_code == 200
        seen += re.findall(r'href="/portal/components/([A-Z0-9-]+)"', page.text)
        m = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = m.group(1).replace("&amp;", "&") if m else None
    expected = {
        printed(code)
        for (maker, state), codes in w.api.codes.items()
        for code in codes
        if _visible(role, maker, state)
    }
    assert set(seen) == expected and len(seen) == len(expected)


def test_search_filters_and_bad_input(world, clients):
    _app, _store, w = world
    lab = clients["lab"]
    r = lab.get("/portal/search?verdict=fail&manufacturer=ACME+Lighting")
    codes = set(re.findall(r'href="/portal/components/([A-Z0-9-]+)"', r.text))
    expected = {
        printed(c)
        for (maker, _s), cs in w.api.codes.items()
        for c in cs
        if maker == "ACME" and w.api.verdicts[c] == "fail"
    }
    assert codes == expected
    r = lab.get("/portal/search?cct_min=abc&ra_min=50&ra_max=40")
    assert r.status_code == 200
    assert "cct_min" in r.text and "ra_min is greater than ra_max" in r.text
    r = lab.get("/portal/search?ansi_category=3000")
    assert len(set(re.findall(r'href="/portal/components/([A-Z0-9-]+)"', r.text))) > 0
    r = lab.get("/portal/search?ansi_category=6500")
    assert not re.findall(r'href="/portal/components/([A-Z0-9-]+)"', r.text)
    code = w.api.codes[("ACME", "published")][0]
    r = lab.get(f"/portal/search?code={code.lower()}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/portal/components/{printed(code)}"


def test_certificate_download_is_the_issued_pdf(world, clients):
    app, store, w = world
    r = clients["member"].get(f"/portal/components/{w.certified}")
    assert w.report_id in r.text
    pdf = clients["member"].get(f"/portal/components/{w.certified}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    from lightcomp.store import Certificate

    with store.session() as s:
        digest = s.scalar(
            select(Certificate.content_sha256).where(Certificate.report_id == w.report_id)
        )
    assert hashlib.sha256(pdf.content).hexdigest() == digest
    other = printed(w.api.codes[("ACME", "published")][1])
    assert clients["member"].get(f"/portal/components/{other}/certificate.pdf").status_code == 404


def test_lot_and_programme_pages(world, clients):
    _app, _store, w = world
    hidden = w.api.lots[("BETA", "unpublished")]
    assert clients["member"].get(f"/portal/lots/{hidden}").status_code == 404
    assert clients["manufacturer"].get(f"/portal/lots/{hidden}").status_code == 404
    assert clients["lab"].get(f"/portal/lots/{hidden}").status_code == 200
    r = clients["member"].get(f"/portal/lots/{w.api.lots[('BETA', 'published')]}")
    assert r.status_code == 200 and "data:image/png;base64," in r.text  # the report's figures
    assert "Failure causes" in r.text and "50.0 %" in r.text  # 1 pass, 1 fail
    # Programme: the member counts published/withdrawn records only: 2 pass + 2 fail per maker.
    r = clients["member"].get("/portal/")
    rows = re.findall(
        r'<td class="r">(\d+)</td><td class="r">(\d+)</td><td class="r">(\d+)</td>', r.text
    )
    assert rows == [("2", "2", "0"), ("2", "2", "0")]
    r = clients["lab"].get("/portal/")
    rows = re.findall(
        r'<td class="r">(\d+)</td><td class="r">(\d+)</td><td class="r">(\d+)</td>', r.text
    )
    assert rows == [("4", "4", "0"), ("4", "4", "0")]


def test_lab_pages_are_for_the_lab(clients):
    assert clients["lab"].get("/portal/lab").status_code == 200
    for role in ("manufacturer", "member"):
        assert clients[role].get("/portal/lab").status_code == 403


def test_publish_and_withdraw_from_the_portal(world, clients):
    app, store, w = world
    with store.transaction() as s:
        s.add(Lot(name="PORTAL-LOT"))
    lab = clients["lab"]
    token = csrf_of(lab.get("/portal/lab").text)
    r = lab.post("/portal/lab/lots/PORTAL-LOT/withdraw", data={"csrf_token": token, "reason": "x"})
    assert "not published" in r.text  # refused by the store, shown on the page
    r = lab.post("/portal/lab/lots/PORTAL-LOT/publish", data={"csrf_token": token})
    assert r.status_code == 200 and "PORTAL-LOT published" in r.text
    r = lab.post("/portal/lab/lots/PORTAL-LOT/withdraw", data={"csrf_token": token, "reason": " "})
    assert "needs a reason" in r.text
    r = lab.post(
        "/portal/lab/lots/PORTAL-LOT/withdraw", data={"csrf_token": token, "reason": "bad flux"}
    )
    assert "PORTAL-LOT withdrawn" in r.text
    with store.session() as s:
        lot = s.scalars(select(Lot).where(Lot.name == "PORTAL-LOT")).one()
        assert lot.withdraw_reason == "bad flux"
        actors = s.scalars(
            select(AuditEvent.actor).where(AuditEvent.subject == "lot:PORTAL-LOT")
        ).all()
    assert actors == [w.emails["lab"], w.emails["lab"]]


def test_users_make_and_revoke_their_own_api_keys(world, clients):
    app, _store, w = world
    mc = clients["manufacturer"]
    token = csrf_of(mc.get("/portal/account").text)
    r = mc.post("/portal/account/keys", data={"csrf_token": token, "name": "dashboard"})
    key = re.search(r'<code id="new-key">([^<]+)</code>', r.text).group(1)
    api = _client(app)
    hidden_own = w.api.codes[("ACME", "unpublished")][0]
    hidden_other = w.api.codes[("BETA", "unpublished")][0]
    auth = {"Authorization": f"Bearer {key}"}
    assert api.get(f"/components/{hidden_own}", headers=auth).status_code == 200
    assert api.get(f"/components/{hidden_other}", headers=auth).status_code == 404
    page = mc.get("/portal/account").text
    assert key not in page  # shown once only
    key_id = re.search(r'action="/portal/account/keys/(\d+)/revoke"', page).group(1)
    # Another user cannot revoke it.
    other = clients["member"]
    r = other.post(
        f"/portal/account/keys/{key_id}/revoke",
        data={"csrf_token": csrf_of(other.get("/portal/account").text)},
    )
    assert "not yours" in r.text
    r = mc.post(f"/portal/account/keys/{key_id}/revoke", data={"csrf_token": token})
    assert "revoked" in r.text
    app.state.reader._cache.clear()
    assert api.get(f"/components/{hidden_own}", headers=auth).status_code == 401


# -- languages, assets, API untouched -------------------------------------------------------------
def test_language_from_the_browser_and_the_switch(world, clients):
    app, _store, w = world
    anon = _client(app)
    assert "登录" in anon.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert "Sign in" in anon.get("/login", headers={"Accept-Language": "de, en;q=0.5"}).text
    c = _client(app)
    login(c, w.emails["member"])
    page = c.get("/portal/search")
    assert 'href="/portal/lang/zh?next=/portal/search"' in page.text
    r = c.get("/portal/lang/zh?next=/portal/search")
    assert r.status_code == 200 and "查询组件" in r.text and r.headers["content-language"] == "zh"
    r = c.get("/portal/lang/en?next=//evil.example/")
    assert r.url.host == "testserver" and "Programme dashboard" in r.text


def test_every_catalogue_entry_is_translated():
    from babel.messages.pofile import read_po

    from lightcomp.api.portal.i18n import LOCALE_DIR

    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        cat = read_po(f, locale="zh")
    empty = [m.id for m in cat if m.id and not m.string]
    assert not empty


def test_pages_reference_no_other_host(world, clients):
    app, _store, w = world
    lab = clients["lab"]
    for path in ("/portal/", "/portal/search", f"/portal/components/{w.certified}", "/portal/lab",
                 "/portal/account", "/docs", "/redoc"):  # fmt: skip
        text = lab.get(path).text
        hosts = set(re.findall(r'(?:src|href)="(?:https?:)?//([^/"]+)', text))
        assert not hosts, (path, hosts)
    js = lab.get("/portal/static/apidocs/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert lab.get("/openapi.json").status_code == 200


def test_api_paths_unchanged(world):
    app, _store, w = world
    api = _client(app)
    assert api.get("/health").json()["status"] == "ok"
    code = w.api.codes[("ACME", "published")][0]
    assert api.get(f"/components/{code}").status_code == 401
    r = api.get(f"/components/{code}", headers={"Authorization": f"Bearer {w.api.keys['member']}"})
    assert r.status_code == 200 and r.json()["product_code"] == code
    assert api.get("/", follow_redirects=False).headers["location"] == "/portal/"


def test_results_table_finds_u_stored_under_the_cores_keys():
    """The component page's results table shows columns (``luminous_flux_lm``, ``cct_k``,
    ``ra``); the Monte Carlo stores U under the core's keys (``luminous_flux``, ``CCT``,
    ``Ra``) — the page finds them by every name of the quantity, as the certificate."""
    from lightcomp.api.portal.pages import _uncertainty

    stored = {
        "luminous_flux": {"U": 14.0, "k": 2},
        "CCT": {"U": 6.2, "k": 2},
        "voltage_v": {"U": 0.023, "k": 2},
    }
    assert _uncertainty(stored, "luminous_flux_lm") == "14 (k = 2)"
    assert _uncertainty(stored, "cct_k") == "6.2 (k = 2)"
    assert _uncertainty(stored, "voltage_v") == "0.023 (k = 2)"
    assert _uncertainty(stored, "ra") is None  # none stored
