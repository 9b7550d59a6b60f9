"""The portal end to end in a real browser: Playwright driving Debian's Chromium against
``lightcomp serve``'s app on loopback.

Every request the browser makes is checked: one to any host other than the app's is
aborted and fails the test (so the pages work with no internet). Each page is saved
as a screenshot in ``$PORTAL_SCREENSHOTS`` (default: the test's temporary folder).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _portal_helpers import PASSWORD, build_portal_world, printed

from lightcomp.api import create_app
from lightcomp.api.portal import accounts
from lightcomp.store import Store

CHROMIUM = os.environ.get("LIGHTCOMP_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.slow


def _need_browser():
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium fonts-noto-cjk)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, store, world): the app served by uvicorn on loopback in a thread."""
    _need_browser()
    import uvicorn

    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'portal.db'}")
    world = build_portal_world(store)
    with store.transaction() as s:
        accounts.add_user(s, "lockme@x.example", "member", PASSWORD)
    app = create_app(store, lab_name="Browser Test Lab")
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://localhost:{port}", store, world
    srv.should_exit = True
    thread.join(10)
    store.dispose()


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


class Guard:
    """Records every request; aborts (and remembers) any to a host other than the app's."""

    def __init__(self, base: str):
        self.netloc = urlsplit(base).netloc
        self.seen: list[str] = []
        self.outside: list[str] = []

    def __call__(self, route, request):
        url = request.url
        self.seen.append(url)
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or parts.netloc == self.netloc:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


