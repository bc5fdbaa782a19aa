"""Schema contexts over HTTP, on SQLite and PostgreSQL: qualified subjects (``:.ctx:s``),
an id space and version numbers per context, settings that fall back subject ->
context -> global, ``/contexts`` and the ``/contexts/{c}/...`` URL prefix, and a
database of the previous table layout migrated in place."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from confluent_kafka.schema_registry import (
    ConfigCompatibilityLevel,
    Schema,
    SchemaRegistryClient,
    ServerConfig,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastapi import FastAPI
from fastapi.testclient import TestClient

from regcast.local_broker import stop_process
from registry_service.settings import resolve_database_url
from tests.integration.registry.auth_support import (
    PASSWORDS,
    basic_header,
    user_entry,
    users_document,
    write_users_file,
)
from tests.integration.registry.test_api import (
    ADDRESS,
    CUSTOMER,
    USER_V1,
    USER_V2,
    error,
    register,
    register_id,
)
from tests.support.registry import serve_registry

# Not BACKWARD compatible with USER_V1: a new field without a default.
USER_BAD = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [{"name": "id", "type": "long"}, {"name": "age", "type": "int"}],
    }
)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_two_contexts_hold_the_same_subject_with_their_own_ids_and_versions(
    client: TestClient,
) -> None:
    assert register_id(client, "users", USER_V1) == 1
    assert register_id(client, "users", USER_V2) == 2
    # The same subject name in two other contexts: each counts its ids from 1.
    assert register_id(client, ":.blue:users", USER_V2) == 1
    assert register_id(client, ":.green:users", USER_V1) == 1
    assert register_id(client, ":.green:users", USER_V2) == 2
    assert ok(client.get("/subjects/users/versions")) == [1, 2]
    assert ok(client.get("/subjects/:.blue:users/versions")) == [1]
    assert ok(client.get("/subjects/:.green:users/versions")) == [1, 2]

    # Id 1 is a different schema in each context; without a subject, the default one.
    assert json.loads(ok(client.get("/schemas/ids/1"))["schema"]) == json.loads(USER_V1)
    blue = ok(client.get("/schemas/ids/1", params={"subject": ":.blue:users"}))
    assert json.loads(blue["schema"]) == json.loads(USER_V2)
    assert (blue["subject"], blue["version"]) == (":.blue:users", 1)
    green = ok(client.get("/schemas/ids/2", params={"subject": ":.green:users"}))
    assert json.loads(green["schema"]) == json.loads(USER_V2)
    error(client.get("/schemas/ids/2", params={"subject": ":.blue:users"}), 404, 40403)
    error(client.get("/schemas/ids/1", params={"subject": ":.nowhere:users"}), 404, 40403)

    latest = ok(client.get("/subjects/:.blue:users/versions/latest"))
    assert (latest["subject"], latest["version"], latest["id"]) == (":.blue:users", 1, 1)
    assert ok(client.get("/schemas/ids/1/versions", params={"subject": ":.green:users"})) == [
        {"subject": ":.green:users", "version": 1}
    ]
    assert ok(client.get("/schemas/ids/2/subjects", params={"subject": ":.green:"})) == [
        ":.green:users"
    ]
    # maxId is the context's own.
    assert (
        ok(client.get("/schemas/ids/1", params={"subject": ":.blue:", "fetchMaxId": "true"}))[
            "maxId"
        ]
        == 1
    )

    # Lookup, re-registration and the register answer stay in the context.
    found = ok(client.post("/subjects/:.green:users", json={"schema": USER_V1}))
    assert (found["id"], found["version"]) == (1, 1)
    assert register_id(client, ":.blue:users", USER_V2) == 1
    error(client.post("/subjects/:.blue:users", json={"schema": USER_V1}), 404, 40403)

    # Deleting in one context leaves the others alone.
    assert ok(client.delete("/subjects/:.green:users")) == [1, 2]
    assert ok(client.get("/subjects/users/versions")) == [1, 2]
    assert ok(client.get("/subjects/:.blue:users/versions")) == [1]
    error(client.get("/subjects/:.green:users/versions"), 404, 40401)


def test_the_same_schema_text_in_two_contexts_gets_an_id_in_each(client: TestClient) -> None:
    assert register_id(client, "a", USER_V1) == 1
    assert register_id(client, "b", USER_V1) == 1  # same context: the same id
    assert register_id(client, ":.x:a", ADDRESS) == 1
    assert register_id(client, ":.x:b", USER_V1) == 2  # its own row in context .x
    assert register_id(client, ":.y:a", USER_V1) == 1
    guid = ok(client.get("/subjects/a/versions/1"))["guid"]
    assert ok(client.get("/subjects/:.x:b/versions/1"))["guid"] == guid  # content, not id
    assert ok(client.get("/subjects/:.x:b/versions/1/referencedby")) == []


def test_qualified_names_have_one_spelling_and_list_as_confluent_does(
    client: TestClient,
) -> None:
    register_id(client, ":.:plain", USER_V1)  # the default context, spelled out
    assert ok(client.get("/subjects/plain/versions")) == [1]
    register_id(client, ":.b:zeta", USER_V1)
    register_id(client, ":.a:alpha", USER_V1)
    register_id(client, "Zulu", USER_V1)
    # Default-context subjects unqualified and first, then by context and name.
    assert ok(client.get("/subjects")) == ["Zulu", "plain", ":.a:alpha", ":.b:zeta"]
    assert ok(client.get("/subjects", params={"subjectPrefix": ":*:"})) == [
        "Zulu",
        "plain",
        ":.a:alpha",
        ":.b:zeta",
    ]
    assert ok(client.get("/subjects", params={"subjectPrefix": ":.a:"})) == [":.a:alpha"]
    assert ok(client.get("/subjects", params={"subjectPrefix": ":.a"})) == [":.a:alpha"]
    assert ok(client.get("/subjects", params={"subjectPrefix": ":.:"})) == ["Zulu", "plain"]
    assert ok(client.get("/subjects", params={"subjectPrefix": ":*:z"})) == [":.b:zeta"]
    assert [s["subject"] for s in ok(client.get("/schemas"))] == [
        "Zulu",
        "plain",
        ":.a:alpha",
        ":.b:zeta",
    ]
    assert [s["subject"] for s in ok(client.get("/schemas", params={"subjectPrefix": ":.b:"}))] == [
        ":.b:zeta"
    ]
    # An empty name inside a context, a wildcard and a colon in a context are no subjects.
    error(register(client, ":.a:", USER_V1), 422, 42208)
    error(register(client, ":*:x", USER_V1), 422, 42208)
    # Unqualified, an id the default context does not hold for that subject is looked
    # for in the other contexts (Confluent's getSchemaKeyUsingContexts).
    found = ok(client.get("/schemas/ids/1", params={"subject": "alpha"}))
    assert (found["subject"], found["version"]) == (":.a:alpha", 1)


def test_references_resolve_in_the_referring_schemas_context(client: TestClient) -> None:
    register_id(client, ":.shop:address", ADDRESS)
    reference = [{"name": "com.example.Address", "subject": "address", "version": 1}]
    # ``address`` exists only in .shop: unresolvable from the default context.
    error(register(client, "customer", CUSTOMER, references=reference), 422, 42201)
    customer = register_id(client, ":.shop:customer", CUSTOMER, references=reference)
    assert customer == 2
    body = ok(client.get("/subjects/:.shop:customer/versions/1"))
    assert body["references"] == [
        {"name": "com.example.Address", "subject": ":.shop:address", "version": 1}
    ]
    assert ok(client.get("/subjects/:.shop:address/versions/1/referencedby")) == [2]
    assert ok(client.get("/schemas/ids/2", params={"subject": ":.shop:customer"}))["schema"]
    error(client.delete("/subjects/:.shop:address/versions/1"), 422, 42206)


def test_config_and_mode_fall_back_from_subject_to_context_to_global(
    client: TestClient,
) -> None:
    register_id(client, "users", USER_V1)
    register_id(client, ":.strict:users", USER_V1)
    assert ok(client.put("/config/:.strict:", json={"compatibility": "FULL"})) == {
        "compatibility": "FULL"
    }
    assert ok(client.get("/config/:.strict:"))["compatibilityLevel"] == "FULL"
    assert (
        ok(client.get("/config/:.strict", params={"defaultToGlobal": "true"}))["compatibilityLevel"]
        == "FULL"
    )
    assert (
        ok(client.get("/config/:.strict:users", params={"defaultToGlobal": "true"}))[
            "compatibilityLevel"
        ]
        == "FULL"
    )
    assert (
        ok(client.get("/config/users", params={"defaultToGlobal": "true"}))["compatibilityLevel"]
        == "BACKWARD"
    )
    error(client.get("/config/:.strict:users"), 404, 40408)
    # FULL (from the context) refuses what BACKWARD (global) lets the default one take.
    error(register(client, ":.strict:users", USER_BAD), 409, 409)
    compatible = client.post(
        "/compatibility/subjects/:.strict:users/versions/latest", json={"schema": USER_BAD}
    )
    assert ok(compatible)["is_compatible"] is False
    # The subject's own config wins over the context's.
    ok(client.put("/config/:.strict:users", json={"compatibility": "NONE"}))
    assert register_id(client, ":.strict:users", USER_BAD) == 2

    ok(client.put("/mode/:.frozen:", json={"mode": "READONLY"}))
    assert ok(client.get("/mode/:.frozen:x", params={"defaultToGlobal": "true"})) == {
        "mode": "READONLY"
    }
    message = error(register(client, ":.frozen:x", USER_V1), 422, 42205)
    assert "context .frozen" in message
    assert register_id(client, "x", USER_V1) == 1
    ok(client.delete("/mode/:.frozen:"))
    assert register_id(client, ":.frozen:x", USER_V1) == 1


def test_contexts_are_listed_and_only_empty_ones_deleted(client: TestClient) -> None:
    assert ok(client.get("/contexts")) == ["."]
    register_id(client, ":.zeta:s", USER_V1)
    register_id(client, ":.alpha:s", USER_V1)
    register_id(client, "s", USER_V1)
    assert ok(client.get("/contexts")) == [".", ".alpha", ".zeta"]
    assert ok(client.get("/contexts", params={"contextPrefix": ".a"})) == [".alpha"]
    assert ok(client.get("/contexts", params={"offset": 1, "limit": 1})) == [".alpha"]

    message = error(client.delete("/contexts/.alpha"), 422, 42211)
    assert ".alpha" in message
    ok(client.delete("/subjects/:.alpha:s"))
    error(client.delete("/contexts/:.alpha:"), 422, 42211)  # soft-deleted still counts
    ok(client.delete("/subjects/:.alpha:s", params={"permanent": "true"}))
    assert client.delete("/contexts/.alpha").status_code == 204
    assert ok(client.get("/contexts")) == [".", ".zeta"]
    assert client.delete("/contexts/.never").status_code == 204
    error(client.delete("/contexts/:.:"), 422, 42211)
    error(client.delete("/contexts/a:b"), 422, 42208)
    # Registering again continues the context's id space: ids are never reused.
    assert register_id(client, ":.alpha:s", USER_V2) == 2


def test_the_contexts_url_prefix_names_one_context(client: TestClient) -> None:
    """``/contexts/{c}/...`` as Confluent's ``ContextFilter`` rewrites it."""
    for base in ("/contexts/.orders", "/contexts/orders", "/contexts/:.orders:"):
        answer = client.post(f"{base}/subjects/s/versions", json={"schema": USER_V1})
        assert ok(answer)["id"] == 1
    assert ok(client.get("/subjects")) == [":.orders:s"]
    assert ok(client.get("/contexts/.orders/subjects")) == [":.orders:s"]
    assert ok(client.get("/contexts/.orders/subjects/s/versions")) == [1]
    schema = ok(client.get("/contexts/.orders/schemas/ids/1"))["schema"]
    assert json.loads(schema) == json.loads(USER_V1)
    error(client.get("/schemas/ids/1"), 404, 40403)
    ok(client.put("/contexts/.orders/config", json={"compatibility": "NONE"}))
    assert ok(client.get("/config/:.orders:"))["compatibilityLevel"] == "NONE"
    assert (
        ok(client.get("/contexts/.orders/config/s", params={"defaultToGlobal": "true"}))[
            "compatibilityLevel"
        ]
        == "NONE"
    )
    # Already qualified names are left as they are; a colon in a context is refused.
    assert ok(client.get("/contexts/.other/subjects/:.orders:s/versions")) == [1]
    assert client.get("/contexts/a:b/subjects").status_code == 400
    assert [s["subject"] for s in ok(client.get("/contexts/.orders/schemas"))] == [":.orders:s"]


