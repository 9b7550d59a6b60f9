"""CLI of the query service: `apikey create|list|revoke`, `publish`, `withdraw`, `serve`."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import select

from lightcomp.api.keys import authenticate, hash_api_key, parse_api_key
from lightcomp.cli import main
from lightcomp.store import ApiPrincipal, AuditEvent, Lot, Manufacturer, Store


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def world_store(sqlite_url):
    store = Store.open(sqlite_url)
    yield store
    store.dispose()


@pytest.fixture
def cli_store(db_url):
    store = Store.open(db_url)
    with store.transaction() as s:
        s.add(Manufacturer(registry_id="M001", name="ACME Lighting"))
        s.add(Lot(name="L-1"))
    yield db_url, store
    store.dispose()


def test_apikey_create_list_revoke(cli_store, capsys):
    url, store = cli_store
    code, out, _ = _run(
        capsys,
        "apikey",
        "create",
        "--role",
        "manufacturer",
        "--manufacturer",
        "M001",
        "--name",
        "acme qa",
        "--db",
        url,
    )
    assert code == 0
    key = out.strip().splitlines()[-1]
    prefix = parse_api_key(key)
    assert prefix is not None  # the last line is the key, alone
    with store.transaction() as s:
        p = s.scalars(select(ApiPrincipal)).one()
        assert p.key_prefix == prefix
        assert p.key_hash == hash_api_key(key) and key not in p.key_hash
        assert p.role == "manufacturer" and p.name == "acme qa"
        who = authenticate(s, key)
        assert who is not None and who.manufacturer_id == p.manufacturer_id

    code, out, _ = _run(capsys, "apikey", "list", "--db", url)
    assert code == 0 and prefix in out and "acme qa" in out and key not in out

    code, out, _ = _run(capsys, "apikey", "revoke", prefix, "--db", url)
    assert code == 0 and "revoked" in out
    with store.transaction() as s:
        assert authenticate(s, key) is None
        kinds = [e.kind for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert kinds == ["apikey.create", "apikey.revoke"]
    code, _, err = _run(capsys, "apikey", "revoke", prefix, "--db", url)
    assert code == 2 and "already revoked" in err


def test_apikey_create_bad_input(cli_store, capsys):
    url, _ = cli_store
    code, _, err = _run(capsys, "apikey", "create", "--role", "manufacturer", "--db", url)
    assert code == 2 and "--manufacturer" in err
    code, _, err = _run(capsys, "apikey", "create", "--role", "root", "--db", url)
    assert code == 2 and "unknown role" in err
    code, _, err = _run(
        capsys, "apikey", "create", "--role", "manufacturer", "--manufacturer", "NOPE", "--db", url
    )
    assert code == 2 and "unknown manufacturer" in err
    code, _, err = _run(capsys, "apikey", "revoke", "abcdef123456", "--db", url)
    assert code == 2 and "no API key" in err


def test_publish_and_withdraw(cli_store, capsys):
    url, store = cli_store
    code, _, err = _run(capsys, "withdraw", "--lot", "L-1", "--reason", "x", "--db", url)
    assert code == 2 and "not published" in err
    assert _run(capsys, "publish", "--lot", "L-1", "--db", url)[0] == 0
    code, _, err = _run(capsys, "publish", "--lot", "L-1", "--db", url)
    assert code == 2 and "already published" in err
    code, _, err = _run(capsys, "withdraw", "--lot", "L-1", "--reason", "  ", "--db", url)
    assert code == 2 and "reason" in err
    code, out, _ = _run(
        capsys, "withdraw", "--lot", "L-1", "--reason", "mislabelled CCT", "--db", url
    )
    assert code == 0
    with store.transaction() as s:
        lot = s.scalars(select(Lot)).one()
        assert lot.published_at is not None and lot.withdrawn_at is not None
        assert lot.withdraw_reason == "mislabelled CCT"
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.kind for e in events] == ["lot.publish", "lot.withdraw"]
        assert events[1].details["reason"] == "mislabelled CCT"
    code, _, err = _run(capsys, "publish", "--lot", "L-1", "--db", url)
    assert code == 2 and "withdrawn" in err
    code, _, err = _run(capsys, "publish", "--lot", "NOPE", "--db", url)
    assert code == 2 and "unknown lot" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_health_and_openapi(sqlite_url, tmp_path):
    """...and writes the access log: method, path, status, duration, key prefix, never the
    key (neither from the Authorization header nor pasted into a URL)."""
    from lightcomp.api.keys import create_api_key

    store = Store.open(sqlite_url)
    with store.transaction() as s:
        _, key = create_api_key(s, "lab", name="log test")
    store.dispose()
    prefix = parse_api_key(key)
    log_file = tmp_path / "access.log"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lightcomp.cli", "serve", "--db", sqlite_url, "--port", str(port),
         "--access-log", str(log_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90  # start-up under a loaded CI machine
        while True:
            try:
                r = httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not start in 90 s"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert "/components/{code}" in httpx.get(f"{base}/openapi.json").json()["paths"]
        assert httpx.get(f"{base}/components").status_code == 401
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{base}/components", params={"limit": 5}, headers=auth).is_success
        assert httpx.get(f"{base}/components/{key}", headers=auth).status_code in (404, 422)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = log_file.read_text().splitlines()
    assert key not in log_file.read_text() and key[20:] not in log_file.read_text()
    assert any(" GET /health 200 " in ln and ln.endswith(" key=-") for ln in lines), lines
    assert any(" GET /components 401 " in ln for ln in lines), lines
    hit = [ln for ln in lines if " GET /components?limit=5 200 " in ln]
    assert len(hit) == 1 and hit[0].endswith(f" key={prefix}"), lines
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1 GET ", hit[0])
    assert re.search(r" 200 \d+\.\d ms key=", hit[0])
    assert any(f"/components/lck_{prefix}_… " in ln for ln in lines), lines  # redacted


def test_access_log_never_holds_the_key(world_store, caplog):
    """In-process: every answer (200, 401, 404, 413, 422) gets one line with the key's
    prefix or '-' / 'malformed', and no line holds the key."""
    import logging

    from fastapi.testclient import TestClient

    from lightcomp.api import create_app
    from lightcomp.api.keys import create_api_key
    from lightcomp.api.middleware import ACCESS_LOGGER

    with world_store.transaction() as s:
        _, key = create_api_key(s, "lab", name="log test")
    prefix = parse_api_key(key)
    auth = {"Authorization": f"Bearer {key}"}
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    with TestClient(create_app(world_store, max_url_chars=200)) as client:
        answers = [
            client.get("/components", headers=auth).status_code,
            client.get("/components").status_code,
            client.get("/components", headers={"Authorization": "Bearer nope"}).status_code,
            client.get("/components", params={"cct_mn": 1}, headers=auth).status_code,
            client.get(f"/components/{key}", headers=auth).status_code,
            client.get("/components", params={"x": key * 4}, headers=auth).status_code,
        ]
    assert answers[:4] == [200, 401, 401, 422] and answers[5] == 413
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(lines) == len(answers)
    assert all(key not in ln and key[20:] not in ln for ln in lines)
    assert [ln.rsplit(" key=", 1)[1] for ln in lines] == [prefix, "-", "malformed", *[prefix] * 3]
    for ln, status in zip(lines, answers, strict=True):
        assert re.fullmatch(rf"testclient GET /components\S* {status} \d+\.\d ms key=\S+", ln)
