"""CLI of the query service: `apikey create|list|revoke`, `publish`, `withdraw`, `serve`."""

from __future__ import annotations

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


def test_serve_answers_health_and_openapi(sqlite_url):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lightcomp.cli", "serve", "--db", sqlite_url, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not start in 30 s"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert "/components/{code}" in httpx.get(f"{base}/openapi.json").json()["paths"]
        assert httpx.get(f"{base}/components").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