def _back_to_layout_2(database_url: str) -> None:
    """Turn a database this code made into what the previous code (layout 2) makes:
    no contexts table, 32-bit ids and 64-character fingerprints on PostgreSQL."""
    engine = sa.create_engine(resolve_database_url(database_url))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE contexts"))
            if conn.dialect.name == "postgresql":
                for table, column in (
                    ("schemas", "id"),
                    ("schema_references", "schema_id"),
                    ("subject_versions", "schema_id"),
                ):
                    conn.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE INTEGER"))
                conn.execute(
                    sa.text("ALTER TABLE schemas ALTER COLUMN fingerprint TYPE VARCHAR(64)")
                )
            conn.execute(sa.text("UPDATE registry_state SET schema_version = 2"))
    finally:
        engine.dispose()


def _layout(database_url: str) -> int:
    engine = sa.create_engine(resolve_database_url(database_url))
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.text("SELECT schema_version FROM registry_state")).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_layout_2_database_is_migrated_in_place_and_keeps_its_ids(
    registry_app: Callable[..., FastAPI], database_url: str
) -> None:
    with TestClient(registry_app()) as client:
        first = register_id(client, "old", USER_V1)
        second = register_id(client, "old", USER_V2)
        reference = [{"name": "com.example.Address", "subject": "address", "version": 1}]
        register_id(client, "address", ADDRESS)
        customer = register_id(client, "customer", CUSTOMER, references=reference)
    _back_to_layout_2(database_url)
    assert _layout(database_url) == 2
    with TestClient(registry_app()) as client:
        assert _layout(database_url) == 3
        assert register_id(client, "old", USER_V1) == first
        assert ok(client.get(f"/schemas/ids/{second}"))["schema"]
        assert ok(client.get("/subjects/customer/versions/1"))["id"] == customer
        assert ok(client.get("/subjects/address/versions/1/referencedby")) == [customer]
        assert register_id(client, ":.new:old", USER_V1) == 1
        assert register_id(client, ":.new:old", USER_V2) == 2
        assert register_id(client, "fresh", USER_BAD) == customer + 1
        assert ok(client.get("/contexts")) == [".", ".new"]


