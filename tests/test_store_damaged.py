"""Damaged stores get one-line errors naming the problem, never a traceback: a corrupted
SQLite page, two alembic_version rows, a missing table, a schema from a newer lightcomp,
and a store in a read-only folder (the message says how to open it read-only)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lightcomp.cli import main
from lightcomp.store import Store

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "station" / "registry" / "demo.toml"


@pytest.fixture
def made(tmp_path):
    """A SQLite store with the demo registry and three codes; returns its path."""
    path = tmp_path / "store" / "lc.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    assert main(["registry", "import", str(DEMO), "--db", url]) == 0
    assert main(["code", "new", "-m", "M0001", "-f", "LS0-COB-4000", "-n", "3", "--db", url]) == 0
    Store.open(url).dispose()
    return path


def _one_line_error(capsys, argv, *needles) -> str:
    capsys.readouterr()
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for n in needles:
        assert n in err, err
    return err


def _code_new(path):
    return ["code", "new", "-m", "M0001", "-f", "LS0-COB-4000", "--db", f"sqlite:///{path}"]


def test_corrupted_page(made, capsys):
    con = sqlite3.connect(made)
    page = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='components'").fetchone()[0]
    con.close()
    with open(made, "r+b") as fh:  # scribble over the components table's root page
        fh.seek(page * (root - 1))
        fh.write(b"\x07" * 64)
    _one_line_error(capsys, _code_new(made), "is damaged", "malformed", ".recover")


def test_file_that_is_not_a_database(tmp_path, capsys):
    bad = tmp_path / "x.db"
    bad.write_bytes(os.urandom(200))
    _one_line_error(capsys, _code_new(bad), "is damaged", "not a database")


def test_two_alembic_version_rows(made, capsys):
    con = sqlite3.connect(made)
    con.execute("INSERT INTO alembic_version VALUES ('0001')")
    con.commit()
    con.close()
    _one_line_error(capsys, _code_new(made), "alembic_version", "2 rows", "ambiguous")
    _one_line_error(capsys, ["db", "current", "--db", f"sqlite:///{made}"], "2 rows")


def test_missing_table(made, capsys):
    con = sqlite3.connect(made)
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("DROP TABLE certificates")
    con.commit()
    con.close()
    _one_line_error(capsys, _code_new(made), "table(s) certificates missing", "damaged")


def test_schema_from_a_newer_lightcomp(made, capsys):
    con = sqlite3.connect(made)
    con.execute("UPDATE alembic_version SET version_num = '0999_future'")
    con.commit()
    con.close()
    err = _one_line_error(capsys, _code_new(made), "0999_future", "newer lightcomp")
    assert "run `lightcomp db upgrade`" not in err
    _one_line_error(capsys, ["db", "upgrade", "--db", f"sqlite:///{made}"], "newer lightcomp")


def test_older_schema_can_be_upgraded(tmp_path, capsys):
    """`db upgrade` on an older store upgrades it (it must not repeat its own advice)."""
    from lightcomp.store.engine import make_engine, resolve_url

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    old = Store(make_engine(resolve_url(url)))
    old.upgrade("0002_lm80")  # a store written before this revision
    old.dispose()
    _one_line_error(capsys, _code_new(path), "run `lightcomp db upgrade`")
    assert main(["db", "upgrade", "--db", url]) == 0
    assert main(["registry", "import", str(DEMO), "--db", url]) == 0
    assert main(_code_new(path)) == 0


def _without_root_powers() -> list[str]:
    """Command prefix that makes root obey file permissions (drop CAP_DAC_*)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a folder read-only")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def test_read_only_folder_says_how_to_open_read_only(made):
    folder = made.parent
    folder.chmod(0o555)
    made.chmod(0o444)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [*_without_root_powers(), sys.executable, "-m", "lightcomp.cli"]
        url = f"sqlite:///{made}"
        r = subprocess.run(
            [*cmd, "records", "--format", "csv", "--db", url],
            capture_output=True,
            text=True,
            env=env,
        )
        assert r.returncode == 2, r.stderr
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and "read-only" in lines[0], r.stderr
        ro_url = lines[0].split("--db '")[1].split("'")[0]
        assert "immutable=1" in ro_url
        # ... and the URL it gives does open the store, read-only
        r = subprocess.run(
            [*cmd, "db", "current", "--db", ro_url], capture_output=True, text=True, env=env
        )
        assert r.returncode == 0, r.stderr
        assert "0" in r.stdout
        r = subprocess.run(
            [*cmd, *(_code_new(made)[:-2]), "--db", ro_url],
            capture_output=True,
            text=True,
            env=env,
        )
        assert r.returncode == 2 and "read-only" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    finally:
        folder.chmod(0o755)
        made.chmod(0o644)
