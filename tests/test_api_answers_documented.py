"""Every answer the API gives is in its OpenAPI document: 413 (over-long URL, before
routing) on every operation, 422 on every operation with parameters (schemathesis
found both undocumented)."""

from __future__ import annotations

import pytest
from _api_helpers import build_world
from fastapi.testclient import TestClient

from lightcomp.api import create_app
from lightcomp.store import Store


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('oa') / 'a.db'}")
    world = build_world(store)
    app = create_app(store)
    with TestClient(app) as client:
        yield client, app.openapi(), world
    store.dispose()


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


def _concrete(path: str, world) -> str:
    code = next(iter(world.codes.values()))[0]
    lot = next(iter(world.lots.values()))
    return path.replace("{code}", code).replace("{lot}", lot)


def test_413_documented_and_answered_everywhere(api):
    client, doc, world = api
    headers = {"Authorization": f"Bearer {world.keys['lab']}"}
    for path, method, op in _operations(doc):
        assert "413" in op["responses"], (method, path)
        r = client.request(method, _concrete(path, world) + "?pad=" + "x" * 5000, headers=headers)
        assert r.status_code == 413, (path, r.status_code)
        assert str(r.status_code) in op["responses"]
        assert "detail" in r.json()


def test_422_documented_where_parameters_are_checked(api):
    client, doc, world = api
    headers = {"Authorization": f"Bearer {world.keys['lab']}"}
    bad = {
        "/components/{code}": "/components/NOT-A-CODE",
        "/components/{code}/spectrum": "/components/NOT-A-CODE/spectrum",
        "/components": "/components?limit=-1",
        "/lots/{lot}/yield": "/lots/" + "x" * 300 + "/yield",
    }
    for path, method, op in _operations(doc):
        if op.get("parameters"):
            assert "422" in op["responses"], (method, path)
        if path in bad:
            r = client.request(method, bad[path], headers=headers)
            assert str(r.status_code) in op["responses"], (path, r.status_code, r.text)
