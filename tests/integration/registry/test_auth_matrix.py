"""The authorization matrix: every endpoint class x every kind of principal.

The application runs in-process (``create_app`` as uvicorn's factory builds it) on
SQLite with ``REGCAST_AUTH=basic``; the principals are those of ``auth_support``. Each
case names its request and the status each principal gets, and listings name what each
principal sees. A test checks the cases cover every class of ``auth.endpoints``.
Subjects: ``orders-value`` and ``public-value`` share schema A (id 1),
``payments-value`` holds B (id 2), ``secret-value`` holds C (id 3).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry_service.app import create_app
from registry_service.auth.endpoints import Access, EndpointTable
from registry_service.settings import Settings
from tests.integration.registry.auth_support import (
    PASSWORDS,
    basic_header,
    write_users_file,
)


def record(name: str) -> str:
    return json.dumps({"type": "record", "name": name, "fields": []})


A, B, C = record("A"), record("B"), record("C")
PRINCIPALS = ("anonymous", "reader", "writer", "admin")  # the order each case runs in


def headers_of(principal: str) -> dict[str, str]:
    return {} if principal == "anonymous" else basic_header(principal)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("auth-matrix")
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'registry.db'}",
        cache_poll_interval_ms=0,
        auth="basic",
        auth_file=write_users_file(tmp / "users.json"),
        auth_anonymous_role="viewer",
    )
    with TestClient(create_app(settings)) as client:
        admin = basic_header("admin")
        for subject, schema in (
            ("orders-value", A),
            ("public-value", A),
            ("payments-value", B),
            ("secret-value", C),
        ):
            answer = client.post(
                f"/subjects/{subject}/versions", json={"schema": schema}, headers=admin
            )
            assert answer.status_code == 200, answer.text
        yield client


def guid_of(client: TestClient, schema_id: int) -> str:
    guid: str = client.get(f"/schemas/ids/{schema_id}", headers=basic_header("admin")).json()[
        "guid"
    ]
    return guid


ALL = dict.fromkeys(PRINCIPALS, 200)


def by(anonymous: int, reader: int, writer: int, admin: int) -> dict[str, int]:
    return {"anonymous": anonymous, "reader": reader, "writer": writer, "admin": admin}


def only(*allowed: str, refused: int = 403) -> dict[str, int]:
    return {p: 200 if p in allowed else refused for p in PRINCIPALS}


COMPAT = "/compatibility/subjects/orders-value/versions"

# (method, path, body, expected status per principal); run in order, principals in order
CASES: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/", None, ALL),
    ("GET", "/health", None, ALL),
    ("GET", "/openapi.json", None, ALL),
    ("GET", "/schemas/types", None, ALL),
    ("GET", "/contexts", None, ALL),
    ("GET", "/associations/resources/-/orders", None, dict.fromkeys(PRINCIPALS, 404)),
    ("GET", "/subjects", None, ALL),
    ("GET", "/schemas", None, ALL),
    ("GET", "/schemas/ids/1", None, only("anonymous", "reader", "admin", refused=404)),
    ("GET", "/schemas/ids/3", None, only("admin", refused=404)),
    ("GET", "/schemas/ids/1?subject=secret-value", None, only("admin", refused=404)),
    ("GET", "/schemas/ids/3/schema", None, only("admin", refused=404)),
    ("GET", "/schemas/ids/1/subjects", None, only("anonymous", "reader", "admin", refused=404)),
    ("GET", "/schemas/ids/1/versions", None, only("anonymous", "reader", "admin", refused=404)),
    ("GET", "/schemas/ids/3/subjects", None, only("admin", refused=404)),
    ("GET", "/schemas/guids/{guid3}", None, only("admin", refused=404)),
    ("GET", "/schemas/guids/{guid3}/ids", None, only("admin", refused=404)),
    ("GET", "/subjects/orders-value/versions", None, only("reader", "admin")),
    ("GET", "/subjects/orders-value/versions/1", None, only("reader", "admin")),
    ("GET", "/subjects/orders-value/versions/latest/schema", None, only("reader", "admin")),
    ("GET", "/subjects/orders-value/versions/1/referencedby", None, only("reader", "admin")),
    ("GET", "/subjects/public-value/versions/latest", None, only("anonymous", "admin")),
    ("GET", "/subjects/secret-value/versions/1", None, only("admin")),
    # allowed, then 40403: no version of orders-value carries metadata
    (
        "GET",
        "/subjects/orders-value/metadata",
        None,
        {**only("reader", "admin"), "reader": 404, "admin": 404},
    ),
    ("POST", "/subjects/orders-value", {"schema": A}, only("reader", "admin")),
    ("POST", COMPAT + "/latest", {"schema": A}, only("reader", "admin")),
    ("POST", COMPAT, {"schema": A}, only("reader", "admin")),
    ("POST", "/subjects/payments-value/versions", {"schema": B}, only("writer", "admin")),
    ("POST", "/subjects/orders-value/versions", {"schema": A}, only("admin")),
    ("POST", "/subjects/secret-value/versions", {"schema": C}, only("admin")),
    ("GET", "/config", None, only("anonymous", "admin")),
    ("PUT", "/config", {"compatibility": "BACKWARD"}, only("admin")),
    ("DELETE", "/config", None, only("admin")),
    ("GET", "/config/orders-value?defaultToGlobal=true", None, only("reader", "admin")),
    ("PUT", "/config/payments-value", {"compatibility": "FULL"}, only("writer", "admin")),
    ("DELETE", "/config/payments-value", None, by(403, 403, 200, 404)),
    ("GET", "/mode", None, only("anonymous", "admin")),
    ("PUT", "/mode", {"mode": "READWRITE"}, only("admin")),
    ("DELETE", "/mode", None, only("admin")),
    ("GET", "/mode/orders-value?defaultToGlobal=true", None, only("reader", "admin")),
    ("PUT", "/mode/payments-value", {"mode": "READWRITE"}, only("admin")),
    ("DELETE", "/mode/payments-value", None, only("admin")),
    ("DELETE", "/contexts/.ctx", None, {p: 403 for p in PRINCIPALS} | {"admin": 204}),
    ("POST", "/associations", {}, {p: 422 for p in PRINCIPALS}),
    ("DELETE", "/associations/resources/x", None, dict.fromkeys(PRINCIPALS, 404)),
    # deletes last: the writer deletes payments-value's version, then the subject
    ("DELETE", "/subjects/payments-value/versions/1", None, by(403, 403, 200, 404)),
    ("DELETE", "/subjects/payments-value", None, by(403, 403, 404, 404)),
    ("DELETE", "/subjects/secret-value", None, only("admin")),
]  # fmt: skip


def resolve(client: TestClient, path: str) -> str:
    return path.replace("{guid3}", guid_of(client, 3)) if "{guid3}" in path else path


def test_the_cases_cover_every_endpoint_class() -> None:
    table = EndpointTable()
    covered = set()
    for method, path, _, _ in CASES:
        endpoint = table.match(method, path.split("?")[0].replace("{guid3}", "g"))
        assert endpoint is not None, path
        covered.add(endpoint.access)
    assert covered == set(Access)


def test_authorization_matrix(secured: TestClient) -> None:
    failures = []
    for method, path, body, expected in CASES:
        for principal in PRINCIPALS:
            answer = secured.request(
                method, resolve(secured, path), json=body, headers=headers_of(principal)
            )
            got = answer.status_code
            if got != expected[principal]:
                failures.append(f"{principal} {method} {path}: {got} {answer.text[:120]}")
            if got == 403:
                assert answer.json()["error_code"] == 40301
    assert not failures, "\n".join(failures)


def test_listings_are_filtered(secured: TestClient) -> None:
    def seen(principal: str, path: str) -> Any:
        answer = secured.get(path, headers=headers_of(principal))
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert seen("reader", "/subjects") == ["orders-value"]
    assert seen("anonymous", "/subjects") == ["public-value"]
    assert "payments-value" in seen("writer", "/subjects?deleted=true")
    assert "secret-value" in seen("admin", "/subjects?deleted=true")
    assert {s["subject"] for s in seen("reader", "/schemas")} == {"orders-value"}
    assert {s["subject"] for s in seen("anonymous", "/schemas")} == {"public-value"}
    assert seen("reader", "/schemas/ids/1/subjects") == ["orders-value"]
    assert seen("anonymous", "/schemas/ids/1/versions") == [
        {"subject": "public-value", "version": 1}
    ]
    assert seen("admin", "/schemas/ids/1/subjects") == ["orders-value", "public-value"]


def test_no_credentials_without_anonymous_role_is_401(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        cache_poll_interval_ms=0,
        auth="basic",
        auth_file=write_users_file(tmp_path / "users.json"),
    )
    with TestClient(create_app(settings)) as client:
        for path in (
            "/subjects",
            "/schemas/ids/1",
            "/subjects/s/versions/1",
            "/config",
            "/nowhere",
        ):
            answer = client.get(path)
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"] == 'Basic realm="regcast"'
            assert answer.json()["error_code"] == 40101
        assert client.get("/health").status_code == 200
        assert client.get("/").status_code == 200
        wrong = client.get("/subjects", headers=basic_header("reader", "wrong"))
        assert wrong.status_code == 401 and wrong.json()["error_code"] == 40101
        nobody = client.get("/subjects", headers={"Authorization": "Basic bm9ib2R5Ong="})
        assert nobody.status_code == 401  # nobody:x, a user the file does not have


def test_the_cached_hot_paths_leak_nothing(secured: TestClient) -> None:
    """HotPaths answers these from the cache before routing: after the admin has filled
    the cache, a principal without the permission still gets nothing."""
    admin = basic_header("admin")
    secured.post("/subjects/hot-secret/versions", json={"schema": record("Hot")}, headers=admin)
    for _ in range(2):  # a miss that fills the cache, then a hit
        by_id = secured.get("/schemas/ids/4", headers=admin)
        assert by_id.status_code == 200 and "Hot" in by_id.json()["schema"]
        assert secured.get("/subjects/hot-secret/versions/1", headers=admin).status_code == 200
    for principal in ("anonymous", "reader", "writer"):
        hdrs = headers_of(principal)
        by_id = secured.get("/schemas/ids/4", headers=hdrs)
        assert by_id.status_code == 404 and "Hot" not in by_id.text
        version = secured.get("/subjects/hot-secret/versions/1", headers=hdrs)
        assert version.status_code == 403 and "Hot" not in version.text
        again = secured.post(
            "/subjects/hot-secret/versions", json={"schema": record("Hot")}, headers=hdrs
        )  # a cached re-registration would answer the id
        assert again.status_code == 403 and '"id"' not in again.text


def test_no_secret_reaches_the_logs(secured: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for user, password in PASSWORDS.items():
        secured.get("/subjects", headers=basic_header(user, password))
        secured.get("/subjects", headers=basic_header(user, password + "-wrong"))
    text = caplog.text
    for password in PASSWORDS.values():
        assert password not in text
    assert "Basic " not in text
