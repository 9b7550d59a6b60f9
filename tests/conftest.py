"""Shared fixtures.

PostgreSQL tests run when ``LIGHTCOMP_TEST_PG`` names a server URL (CI sets it,
see .ci/run); each test then gets its own schema, dropped afterwards, so tests
and parallel runs never see each other's rows. Without the variable they skip.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest

PG_ENV = "LIGHTCOMP_TEST_PG"


def pg_server_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def _fresh_pg_schema_url(base: str) -> tuple[str, str]:
    """Create a new schema on the PG server; return (url with search_path, schema)."""
    import sqlalchemy as sa

    schema = "t_" + uuid.uuid4().hex[:12]
    eng = sa.create_engine(base)
    with eng.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    eng.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", schema


def _drop_pg_schema(base: str, schema: str) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(base)
    with eng.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    eng.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a fresh SQLite database file."""
    return f"sqlite:///{tmp_path / 'lightcomp.db'}"


@pytest.fixture
def pg_url():
    """URL of a fresh, empty PostgreSQL schema (skips when LIGHTCOMP_TEST_PG is unset)."""
    base = pg_server_url()
    if not base:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    url, schema = _fresh_pg_schema_url(base)
    yield url
    _drop_pg_schema(base, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request, tmp_path):
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lightcomp.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url):
    """An opened store at the latest schema, on each backend."""
    from lightcomp.store import Store

    s = Store.open(db_url)
    yield s
    s.dispose()
