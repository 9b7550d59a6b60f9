"""CLI of the portal accounts: `lightcomp user add|list|disable|reset` (password on stdin)."""

from __future__ import annotations

import io
import sys

import pytest
from sqlalchemy import func, select

from lightcomp.api.portal import accounts
from lightcomp.cli import main
from lightcomp.store import AuditEvent, Manufacturer, Store

PW = "a long enough password"


def _run(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_store(db_url):
    store = Store.open(db_url)
    with store.transaction() as s:
        s.add(Manufacturer(registry_id="M001", name="ACME Lighting"))
    yield db_url, store
    store.dispose()


def _users(store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(accounts.PortalUser))


def test_user_add_list_disable_reset(cli_store, capsys, monkeypatch):
    url, store = cli_store
    code, out, err = _run(
        capsys, monkeypatch, "user", "add", "--email", "QE@Acme.example", "--role",
        "manufacturer", "--manufacturer", "M001", "--password-stdin", "--db", url, stdin=PW + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert "qe@acme.example" in out
    with store.session() as s:
        u = s.scalars(select(accounts.PortalUser)).one()
        assert u.password_hash.startswith("$argon2id$")
        assert PW not in u.password_hash
        assert s.scalar(select(Manufacturer.name).where(Manufacturer.id == u.manufacturer_id)) == (
            "ACME Lighting"
        )
    with store.transaction() as s:
        assert accounts.verify_login(s, "qe@acme.example", PW).status == "ok"
    code, out, _ = _run(capsys, monkeypatch, "user", "list", "--db", url)
    assert code == 0 and "qe@acme.example" in out and "active" in out and "ACME" in out
    code, out, _ = _run(
        capsys, monkeypatch, "user", "reset", "--email", "qe@acme.example", "--password-stdin",
        "--db", url, stdin="another long password\n",
    )  # fmt: skip
    assert code == 0
    with store.transaction() as s:
        assert accounts.verify_login(s, "qe@acme.example", PW).status == "bad"
        assert accounts.verify_login(s, "qe@acme.example", "another long password").status == "ok"
    code, out, _ = _run(
        capsys, monkeypatch, "user", "disable", "--email", "qe@acme.example", "--db", url
    )
    assert code == 0
    code, out, _ = _run(capsys, monkeypatch, "user", "list", "--db", url)
    assert "disabled" in out
    with store.transaction() as s:
        assert accounts.verify_login(s, "qe@acme.example", "another long password").status == (
            "disabled"
        )
    with store.session() as s:
        kinds = s.scalars(select(AuditEvent.kind).order_by(AuditEvent.id)).all()
    assert kinds == ["user.add", "user.reset", "user.disable"]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--role", "boss", "--password-stdin"], PW, "unknown role 'boss'"),
        (["--role", "manufacturer", "--password-stdin"], PW, "needs --manufacturer"),
        (["--role", "member", "--manufacturer", "M001", "--password-stdin"], PW, "only applies"),
        (["--role", "manufacturer", "--manufacturer", "NOPE", "--password-stdin"], PW, "unknown manufacturer"),
        (["--role", "member", "--password-stdin"], "short", "at least 10"),
        (["--role", "member", "--password-stdin"], "", "no password"),
        (["--role", "member"], PW, "--password-stdin"),
    ],
)  # fmt: skip
def test_user_add_refusals_change_nothing(cli_store, capsys, monkeypatch, argv, stdin, message):
    url, store = cli_store
    code, out, err = _run(
        capsys, monkeypatch, "user", "add", "--email", "a@b.example", *argv, "--db", url,
        stdin=stdin + "\n" if stdin else "",
    )  # fmt: skip
    assert code == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert _users(store) == 0


def test_duplicate_and_unknown_users(cli_store, capsys, monkeypatch):
    url, store = cli_store
    args = ("user", "add", "--email", "a@b.example", "--role", "member", "--password-stdin")
    assert _run(capsys, monkeypatch, *args, "--db", url, stdin=PW + "\n")[0] == 0
    code, _, err = _run(capsys, monkeypatch, *args, "--db", url, stdin=PW + "\n")
    assert code == 2 and "already exists" in err
    code, _, err = _run(capsys, monkeypatch, "user", "add", "--email", "not-an-email", "--role",
                        "member", "--password-stdin", "--db", url, stdin=PW + "\n")  # fmt: skip
    assert code == 2 and "not an e-mail address" in err
    code, _, err = _run(
        capsys, monkeypatch, "user", "disable", "--email", "x@y.example", "--db", url
    )
    assert code == 2 and "no portal user" in err
    assert (
        _run(capsys, monkeypatch, "user", "disable", "--email", "a@b.example", "--db", url)[0] == 0
    )
    code, _, err = _run(
        capsys, monkeypatch, "user", "disable", "--email", "a@b.example", "--db", url
    )
    assert code == 2 and "already disabled" in err
    assert _users(store) == 1
