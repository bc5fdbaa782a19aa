"""Cached reads: same answers as the routers, no database, invalidated by writes.

``middleware.HotPaths`` answers ``GET /schemas/ids/{id}``,
``GET /subjects/{s}/versions/{v}`` and re-registrations from the cache before FastAPI
routes them. Here every such request is made twice against the real application (first
a miss that the router answers and that fills the cache, then a hit), and then a third
time with the database made unusable, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry_service.storage import Store, StoreUnavailableError

USER_V1 = json.dumps({"type": "record", "name": "U", "fields": [{"name": "a", "type": "int"}]})
USER_V2 = json.dumps(
    {
        "type": "record",
        "name": "U",
        "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "int", "default": 0}],
    }
)
PROTO = 'syntax = "proto3";\npackage demo;\nmessage Ping { string text = 1; }\n'

# (method, path, body): the calls serializers and deserializers repeat
CACHED_CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/schemas/ids/1", None),
    ("GET", "/schemas/ids/1?subject=s", None),
    ("GET", "/schemas/ids/2?subject=s&format=", None),
    ("GET", "/schemas/ids/3?format=serialized", None),
    ("GET", "/subjects/s/versions/latest", None),
    ("GET", "/subjects/s/versions/1?deleted=false", None),
    ("GET", "/subjects/s/versions/-1?deleted=True", None),
    ("GET", "/subjects/pb/versions/latest?format=serialized", None),
    ("GET", "/subjects/s/versions/7", None),  # 40402, known from the cached versions
    ("POST", "/subjects/s/versions", {"schema": USER_V1}),
    ("POST", "/subjects/s/versions?normalize=false", {"schema": USER_V2, "references": []}),
    ("POST", "/subjects/pb/versions", {"schema": PROTO, "schemaType": "PROTOBUF"}),
]


class UnusableStore(Store):
    """Stands in for a database that is gone: every access fails."""

    def read(self) -> Any:
        raise StoreUnavailableError("database unplugged by the test")

    def write(self) -> Any:
        raise StoreUnavailableError("database unplugged by the test")

    def generation(self) -> int:
        raise StoreUnavailableError("database unplugged by the test")

    def ping(self) -> None:
        raise StoreUnavailableError("database unplugged by the test")

    def close(self) -> None:
        pass


@contextmanager
def database_unplugged(client: TestClient) -> Iterator[None]:
    service = client.app.state.service  # type: ignore[attr-defined]
    real = service.store
    service.store = UnusableStore()
    try:
        yield
    finally:
        service.store = real


def call(client: TestClient, method: str, path: str, body: dict[str, Any] | None) -> Any:
    response = client.request(method, path, json=body)
    return response.status_code, response.headers["content-type"], response.content


def populate(client: TestClient) -> None:
    for subject, schema, schema_type in (
        ("s", USER_V1, "AVRO"),
        ("s", USER_V2, "AVRO"),
        ("pb", PROTO, "PROTOBUF"),
    ):
        body = {"schema": schema, "schemaType": schema_type}
        assert client.post(f"/subjects/{subject}/versions", json=body).status_code == 200


def test_cached_answers_are_the_routers_and_need_no_database(client: TestClient) -> None:
    populate(client)
    first = [call(client, *c) for c in CACHED_CALLS]  # misses: the routers answer
    assert [status for status, _, _ in first] == [200] * 8 + [404] + [200] * 3
    second = [call(client, *c) for c in CACHED_CALLS]
    assert second == first
    with database_unplugged(client):
        third = [call(client, *c) for c in CACHED_CALLS]
        assert third == first
        # ...while anything that must read really cannot, the registration of a new
        # schema (which the shortcut passes to the service) included:
        unplugged = client.get("/subjects")
        assert unplugged.status_code == 500 and unplugged.json()["error_code"] == 50003
        new = json.dumps({"type": "record", "name": "New", "fields": []})
        refused = client.post("/subjects/s/versions", json={"schema": new})
        assert refused.status_code == 500 and refused.json()["error_code"] == 50003


def test_what_the_shortcut_does_not_take_reaches_the_router(client: TestClient) -> None:
    populate(client)
    client.get("/subjects/s/versions/latest")  # cached from here on
    assert client.get("/subjects/s/versions/latest?unknown=1").json()["version"] == 2
    bad_version = client.get("/subjects/s/versions/0")
    assert (bad_version.status_code, bad_version.json()["error_code"]) == (422, 42202)
    bad_flag = client.get("/subjects/s/versions/latest?deleted=maybe")
    assert (bad_flag.status_code, bad_flag.json()["error_code"]) == (422, 422)
    wrong_type = client.post("/subjects/s/versions", json={"schema": USER_V1, "version": "1"})
    assert (wrong_type.status_code, wrong_type.json()["error_code"]) == (422, 422)
    imported = client.post("/subjects/s/versions", json={"schema": USER_V1, "id": 1})
    assert (imported.status_code, imported.json()["error_code"]) == (422, 42205)


@pytest.mark.parametrize("chunks", [1, 3])
def test_register_bodies_read_by_the_shortcut_reach_the_router_intact(
    client: TestClient, chunks: int
) -> None:
    """A body the shortcut does not take (a version) reaches the router as it was sent,
    however it arrived."""
    raw = json.dumps({"schema": USER_V1, "version": 1}).encode()
    size = len(raw) // chunks + 1
    parts = [raw[i : i + size] for i in range(0, len(raw), size)]
    response = client.post(
        "/subjects/fresh/versions",
        content=iter(parts),
        headers={"Content-Type": "application/json", "Content-Length": str(len(raw))},
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1


def test_own_writes_are_seen_at_once(client: TestClient) -> None:
    populate(client)
    latest = "/subjects/s/versions/latest"
    assert client.get(latest).json()["version"] == 2
    assert client.get(latest).json()["version"] == 2  # from the cache
    assert client.delete("/subjects/s/versions/2").status_code == 200
    assert client.get(latest).json()["version"] == 1
    assert client.get("/subjects/s/versions/2").status_code == 404
    assert client.get("/subjects/s/versions/2?deleted=true").json()["deleted"] is True
    client.put("/config/s", json={"compatibility": "NONE"})
    incompatible = json.dumps({"type": "record", "name": "U", "fields": []})
    assert client.post("/subjects/s/versions", json={"schema": incompatible}).status_code == 200
    assert client.get(latest).json()["version"] == 3
    client.put("/mode/s", json={"mode": "READONLY"})
    other = json.dumps({"type": "record", "name": "W", "fields": []})
    refused = client.post("/subjects/s/versions", json={"schema": other})
    assert refused.json()["error_code"] == 42205
    # As in Confluent's registry, re-registering what the subject has writes nothing and
    # is answered in any mode.
    assert client.post("/subjects/s/versions", json={"schema": USER_V1}).json()["version"] == 1
