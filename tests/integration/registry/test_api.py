"""Every REST endpoint, success and error paths, with Confluent's exact error codes.

Runs the real application in-process against a SQLite file and against PostgreSQL
(``client`` is parametrised over both in ``conftest.py``).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from google.protobuf import descriptor_pb2

from registry_service.app import create_app
from registry_service.settings import Settings

V1 = "application/vnd.schemaregistry.v1+json"

USER_V1 = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [{"name": "id", "type": "long"}],
    }
)
# Adds a field with a default: compatible in both directions.
USER_V2 = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "email", "type": "string", "default": ""},
        ],
    }
)
# Adds a field without a default: BACKWARD-incompatible with V1.
USER_NO_DEFAULT = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [{"name": "id", "type": "long"}, {"name": "age", "type": "int"}],
    }
)
ADDRESS = json.dumps(
    {
        "type": "record",
        "name": "Address",
        "namespace": "com.example",
        "fields": [{"name": "street", "type": "string"}],
    }
)
CUSTOMER = json.dumps(
    {
        "type": "record",
        "name": "Customer",
        "namespace": "com.example",
        "fields": [{"name": "home", "type": "com.example.Address"}],
    }
)
PROTO = 'syntax = "proto3";\npackage demo;\n\nmessage Ping {\n  string text = 1;\n}\n'


def error(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return str(body["message"])


def register(client: TestClient, subject: str, schema: str, **extra: Any) -> httpx.Response:
    return client.post(f"/subjects/{subject}/versions", json={"schema": schema, **extra})


def register_id(client: TestClient, subject: str, schema: str, **extra: Any) -> int:
    response = register(client, subject, schema, **extra)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


# -- root, health, contexts, types, content types --------------------------------------


def test_root_health_contexts_and_types(client: TestClient) -> None:
    assert client.get("/").json() == {}
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "UP"
    assert client.get("/contexts").json() == ["."]
    # Confluent's order (its providers' HashMap): JSON, PROTOBUF, AVRO
    assert client.get("/schemas/types").json() == ["JSON", "PROTOBUF", "AVRO"]
    assert client.get("/").headers["content-type"] == V1


@pytest.mark.parametrize(
    "content_type",
    [V1, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream"],
)
def test_request_content_types_accepted(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/subjects/ct/versions",
        content=json.dumps({"schema": USER_V1}).encode(),
        headers={"Content-Type": content_type, "Accept": "*/*"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == V1


def test_unknown_path_and_method_give_confluent_bodies(client: TestClient) -> None:
    error(client.get("/nothing-here"), 404, 404)
    error(client.get("/schemas/ids/abc"), 404, 404)
    error(client.put("/subjects"), 405, 405)


def test_associations_answer_404_so_clients_fall_back(client: TestClient) -> None:
    response = client.get("/associations/resources/-/orders?resourceType=topic")
    error(response, 404, 40410)


# -- malformed requests ----------------------------------------------------------------


def test_malformed_json_and_wrong_types_are_422(client: TestClient) -> None:
    bad_json = client.post(
        "/subjects/s/versions", content=b"{not json", headers={"Content-Type": V1}
    )
    assert "Malformed JSON" in error(bad_json, 422, 422)
    error(client.post("/subjects/s/versions", json={"schema": 42}), 422, 422)
    error(client.post("/subjects/s/versions", json={"schemaType": "AVRO"}), 422, 422)
    error(client.post("/subjects/s/versions", json=["schema"]), 422, 422)
    error(client.post("/subjects/s/versions", content=b""), 422, 422)
    error(client.post("/subjects/s/versions", json={"schema": USER_V1, "references": 3}), 422, 422)
    error(client.put("/config", content=b"[", headers={"Content-Type": V1}), 422, 422)
    error(client.get("/subjects?deleted=maybe"), 422, 422)
    error(client.get("/subjects?offset=x"), 422, 422)


def test_unknown_body_properties_are_ignored(client: TestClient) -> None:
    body = {"schema": USER_V1, "metadata": {"properties": {}}, "ruleSet": None, "x": 1}
    assert client.post("/subjects/s/versions", json=body).status_code == 200


def test_boolean_query_values_in_any_case(client: TestClient) -> None:
    register_id(client, "b", USER_V1)
    for value in ("True", "true", "FALSE", "false"):
        assert client.get(f"/subjects?deleted={value}").json() == ["b"]


# -- register and identity -------------------------------------------------------------


def test_register_same_schema_twice_returns_same_id_and_no_new_version(
    client: TestClient,
) -> None:
    first = register(client, "orders-value", USER_V1)
    assert first.status_code == 200
    body = first.json()
    assert body["id"] == 1 and body["version"] == 1 and body["schemaType"] == "AVRO"
    assert "schema" not in body  # see RegistryService._register_json
    again = register(client, "orders-value", USER_V1)
    assert again.json()["id"] == 1 and again.json()["version"] == 1
    assert client.get("/subjects/orders-value/versions").json() == [1]


def test_same_schema_under_two_subjects_shares_one_id(client: TestClient) -> None:
    first = register_id(client, "a-value", USER_V1)
    second = register_id(client, "b-value", USER_V1)
    other = register_id(client, "b-value", USER_V2)
    assert first == second == 1
    assert other == 2
    assert client.get("/subjects/b-value/versions").json() == [1, 2]


def test_formatting_noise_does_not_create_a_new_id(client: TestClient) -> None:
    first = register_id(client, "noise", USER_V1)
    spaced = json.dumps(json.loads(USER_V1), indent=4)
    assert register_id(client, "noise", spaced) == first
    assert client.get("/subjects/noise/versions").json() == [1]


def test_normalize_folds_equivalent_spellings_into_one_id(client: TestClient) -> None:
    full_name = json.dumps(
        {"type": "record", "name": "com.example.User", "fields": [{"name": "id", "type": "long"}]}
    )
    url = "/subjects/norm/versions?normalize=true"
    first = client.post(url, json={"schema": USER_V1}).json()
    second = client.post(url, json={"schema": full_name}).json()
    assert first["id"] == second["id"] and second["version"] == 1
    lookup = client.post("/subjects/norm?normalize=True", json={"schema": full_name})
    assert lookup.status_code == 200 and lookup.json()["id"] == first["id"]
    # A subject whose config says normalize behaves as if every call asked for it.
    client.put("/config/norm2", json={"normalize": True})
    assert register(client, "norm2", USER_V1).json()["id"] == first["id"]
    assert register(client, "norm2", full_name).json()["version"] == 1


def test_invalid_schemas_are_42201(client: TestClient) -> None:
    error(register(client, "bad", "{not avro"), 422, 42201)
    error(register(client, "bad", '{"type": "record", "name": "X"}'), 422, 42201)
    error(register(client, "bad", ""), 422, 42201)
    message = error(register(client, "bad", USER_V1, schemaType="XML"), 422, 42201)
    assert "XML" in message
    assert client.get("/subjects?deleted=true").json() == []


def test_invalid_subject_is_42208(client: TestClient) -> None:
    error(register(client, "bad%01subject", USER_V1), 422, 42208)


def test_subject_with_slash_percent_encoded(client: TestClient) -> None:
    assert register_id(client, "common%2Faddress.proto", PROTO, schemaType="PROTOBUF") == 1
    assert client.get("/subjects").json() == ["common/address.proto"]
    latest = client.get("/subjects/common%2Faddress.proto/versions/latest").json()
    assert latest["subject"] == "common/address.proto" and latest["schemaType"] == "PROTOBUF"
    lookup = client.post(
        "/subjects/common%2Faddress.proto", json={"schema": PROTO, "schemaType": "PROTOBUF"}
    )
    assert lookup.json()["version"] == 1


def test_register_version_in_body_must_be_next(client: TestClient) -> None:
    register_id(client, "vb", USER_V1)
    error(register(client, "vb", USER_V2, version=5), 422, 42201)
    assert register(client, "vb", USER_V2, version=2).json()["version"] == 2


# -- versions --------------------------------------------------------------------------


def test_get_version_latest_minus_one_and_schema(client: TestClient) -> None:
    register_id(client, "v", USER_V1)
    register_id(client, "v", USER_V2)
    latest = client.get("/subjects/v/versions/latest").json()
    assert latest == client.get("/subjects/v/versions/-1").json()
    assert latest["version"] == 2 and latest["id"] == 2 and latest["subject"] == "v"
    first = client.get("/subjects/v/versions/1").json()
    assert first["version"] == 1 and first["id"] == 1
    raw = client.get("/subjects/v/versions/1/schema")
    assert json.loads(raw.text) == json.loads(first["schema"])
    assert client.get("/subjects/v/versions/LATEST/schema").status_code == 200


@pytest.mark.parametrize("bad", ["0", "-2", "abc", "2147483648"])
def test_invalid_version_ids_are_42202(client: TestClient, bad: str) -> None:
    register_id(client, "v", USER_V1)
    message = error(client.get(f"/subjects/v/versions/{bad}"), 422, 42202)
    assert message == (
        f"The specified version '{bad}' is not a valid version id. Allowed values are "
        'between [1, 2^31-1] and the string "latest"'
    )
    error(client.delete(f"/subjects/v/versions/{bad}"), 422, 42202)
    error(client.get(f"/subjects/v/versions/{bad}/referencedby"), 422, 42202)


def test_missing_subject_and_version(client: TestClient) -> None:
    assert error(client.get("/subjects/nope/versions"), 404, 40401) == "Subject 'nope' not found."
    error(client.get("/subjects/nope/versions/1"), 404, 40401)
    error(client.get("/subjects/nope/versions/latest/schema"), 404, 40401)
    register_id(client, "v", USER_V1)
    assert error(client.get("/subjects/v/versions/7"), 404, 40402) == "Version 7 not found."
    error(client.get("/subjects/v/versions/7/schema"), 404, 40402)


def test_list_subjects_prefix_deleted_and_pagination(client: TestClient) -> None:
    for name in ("alpha-value", "alpha-key", "beta-value"):
        register_id(client, name, USER_V1)
    assert client.get("/subjects").json() == ["alpha-key", "alpha-value", "beta-value"]
    assert client.get("/subjects?subjectPrefix=alpha").json() == ["alpha-key", "alpha-value"]
    assert client.get("/subjects?subject=beta").json() == ["beta-value"]
    assert client.get("/subjects?offset=1&limit=1").json() == ["alpha-value"]
    client.delete("/subjects/beta-value")
    assert client.get("/subjects").json() == ["alpha-key", "alpha-value"]
    assert client.get("/subjects?deleted=true").json() == [
        "alpha-key",
        "alpha-value",
        "beta-value",
    ]
    assert client.get("/subjects?deletedOnly=true").json() == ["beta-value"]


def test_list_versions_with_deleted(client: TestClient) -> None:
    register_id(client, "lv", USER_V1)
    register_id(client, "lv", USER_V2)
    assert client.delete("/subjects/lv/versions/1").json() == 1
    assert client.get("/subjects/lv/versions").json() == [2]
    assert client.get("/subjects/lv/versions?deleted=true").json() == [1, 2]
    assert client.get("/subjects/lv/versions?deletedOnly=true").json() == [1]
    assert client.get("/subjects/lv/versions?deletedAsNegative=true").json() == [-1, 2]
    assert client.get("/subjects/lv/versions/1").status_code == 404
    assert client.get("/subjects/lv/versions/1?deleted=true").json()["deleted"] is True


# -- lookup ----------------------------------------------------------------------------


def test_lookup(client: TestClient) -> None:
    error(client.post("/subjects/look", json={"schema": USER_V1}), 404, 40401)
    register_id(client, "look", USER_V1)
    found = client.post("/subjects/look", json={"schema": USER_V1}).json()
    assert found["subject"] == "look" and found["version"] == 1 and found["id"] == 1
    assert (
        error(client.post("/subjects/look", json={"schema": USER_V2}), 404, 40403)
        == "Schema not found"
    )
    error(client.post("/subjects/look", json={"schema": "{bad"}), 422, 42201)
    client.delete("/subjects/look")
    error(client.post("/subjects/look", json={"schema": USER_V1}), 404, 40401)
    again = client.post("/subjects/look?deleted=true", json={"schema": USER_V1})
    assert again.json()["version"] == 1


# -- deletes ---------------------------------------------------------------------------


def test_version_delete_states(client: TestClient) -> None:
    register_id(client, "d", USER_V1)
    register_id(client, "d", USER_V2)
    message = error(client.delete("/subjects/d/versions/2?permanent=true"), 404, 40407)
    assert message == (
        "Subject 'd' Version 2 was not deleted first before being permanently deleted"
    )
    assert client.delete("/subjects/d/versions/latest").json() == 2
    message = error(client.delete("/subjects/d/versions/2"), 404, 40406)
    assert message == (
        "Subject 'd' Version 2 was soft deleted.Set permanent=true to delete permanently"
    )
    assert client.delete("/subjects/d/versions/2?permanent=true").json() == 2
    error(client.delete("/subjects/d/versions/2?permanent=true"), 404, 40402)
    error(client.delete("/subjects/d/versions/9"), 404, 40402)
    error(client.delete("/subjects/none/versions/1"), 404, 40401)


def test_subject_delete_states(client: TestClient) -> None:
    error(client.delete("/subjects/gone"), 404, 40401)
    register_id(client, "s", USER_V1)
    register_id(client, "s", USER_V2)
    message = error(client.delete("/subjects/s?permanent=true"), 404, 40405)
    assert message == "Subject 's' was not deleted first before being permanently deleted"
    assert client.delete("/subjects/s").json() == [1, 2]
    message = error(client.delete("/subjects/s"), 404, 40404)
    assert message == "Subject 's' was soft deleted.Set permanent=true to delete permanently"
    # ids stay readable after a soft delete
    assert client.get("/schemas/ids/1").status_code == 200
    assert client.delete("/subjects/s?permanent=true").json() == [1, 2]
    error(client.delete("/subjects/s?permanent=true"), 404, 40401)
    assert client.get("/subjects?deleted=true").json() == []


def test_reregister_after_soft_delete_gets_same_id_and_next_version(client: TestClient) -> None:
    first = register_id(client, "rr", USER_V1)
    client.delete("/subjects/rr")
    again = register(client, "rr", USER_V1).json()
    assert again["id"] == first and again["version"] == 2
    # After a permanent delete numbering restarts; the content keeps its id.
    client.delete("/subjects/rr")
    client.delete("/subjects/rr?permanent=true")
    fresh = register(client, "rr", USER_V1).json()
    assert fresh["id"] == first and fresh["version"] == 1


def test_references_referencedby_and_delete_guard(client: TestClient) -> None:
    address_id = register_id(client, "address", ADDRESS)
    refs = [{"name": "com.example.Address", "subject": "address", "version": 1}]
    customer = register(client, "customer", CUSTOMER, references=refs)
    assert customer.status_code == 200, customer.text
    customer_id = customer.json()["id"]
    assert customer_id != address_id
    assert customer.json()["references"] == refs
    assert client.get("/subjects/address/versions/1/referencedby").json() == [customer_id]
    assert client.get("/subjects/customer/versions/1").json()["references"] == refs
    assert client.get(f"/schemas/ids/{customer_id}").json()["references"] == refs
    message = error(client.delete("/subjects/address/versions/1"), 422, 42206)
    assert "subject=address,version=1" in message
    error(client.delete("/subjects/address"), 422, 42206)
    # Once the referrer is gone the referenced version may go.
    client.delete("/subjects/customer")
    assert client.delete("/subjects/address/versions/1").json() == 1
    # A reference to nothing is an invalid schema.
    missing = [{"name": "com.example.Address", "subject": "nowhere", "version": 1}]
    error(register(client, "customer2", CUSTOMER, references=missing), 422, 42201)
    error(client.get("/subjects/nowhere/versions/1/referencedby"), 404, 40401)


# -- schemas by id ---------------------------------------------------------------------


def test_schemas_by_id(client: TestClient) -> None:
    assert error(client.get("/schemas/ids/1"), 404, 40403) == "Schema 1 not found"
    error(client.get("/schemas/ids/1/schema"), 404, 40403)
    error(client.get("/schemas/ids/1/subjects"), 404, 40403)
    error(client.get("/schemas/ids/1/versions"), 404, 40403)
    register_id(client, "one", USER_V1)
    register_id(client, "two", USER_V1)
    register_id(client, "two", USER_V2)
    body = client.get("/schemas/ids/1").json()
    assert json.loads(body["schema"]) == json.loads(USER_V1) and body["schemaType"] == "AVRO"
    assert "maxId" not in body
    assert client.get("/schemas/ids/1?fetchMaxId=true").json()["maxId"] == 2
    with_subject = client.get("/schemas/ids/1?subject=two").json()
    assert with_subject["subject"] == "two" and with_subject["version"] == 1
    assert json.loads(client.get("/schemas/ids/2/schema").text) == json.loads(USER_V2)
    assert client.get("/schemas/ids/1/subjects").json() == ["one", "two"]
    assert client.get("/schemas/ids/1/subjects?subject=one").json() == ["one"]
    assert client.get("/schemas/ids/1/versions").json() == [
        {"subject": "one", "version": 1},
        {"subject": "two", "version": 1},
    ]
    client.delete("/subjects/one")
    assert client.get("/schemas/ids/1/subjects").json() == ["two"]
    assert client.get("/schemas/ids/1/subjects?deleted=true").json() == ["one", "two"]


def test_list_schemas(client: TestClient) -> None:
    register_id(client, "one", USER_V1)
    register_id(client, "two", USER_V1)
    register_id(client, "two", USER_V2)
    every = client.get("/schemas").json()
    assert [(s["subject"], s["version"], s["id"]) for s in every] == [
        ("one", 1, 1),
        ("two", 1, 1),
        ("two", 2, 2),
    ]
    latest = client.get("/schemas?latestOnly=true").json()
    assert [(s["subject"], s["version"]) for s in latest] == [("one", 1), ("two", 2)]
    assert [s["subject"] for s in client.get("/schemas?subjectPrefix=tw").json()] == ["two"] * 2
    client.delete("/subjects/one")
    assert len(client.get("/schemas").json()) == 2
    assert len(client.get("/schemas?deleted=true").json()) == 3


def test_protobuf_serialized_format(client: TestClient) -> None:
    schema_id = register_id(client, "pb", PROTO, schemaType="PROTOBUF")
    text = client.get(f"/schemas/ids/{schema_id}").json()
    assert text["schemaType"] == "PROTOBUF" and "message Ping" in text["schema"]
    serialized = client.get(f"/schemas/ids/{schema_id}?format=serialized").json()["schema"]
    assert serialized != text["schema"] and "message" not in serialized
    by_version = client.get("/subjects/pb/versions/latest?format=serialized").json()
    assert by_version["schema"] == serialized


# -- compatibility ---------------------------------------------------------------------


def test_incompatible_register_is_409_with_reasons(client: TestClient) -> None:
    register_id(client, "c", USER_V1)
    message = error(register(client, "c", USER_NO_DEFAULT), 409, 409)
    assert message.startswith(
        'Schema being registered is incompatible with an earlier schema for subject "c"'
    )
    assert "age" in message
    assert client.get("/subjects/c/versions").json() == [1]
    assert register(client, "c", USER_V2).json()["version"] == 2


def test_compatibility_endpoints(client: TestClient) -> None:
    url = "/compatibility/subjects/cc/versions"
    empty = client.post(f"{url}/latest", json={"schema": USER_V1})
    assert empty.json() == {"is_compatible": True}
    error(client.post(f"{url}/3", json={"schema": USER_V1}), 404, 40402)
    register_id(client, "cc", USER_V1)
    ok = client.post(f"{url}/latest?verbose=True", json={"schema": USER_V2}).json()
    assert ok == {"is_compatible": True, "messages": []}
    bad = client.post(f"{url}/1?verbose=true", json={"schema": USER_NO_DEFAULT}).json()
    assert bad["is_compatible"] is False
    assert any("age" in m for m in bad["messages"])
    assert client.post(f"{url}/1", json={"schema": USER_NO_DEFAULT}).json() == {
        "is_compatible": False
    }
    assert client.post(url, json={"schema": USER_V2}).json() == {"is_compatible": True}
    error(client.post(f"{url}/latest", json={"schema": "{nope"}), 422, 42201)
    verbose_invalid = client.post(f"{url}/latest?verbose=true", json={"schema": "{nope"}).json()
    assert verbose_invalid["is_compatible"] is False and verbose_invalid["messages"]
    error(client.post(f"{url}/zero", json={"schema": USER_V1}), 422, 42202)


def test_transitive_levels_check_every_live_version(client: TestClient) -> None:
    v1 = json.dumps({"type": "record", "name": "T", "fields": [{"name": "a", "type": "int"}]})
    v2 = json.dumps({"type": "record", "name": "T", "fields": []})
    v3 = json.dumps(
        {"type": "record", "name": "T", "fields": [{"name": "a", "type": "string", "default": ""}]}
    )
    register_id(client, "t", v1)
    register_id(client, "t", v2)
    # v3 reads v2's data (the default fills a) but not v1's (int cannot become string).
    assert client.put("/config/t", json={"compatibility": "BACKWARD_TRANSITIVE"}).status_code == 200
    url = "/compatibility/subjects/t/versions"
    assert client.post(f"{url}/latest", json={"schema": v3}).json()["is_compatible"] is True
    assert client.post(url, json={"schema": v3}).json()["is_compatible"] is False
    error(register(client, "t", v3), 409, 409)
    client.put("/config/t", json={"compatibility": "BACKWARD"})
    assert register(client, "t", v3).json()["version"] == 3


def test_none_level_accepts_anything(client: TestClient) -> None:
    client.put("/config/n", json={"compatibility": "NONE"})
    register_id(client, "n", USER_V1)
    assert register(client, "n", USER_NO_DEFAULT).json()["version"] == 2


# -- config ----------------------------------------------------------------------------


def test_config(client: TestClient) -> None:
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert client.put("/config", json={"compatibility": "full"}).json() == {"compatibility": "FULL"}
    assert client.get("/config").json()["compatibilityLevel"] == "FULL"
    message = error(client.put("/config", json={"compatibility": "SIDEWAYS"}), 422, 42203)
    assert message.startswith("Invalid compatibility level")
    error(client.put("/config/s", json={"compatibility": 5}), 422, 42203)
    message = error(client.get("/config/s"), 404, 40408)
    assert message == "Subject 's' does not have subject-level compatibility configured"
    assert client.get("/config/s?defaultToGlobal=true").json()["compatibilityLevel"] == "FULL"
    assert client.put("/config/s", json={"compatibility": "NONE"}).json() == {
        "compatibility": "NONE"
    }
    assert client.get("/config/s").json() == {"compatibilityLevel": "NONE"}
    assert client.delete("/config/s").json() == {"compatibilityLevel": "NONE"}
    error(client.delete("/config/s"), 404, 40401)
    assert client.delete("/config").json() == {"compatibilityLevel": "FULL"}
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    # The global config stays global through the default context's name.
    assert client.get("/config/:.:").json() == {"compatibilityLevel": "BACKWARD"}


def test_default_level_comes_from_settings(registry_app: Callable[..., FastAPI]) -> None:
    with TestClient(registry_app(compatibility_level="FULL_TRANSITIVE")) as client:
        assert client.get("/config").json() == {"compatibilityLevel": "FULL_TRANSITIVE"}


# -- mode ------------------------------------------------------------------------------


def test_mode_get_put_delete(client: TestClient) -> None:
    assert client.get("/mode").json() == {"mode": "READWRITE"}
    message = error(client.put("/mode", json={"mode": "SOMETIMES"}), 422, 42204)
    assert message.startswith("Invalid mode")
    message = error(client.get("/mode/m"), 404, 40409)
    assert message == "Subject 'm' does not have subject-level mode configured"
    assert client.get("/mode/m?defaultToGlobal=true").json() == {"mode": "READWRITE"}
    assert client.put("/mode/m", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
    assert client.get("/mode/m").json() == {"mode": "READONLY"}
    assert client.delete("/mode/m").json() == {"mode": "READONLY"}
    error(client.delete("/mode/m"), 404, 40401)
    assert client.put("/mode", json={"mode": "readonly"}).json() == {"mode": "READONLY"}
    assert client.delete("/mode").json() == {"mode": "READONLY"}
    assert client.get("/mode").json() == {"mode": "READWRITE"}


def test_readonly_mode_rejects_writes(client: TestClient) -> None:
    register_id(client, "ro", USER_V1)
    client.put("/mode/ro", json={"mode": "READONLY"})
    message = error(register(client, "ro", USER_V2), 422, 42205)
    assert "read-only" in message
    error(client.delete("/subjects/ro"), 422, 42205)
    error(client.delete("/subjects/ro/versions/1"), 422, 42205)
    error(client.put("/config/ro", json={"compatibility": "NONE"}), 422, 42205)
    # Reads and other subjects are untouched.
    assert client.get("/subjects/ro/versions/1").status_code == 200
    assert register(client, "rw", USER_V2).status_code == 200
    client.put("/mode", json={"mode": "READONLY"})
    error(register(client, "rw2", USER_V1), 422, 42205)


def test_import_mode(client: TestClient) -> None:
    register_id(client, "existing", USER_V1)
    message = error(client.put("/mode", json={"mode": "IMPORT"}), 422, 42205)
    assert message == "Cannot import since found existing subjects"
    assert client.put("/mode/fresh", json={"mode": "IMPORT"}).json() == {"mode": "IMPORT"}
    imported = register(client, "fresh", USER_V2, id=100, version=7)
    assert imported.status_code == 200, imported.text
    assert imported.json()["id"] == 100 and imported.json()["version"] == 7
    assert client.get("/schemas/ids/100").status_code == 200
    # id 100 holds another schema already
    message = error(register(client, "fresh", USER_NO_DEFAULT, id=100, version=8), 422, 42205)
    assert "100" in message
    # content already registered under another id
    error(register(client, "fresh", USER_V1, id=101, version=8), 422, 42207)
    # without an id, IMPORT mode does not accept registrations
    error(register(client, "fresh", USER_NO_DEFAULT), 422, 42205)
    # outside IMPORT, an explicit id is refused
    error(register(client, "existing", USER_V2, id=5), 422, 42205)
    assert client.put("/mode?force=true", json={"mode": "IMPORT"}).json() == {"mode": "IMPORT"}
    client.put("/mode", json={"mode": "READWRITE"})
    client.delete("/mode/fresh")
    # new ids continue after the imported one
    assert register_id(client, "after", USER_NO_DEFAULT) == 101


# -- store failures (SQLite: the failures can be provoked from outside) ----------------


def _sqlite_app(tmp_path: Path, **overrides: Any) -> FastAPI:
    return create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'store.db'}",
            cache_poll_interval_ms=0,
            **overrides,
        )
    )


def test_backend_store_error_is_50001(tmp_path: Path) -> None:
    with TestClient(_sqlite_app(tmp_path)) as client:
        register_id(client, "x", USER_V1)
        with sqlite3.connect(tmp_path / "store.db") as conn:
            conn.execute("DROP TABLE subject_versions")
        error(client.get("/subjects"), 500, 50001)


def test_lock_timeout_is_50002(tmp_path: Path) -> None:
    with TestClient(_sqlite_app(tmp_path, sqlite_busy_timeout_ms=50)) as client:
        blocker = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            error(client.put("/config", json={"compatibility": "NONE"}), 500, 50002)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert client.put("/config", json={"compatibility": "NONE"}).status_code == 200


def test_unreachable_store_is_50003(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    app = create_app(
        Settings(database_url=f"sqlite:///{folder / 'r.db'}", cache_poll_interval_ms=0)
    )
    with TestClient(app) as client:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
        app.state.service.store.close()  # drop pooled connections: the next one must open
        error(client.put("/config", json={"compatibility": "NONE"}), 500, 50003)
        health = client.get("/health")
        assert health.status_code == 500 and health.json()["error_code"] == 50003


# -- media types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, V1),
        ("*/*", V1),
        (f"{V1}, application/vnd.schemaregistry+json, application/json", V1),
        ("application/vnd.schemaregistry+json", "application/vnd.schemaregistry+json"),
        ("application/json", "application/json"),
        ("text/html, application/json;q=0.9", "application/json"),
    ],
)
def test_response_media_type_follows_accept(
    client: TestClient, accept: str | None, expected: str
) -> None:
    register_id(client, "mt", USER_V1)
    headers = {} if accept is None else {"Accept": accept}
    for path in ("/schemas/ids/1", "/subjects/mt/versions/latest", "/subjects", "/nothing"):
        response = client.get(path, headers=headers)
        assert response.headers["content-type"] == expected, path
        assert response.json()


def test_unacceptable_accept_is_406(client: TestClient) -> None:
    register_id(client, "mt", USER_V1)
    for path in ("/schemas/ids/1", "/subjects", "/config"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 406
        assert response.json() == {"error_code": 406, "message": "HTTP 406 Not Acceptable"}
    assert client.get("/docs", headers={"Accept": "text/html"}).status_code == 200


# -- numbers and names outside what Confluent accepts ----------------------------------


@pytest.mark.parametrize("path_id", ["99999999999999999999", "2147483648", "-2147483649", "1.5"])
def test_schema_ids_that_are_not_java_ints_are_404(client: TestClient, path_id: str) -> None:
    for suffix in ("", "/schema", "/subjects", "/versions"):
        response = client.get(f"/schemas/ids/{path_id}{suffix}")
        assert error(response, 404, 404) == "HTTP 404 Not Found"


@pytest.mark.parametrize("path_id", ["0", "-5", "2147483647", "+7"])
def test_schema_ids_that_name_nothing_are_40403(client: TestClient, path_id: str) -> None:
    for suffix in ("", "/schema", "/subjects", "/versions"):
        error(client.get(f"/schemas/ids/{path_id}{suffix}"), 404, 40403)


@pytest.mark.parametrize(
    "extra",
    [
        {"id": 2**31},
        {"version": 2**40},
        {"version": "2"},
        {"references": [{"name": "a", "subject": "s", "version": 2**31}]},
        {"references": [{"name": "a", "subject": "s"}]},
    ],
)
def test_numbers_in_bodies_outside_java_ints_are_422(
    client: TestClient, extra: dict[str, Any]
) -> None:
    client.put("/mode/big", json={"mode": "IMPORT"})
    error(register(client, "big", USER_V1, **extra), 422, 422)
    error(client.post("/subjects/big", json={"schema": USER_V1, **extra}), 422, 422)


def test_import_versions_must_be_positive(client: TestClient) -> None:
    client.put("/mode/imp", json={"mode": "IMPORT"})
    for version in (0, -5):
        message = error(register(client, "imp", USER_V1, id=3, version=version), 422, 42202)
        assert f"'{version}'" in message
    assert register(client, "imp", USER_V1, id=3, version=1).json()["id"] == 3


@pytest.mark.parametrize("name", ["a%00b", "a%01b", "%1Fx"])
def test_control_characters_make_a_subject_invalid_everywhere(
    client: TestClient, name: str
) -> None:
    """PostgreSQL cannot even compare text holding NUL: such names never reach it."""
    register_id(client, "fine", ADDRESS)
    error(register(client, name, USER_V1), 422, 42208)
    error(client.get(f"/subjects/{name}/versions"), 422, 42208)
    error(client.get(f"/subjects/{name}/versions/latest"), 422, 42208)
    error(client.post(f"/subjects/{name}", json={"schema": USER_V1}), 422, 42208)
    error(client.get(f"/config/{name}"), 422, 42208)
    error(client.get(f"/subjects?subjectPrefix={name}"), 422, 42208)
    error(client.get(f"/schemas/ids/1?subject={name}"), 422, 42208)
    refs = [{"name": "x", "subject": unquote(name), "version": 1}]
    error(register(client, "fine", CUSTOMER, references=refs), 422, 42208)


# -- GUIDs, metadata, associations -----------------------------------------------------


def test_guids(client: TestClient) -> None:
    body = register(client, "g", USER_V1).json()
    guid = body["guid"]
    assert len(guid) == 36 and guid.count("-") == 4
    assert register(client, "g2", USER_V1).json()["guid"] == guid  # same schema, same GUID
    assert register(client, "g", USER_V2).json()["guid"] != guid
    by_guid = client.get(f"/schemas/guids/{guid}").json()
    assert by_guid == client.get(f"/schemas/ids/{body['id']}").json()
    assert client.get(f"/schemas/guids/{guid.upper()}").json()["guid"] == guid
    assert client.get(f"/schemas/guids/{guid}/ids").json() == [{"id": body["id"], "context": "."}]
    assert client.get("/subjects/g/versions/1").json()["guid"] == guid
    error(client.get("/schemas/guids/00000000-0000-0000-0000-000000000000"), 404, 40403)
    error(client.get("/schemas/guids/not-a-guid"), 404, 40403)


def test_latest_with_metadata(client: TestClient) -> None:
    error(client.get("/subjects/md/metadata"), 404, 40401)
    register_id(client, "md", USER_V1)
    register_id(client, "md", USER_V2)
    # as Confluent's getLatestWithMetadata: a version without metadata matches no query,
    # not even one without pairs (tests/integration/registry/test_data_contracts.py has more)
    error(client.get("/subjects/md/metadata?deleted=false"), 404, 40403)
    error(client.get("/subjects/md/metadata?key=owner&value=a"), 404, 40403)


def test_associations_are_refused_without_5xx(client: TestClient) -> None:
    error(client.post("/associations", json={"resourceName": "t"}), 422, 42212)
    error(client.delete("/associations/resources/abc?cascadeLifecycle=false"), 404, 40410)


# -- Protobuf's serialized form --------------------------------------------------------


def test_protobuf_serialized_form_is_a_file_descriptor(client: TestClient) -> None:
    schema_id = register_id(client, "pbs", PROTO, schemaType="PROTOBUF")
    serialized = client.get(f"/schemas/ids/{schema_id}?format=serialized").json()["schema"]
    descriptor = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(serialized))
    assert descriptor.package == "demo" and [m.name for m in descriptor.message_type] == ["Ping"]
    assert client.get(f"/schemas/ids/{schema_id}/schema?format=serialized").text == serialized
    assert client.get("/subjects/pbs/versions/1/schema?format=serialized").text == serialized
    # The descriptor itself, as confluent-kafka's ProtobufSerializer sends it, is the same schema.
    again = register(client, "pbs", serialized, schemaType="PROTOBUF").json()
    assert (again["id"], again["version"]) == (schema_id, 1)
    text = client.get(f"/schemas/ids/{schema_id}").json()["schema"]
    assert "message Ping" in text