# -- authorization ---------------------------------------------------------------------


def register_as(
    client: TestClient, subject: str, schema: str, headers: dict[str, str]
) -> httpx.Response:
    return client.post(f"/subjects/{subject}/versions", json={"schema": schema}, headers=headers)


def test_a_grant_covers_another_context_only_when_its_pattern_names_one(
    registry_app: Callable[..., FastAPI], tmp_path: Path
) -> None:
    document = users_document()
    document["users"].append(user_entry("blue", "eulb"))
    document["permissions"] += [
        {"username": "blue", "operation": "Write", "resource": r"Subject::\.blue:.*"},
        {"username": "writer", "operation": "Write", "resource": "Subject:.*"},
    ]
    users = write_users_file(tmp_path / "users.json", document)
    passwords = {**PASSWORDS, "blue": "eulb"}

    def as_(user: str) -> dict[str, str]:
        return basic_header(user, passwords[user])

    with TestClient(registry_app(auth="basic", auth_file=users)) as client:
        admin = as_("admin")
        assert ok(register_as(client, "orders", USER_V1, admin))["id"] == 1
        assert ok(register_as(client, ":.blue:orders", USER_V2, admin))["id"] == 1
        # "Subject:.*" (no context in it) covers the default context only.
        assert ok(register_as(client, "anything", USER_V1, as_("writer")))["id"] == 1
        error(register_as(client, ":.blue:orders", USER_V2, as_("writer")), 403, 40301)
        error(client.get("/subjects/:.blue:orders/versions", headers=as_("writer")), 403, 40301)
        # "Subject::\.blue:.*" covers that context only.
        assert ok(register_as(client, ":.blue:more", USER_V2, as_("blue")))["id"] == 1
        error(register_as(client, "orders", USER_V1, as_("blue")), 403, 40301)
        error(register_as(client, ":.green:orders", USER_V1, as_("blue")), 403, 40301)
        listed = ok(client.get("/subjects", headers=as_("blue")))
        assert listed == [":.blue:more", ":.blue:orders"]
        # Ids are judged in the context they are looked up in.
        blue_id = {"subject": ":.blue:orders"}
        assert ok(client.get("/schemas/ids/1", params=blue_id, headers=as_("blue")))["schema"]
        error(client.get("/schemas/ids/1", headers=as_("blue")), 404, 40403)
        error(client.get("/schemas/ids/1", params=blue_id, headers=as_("writer")), 404, 40403)
        assert ok(client.get("/schemas/ids/1", headers=as_("writer")))["schema"]
        by_prefix = ok(client.get("/contexts/.blue/schemas/ids/1", headers=as_("blue")))
        assert json.loads(by_prefix["schema"]) == json.loads(USER_V2)