@pytest.fixture
def page(browser, server):
    """A fresh browser context (no cookies) with the request guard; checked at the end."""
    base = server[0]
    ctx = browser.new_context(
        base_url=base, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    ctx.set_default_timeout(90_000)  # a lot page renders the whole lot report (matplotlib)
    ctx.set_default_navigation_timeout(180_000)
    guard = Guard(base)
    ctx.route("**/*", guard)
    pg = ctx.new_page()
    pg.guard = guard
    yield pg
    ctx.close()
    assert guard.seen, "the guard saw no request"
    assert not guard.outside, f"requests left the machine: {guard.outside}"


def _shot(page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def _login(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")


def test_guard_blocks_requests_to_other_hosts(page):
    page.goto("/login")
    # The portal's own CSP (img-src 'self') already stops this image: no request at all.
    page.evaluate("() => { const i = new Image(); i.src = 'https://cdn.example.com/x.png'; }")
    page.wait_for_timeout(300)
    assert page.guard.outside == []
    # A page without that policy: the request is made, and the guard catches and aborts it.
    page.goto("about:blank")
    page.set_content('<img src="https://cdn.example.com/y.png">')
    page.wait_for_timeout(300)
    assert page.guard.outside == ["https://cdn.example.com/y.png"]
    page.guard.outside.clear()  # the guard works; nothing else may be blocked


def test_login_wrong_password_lock_out_and_logout(page, server, shots):
    _base, _store, world = server
    page.goto("/")
    assert page.url.endswith("/login?next=%2Fportal%2F") or "/login" in page.url
    _shot(page, shots, "01-login")
    _login(page, world.emails["member"], "not my password")
    assert page.locator("p.flash.error").inner_text().startswith("Wrong e-mail or password")
    _shot(page, shots, "02-login-wrong-password")
    for _ in range(accounts.LOCK_AFTER):
        _login(page, "lockme@x.example", "not my password")
    assert "locked" in page.locator("p.flash.error").inner_text()
    _login(page, "lockme@x.example")  # the right password is refused while locked
    assert "locked" in page.locator("p.flash.error").inner_text()
    _shot(page, shots, "03-login-locked")
    _login(page, world.emails["member"])
    page.wait_for_url("**/portal/")
    assert world.emails["member"] in page.locator("header").inner_text()
    cookies = {c["name"]: c for c in page.context.cookies()}
    s = cookies["lc_session"]
    assert s["httpOnly"] and s["secure"] and s["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""  # nothing readable by scripts
    _shot(page, shots, "04-programme-member")
    page.click("header form[action='/logout'] button")
    page.wait_for_url("**/login")
    assert "You are signed out" in page.content()
    page.goto("/portal/search")
    assert "/login" in page.url


def test_search_component_and_certificate_download(page, server, shots):
    _base, _store, world = server
    _login(page, world.emails["member"])
    page.wait_for_url("**/portal/")
    page.click("nav >> text=Search")
    page.fill("input[name=manufacturer]", "ACME Lighting")
    page.select_option("select[name=publication]", "published")
    page.click("form.search button[type=submit]")
    links = page.locator("table.results td.code a")
    codes = set(links.all_inner_texts())
    expected = {printed(c) for c in world.api.codes[("ACME", "published")]}
    assert codes == expected
    _shot(page, shots, "05-search-results")
    page.click(f"text={world.certified}")
    page.wait_for_url(f"**/portal/components/{world.certified}")
    assert page.locator("h1").inner_text() == world.certified
    # The CIE figures load (rendered by the server) and the spectrum is not offered to a member.
    img = page.locator("img[alt='CIE 1931 x, y']")
    img.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    assert page.evaluate("document.querySelector(\"img[alt='CIE 1931 x, y']\").naturalWidth") > 100
    assert page.locator("a[href$='spectrum.csv']").count() == 0
    _shot(page, shots, "06-component-member")
    with page.expect_download() as dl:
        page.click(f"text=Test certificate {world.report_id} (PDF)")
    path = dl.value.path()
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF") and dl.value.suggested_filename == f"{world.report_id}.pdf"
    shutil.copy(path, shots / "certificate.pdf")


def test_member_cannot_reach_an_unpublished_component(page, server, shots):
    _base, _store, world = server
    hidden = printed(world.api.codes[("ACME", "unpublished")][0])
    _login(page, world.emails["member"])
    page.wait_for_url("**/portal/")
    page.goto("/portal/search?limit=200")
    shown = set(page.locator("table.results td.code a").all_inner_texts())
    assert shown and hidden not in shown  # no link to it
    resp = page.goto(f"/portal/components/{hidden}")  # typed URL
    assert resp.status == 404
    assert "No such component" in page.content()
    _shot(page, shots, "07-member-unpublished-404")
    resp = page.goto(f"/portal/components/{hidden}/certificate.pdf")
    assert resp.status == 404
    resp = page.goto(f"/portal/lots/{world.api.lots[('ACME', 'unpublished')]}")
    assert resp.status == 404


def test_manufacturer_sees_its_own_in_full(page, server, shots):
    _base, _store, world = server
    own = printed(world.api.codes[("ACME", "unpublished")][0])
    other = printed(world.api.codes[("BETA", "unpublished")][0])
    _login(page, world.emails["manufacturer"])
    page.wait_for_url("**/portal/")
    _shot(page, shots, "08-programme-manufacturer")
    resp = page.goto(f"/portal/components/{own}")
    assert resp.status == 200
    text = page.content()
    assert "full record" in text and "Not published" in text
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    assert page.evaluate("document.querySelector(\"img[alt='Spectral flux']\").naturalWidth") > 100
    _shot(page, shots, "09-component-manufacturer-own")
    with page.expect_download() as dl:
        page.click("text=Spectrum (IES TM-27 XML)")
    assert b"UniqueIdentifier" in Path(dl.value.path()).read_bytes()
    assert page.goto(f"/portal/components/{other}").status == 404
    page.goto(f"/portal/lots/{world.api.lots[('ACME', 'published')]}")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    assert "Failure causes" in page.content()
    _shot(page, shots, "10-lot")
    page.goto("/portal/account")
    page.fill("input[name=name]", "quality dashboard")
    page.click("text=Create a key")
    key = page.locator("#new-key").inner_text()
    assert re.fullmatch(r"lck_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
    _shot(page, shots, "11-account-new-key")


def test_a_form_without_its_csrf_token_is_refused(page, server, shots):
    _base, store, world = server
    lot = world.api.lots[("BETA", "unpublished")]
    _login(page, world.emails["lab"])
    page.wait_for_url("**/portal/")
    page.goto("/portal/lab")
    _shot(page, shots, "12-lab")
    form = f"form[action='/portal/lab/lots/{lot}/publish']"
    page.eval_on_selector(form, "f => f.querySelector('input[name=csrf_token]').remove()")
    page.click(f"{form} button")
    page.wait_for_load_state()
    assert "security token is missing or wrong" in page.content()
    _shot(page, shots, "13-csrf-refused")
    from sqlalchemy import select

    from lightcomp.store import Lot

    with store.session() as s:
        assert s.scalar(select(Lot.published_at).where(Lot.name == lot)) is None
    # With its token the same form publishes the lot.
    page.goto("/portal/lab")
    page.click(f"{form} button")
    page.wait_for_url("**/portal/lab")
    assert f"Lot {lot} published" in page.content()


def test_language_switch_and_browser_language(browser, server, shots):
    base, _store, world = server
    ctx = browser.new_context(
        base_url=base, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    ctx.set_default_timeout(90_000)
    ctx.set_default_navigation_timeout(180_000)
    guard = Guard(base)
    ctx.route("**/*", guard)
    page = ctx.new_page()
    try:
        page.goto("/login")
        assert page.locator("h1").inner_text() == "登录"  # from Accept-Language
        _shot(page, shots, "14-login-zh")
        _login(page, world.emails["lab"])
        page.wait_for_url("**/portal/")
        assert "项目总览" in page.content()
        page.goto(f"/portal/components/{world.certified}")
        _shot(page, shots, "15-component-zh")
        page.click("header .langs >> text=English")
        page.wait_for_url(f"**/portal/components/{world.certified}")
        assert "Results" in page.content() and "检测结果" not in page.content()
        page.click("nav >> text=Search")
        assert page.locator("h1").inner_text() == "Search components"  # the choice sticks
        page.click("header .langs >> text=中文")
        assert page.locator("h1").inner_text() == "查询组件"
        _shot(page, shots, "16-search-zh")
    finally:
        ctx.close()
    assert not guard.outside, guard.outside


def test_api_docs_work_offline(page, server, shots):
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=60000)
    assert (
        "lightcomp alliance query service" in page.locator(".swagger-ui .info .title").inner_text()
    )
    page.wait_for_selector("span.opblock-summary-path:has-text('/components/{code}')")
    _shot(page, shots, "17-docs")
    page.goto("/redoc")
    page.wait_for_selector("h1:has-text('lightcomp alliance query service')", timeout=60000)
    _shot(page, shots, "18-redoc")
