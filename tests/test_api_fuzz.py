"""Schema-driven fuzz of the query service (schemathesis against /openapi.json, in-process).

Every operation of the OpenAPI document gets generated requests -- valid and
invalid parameters -- sent to the ASGI app with a lab key (sees everything) and
a member key; the responses must never be 5xx and must match the documented
schemas. Examples are bounded so the whole file runs in well under a minute.
"""

from __future__ import annotations

import atexit
import tempfile
from pathlib import Path

import pytest
import schemathesis
from _api_helpers import build_world, drop_pg_schema, fresh_pg_url
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lightcomp.api import create_app
from lightcomp.store import Store

# The schema is loaded from the app at import (schemathesis' lazy fixture loader does
# not work with pytest 9); the data goes in once per module, before the first case.
_TMP = tempfile.TemporaryDirectory(prefix="lightcomp-fuzz-")
_STORE = Store.open(f"sqlite:///{Path(_TMP.name) / 'fuzz.db'}")
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_STORE))


@pytest.fixture(scope="module")
def keys():
    world = build_world(_STORE)
    yield world.keys
    _STORE.dispose()
    _TMP.cleanup()


# status_code_conformance: every answer is documented (413 and 422 were not, once).
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]


FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.parametrize()
@FUZZ
def test_api_fuzz_lab_key(case, keys):
    case.call_and_validate(headers={"Authorization": f"Bearer {keys['lab']}"}, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_api_fuzz_member_key(case, keys):
    case.call_and_validate(headers={"Authorization": f"Bearer {keys['member']}"}, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_api_fuzz_without_key(case):
    """Anonymous requests: 401 everywhere but /health, never a server error."""
    response = case.call_and_validate(checks=[not_a_server_error])
    if case.path != "/health":
        # 401 normally; 405/404/413/422 when the mutated request never reaches a route.
        assert response.status_code in (401, 404, 405, 413, 422), response.status_code
        if case.method.upper() == "GET" and response.status_code not in (404, 413):
            assert response.status_code in (401, 422)


# The same fuzz against PostgreSQL (stricter about values: NUL bytes, integer
# ranges), with the lab key, when LIGHTCOMP_TEST_PG names a server.
_PG = fresh_pg_url()
if _PG is not None:
    _PG_URL, _PG_SCHEMA, _PG_BASE = _PG
    _PG_STORE = Store.open(_PG_URL)

    def _drop_pg() -> None:
        _PG_STORE.dispose()
        drop_pg_schema(_PG_BASE, _PG_SCHEMA)

    atexit.register(_drop_pg)
    schema_pg = schemathesis.openapi.from_asgi("/openapi.json", create_app(_PG_STORE))

    @pytest.fixture(scope="module")
    def pg_keys():
        return build_world(_PG_STORE).keys

    @schema_pg.parametrize()
    @FUZZ
    @pytest.mark.pg
    def test_api_fuzz_lab_key_postgresql(case, pg_keys):
        case.call_and_validate(headers={"Authorization": f"Bearer {pg_keys['lab']}"}, checks=CHECKS)

else:

    @pytest.mark.pg
    def test_api_fuzz_lab_key_postgresql():
        pytest.skip("LIGHTCOMP_TEST_PG not set: PostgreSQL tests skipped")