# -- confluent-kafka -------------------------------------------------------------------


def test_confluent_kafkas_client_with_qualified_subjects(tmp_path: Path) -> None:
    """confluent-kafka's SchemaRegistryClient and Avro serializers on qualified subjects,
    against the registry under uvicorn."""
    process, url = serve_registry(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path / "log")
    try:
        sr = SchemaRegistryClient({"url": url, "max.retries": 0})
        default_id = sr.register_schema("users", Schema(USER_V1, "AVRO"))
        blue_id = sr.register_schema(":.blue:users", Schema(USER_V2, "AVRO"))
        assert (default_id, blue_id) == (1, 1)
        assert sr.get_latest_version(":.blue:users").version == 1
        fresh = SchemaRegistryClient({"url": url, "max.retries": 0})
        found = fresh.get_schema(1, subject_name=":.blue:users")
        assert json.loads(str(found.schema_str)) == json.loads(USER_V2)
        assert fresh.lookup_schema(":.blue:users", Schema(USER_V2, "AVRO")).schema_id == 1
        assert ":.blue:users" in fresh.get_subjects()
        full = ServerConfig(compatibility=ConfigCompatibilityLevel.FULL)
        fresh.set_config(":.blue:users", full)
        assert fresh.get_config(":.blue:users").compatibility_level == full.compatibility
        assert fresh.get_versions(":.blue:users") == [1]
        # A client whose base URL is the context (Confluent's /contexts/{c} prefix).
        scoped = SchemaRegistryClient({"url": f"{url}/contexts/.blue", "max.retries": 0})
        assert scoped.get_subjects() == [":.blue:users"]
        assert json.loads(str(scoped.get_schema(1).schema_str)) == json.loads(USER_V2)

        serializer = AvroSerializer(
            sr,
            USER_V2,
            conf={"subject.name.strategy": lambda ctx, name: f":.blue:{ctx.topic}-value"},
        )
        value = SerializationContext("t", MessageField.VALUE)
        payload = serializer({"id": 7, "email": "a@b"}, value)
        # The same schema as :.blue:users' in the same context: the same id, 1.
        assert payload is not None and payload[1:5] == (1).to_bytes(4, "big")
        assert sr.get_latest_version(":.blue:t-value").schema_id == 1
        deserializer = AvroDeserializer(
            SchemaRegistryClient({"url": f"{url}/contexts/.blue", "max.retries": 0})
        )
        record = deserializer(payload, value)
        assert record == {"id": 7, "email": "a@b"}
        sr.close()
        fresh.close()
        scoped.close()
    finally:
        stop_process(process)
