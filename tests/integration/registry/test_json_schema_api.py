"""JSON Schema (``schemaType: "JSON"``) over HTTP, and with confluent-kafka's client.

The in-process app runs on a SQLite file and on PostgreSQL (``client`` in
``conftest.py``); confluent-kafka's ``SchemaRegistryClient`` and its JSON serializer and
deserializer talk to ``uvicorn --factory registry_service.app:create_app`` on both.
Subjects holding several versions are set to compatibility NONE: the JSON Schema
compatibility rules (``formats/json_schema_compat/``) are another branch's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import (
    Schema,
    SchemaReference,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError
from fastapi.testclient import TestClient

from regcast.local_broker import stop_process
from tests.integration.registry.conftest import reset_postgres
from tests.support.registry import serve_registry

ADDRESS = json.dumps(
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Address",
        "type": "object",
        "properties": {"street": {"type": "string"}, "zip": {"type": "string"}},
        "required": ["street"],
        "definitions": {"Country": {"type": "string", "enum": ["NL", "FR"]}},
    }
)
CUSTOMER = json.dumps(
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Customer",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "home": {"$ref": "address.json"},
            "country": {"$ref": "address.json#/definitions/Country"},
        },
        "required": ["name", "home"],
    }
)
ORDER = json.dumps(
    {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Order",
        "type": "object",
        "properties": {"id": {"type": "integer"}, "customer": {"$ref": "customer.json"}},
    }
)
ADDRESS_REF = {"name": "address.json", "subject": "address", "version": 1}


def error(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return str(body["message"])


def register(client: TestClient, subject: str, schema: str, **extra: Any) -> httpx.Response:
    body = {"schema": schema, "schemaType": "JSON", **extra}
    return client.post(f"/subjects/{subject}/versions", json=body)


def register_id(client: TestClient, subject: str, schema: str, **extra: Any) -> int:
    response = register(client, subject, schema, **extra)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def compact(text: str) -> str:
    return json.dumps(json.loads(text), separators=(",", ":"))


def test_types_list_json(client: TestClient) -> None:
    assert "JSON" in client.get("/schemas/types").json()


def test_register_lookup_and_read_by_id(client: TestClient) -> None:
    schema_id = register_id(client, "address", ADDRESS)
    # Whitespace is not identity: the same schema spelled otherwise gets the same id,
    # under this subject and under another.
    spaced = json.dumps(json.loads(ADDRESS), indent=4)
    assert register_id(client, "address", spaced) == schema_id
    assert register_id(client, "address-copy", spaced) == schema_id
    assert client.get("/subjects/address/versions").json() == [1]

    by_id = client.get(f"/schemas/ids/{schema_id}").json()
    assert by_id["schemaType"] == "JSON"
    assert by_id["schema"] == compact(ADDRESS)  # Confluent serves the canonical string
    version = client.get("/subjects/address/versions/1").json()
    assert (version["schemaType"], version["id"]) == ("JSON", schema_id)

    found = client.post("/subjects/address", json={"schema": spaced, "schemaType": "JSON"})
    assert found.status_code == 200, found.text
    assert (found.json()["id"], found.json()["version"]) == (schema_id, 1)
    missing = client.post(
        "/subjects/address", json={"schema": '{"type":"string"}', "schemaType": "JSON"}
    )
    error(missing, 404, 40403)
    # An Avro schema of the same text is another schema.
    assert client.post("/subjects/address", json={"schema": ADDRESS}).status_code != 200


def test_key_order_is_identity_unless_normalized(client: TestClient) -> None:
    client.put("/config/order", json={"compatibility": "NONE"})
    first = register_id(client, "order", '{"type":"object","title":"T"}')
    second = register_id(client, "order", '{"title":"T","type":"object"}')
    assert first != second  # as in Confluent, whose canonical string keeps key order

    url = "/subjects/norm/versions?normalize=true"
    a = client.post(url, json={"schema": '{"type":"object","title":"T"}', "schemaType": "JSON"})
    b = client.post(url, json={"schema": '{"title":"T","type":"object"}', "schemaType": "JSON"})
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    assert a.json()["id"] == b.json()["id"] == second  # the sorted spelling's id
    assert client.get(f"/schemas/ids/{second}").json()["schema"] == '{"title":"T","type":"object"}'


def test_references_by_name_and_references_of_references(client: TestClient) -> None:
    address_id = register_id(client, "address", ADDRESS)
    response = register(client, "customer", CUSTOMER, references=[ADDRESS_REF])
    assert response.status_code == 200, response.text
    customer_id = response.json()["id"]
    assert client.get(f"/schemas/ids/{customer_id}").json()["references"] == [ADDRESS_REF]
    assert client.get("/subjects/address/versions/1/referencedby").json() == [customer_id]

    customer_ref = {"name": "customer.json", "subject": "customer", "version": 1}
    order_id = register_id(client, "order", ORDER, references=[customer_ref])
    assert order_id not in (address_id, customer_id)
    order = client.get("/subjects/order/versions/latest").json()
    assert order["references"] == [customer_ref] and order["schemaType"] == "JSON"
    error(client.delete("/subjects/address/versions/1"), 422, 42206)

    # The reference is missing, or its name is not what the $ref says.
    error(register(client, "customer2", CUSTOMER), 422, 42201)
    wrong = [{**ADDRESS_REF, "name": "other.json"}]
    message = error(register(client, "customer2", CUSTOMER, references=wrong), 422, 42201)
    assert "$ref 'address.json'" in message and "other.json" in message
    nowhere = [{**ADDRESS_REF, "subject": "nowhere"}]
    error(register(client, "customer2", CUSTOMER, references=nowhere), 422, 42201)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must be an object or a boolean at the root, found array"),
        ('{"type": "strin"}', "is not a valid draft 7 JSON Schema"),
        (
            '{"$schema": "https://json-schema.org/draft/2020-12/schema", "minLength": -1}',
            "is not a valid draft 2020-12 JSON Schema",
        ),
        ('{"properties": {"a": {"$ref": "#/definitions/none"}}}', "cannot be resolved"),
        ('{"$ref": "https://example.com/remote.json"}', "cannot be resolved"),
        ('{"allOf": [' * 70 + "{}" + "]}" * 70, "nests subschemas more than 64 levels deep"),
    ],
)
def test_invalid_json_schemas_are_42201(client: TestClient, schema: str, expected: str) -> None:
    message = error(register(client, "bad", schema), 422, 42201)
    assert expected in message
    assert message.startswith("Invalid schema of type JSON")
    assert client.get("/subjects?deleted=true").json() == []
    register_id(client, "good", '{"type": "object"}')
    compatibility = client.post(
        "/compatibility/subjects/good/versions/latest",
        json={"schema": schema, "schemaType": "JSON"},
    )
    assert expected in error(compatibility, 422, 42201)


def test_boolean_root_and_every_draft_register(client: TestClient) -> None:
    client.put("/config/drafts", json={"compatibility": "NONE"})
    for draft in ("draft-04/schema#", "draft-06/schema#", "draft-07/schema#"):
        register_id(client, "drafts", json.dumps({"$schema": f"http://json-schema.org/{draft}"}))
    for draft in ("2019-09", "2020-12"):
        url = f"https://json-schema.org/draft/{draft}/schema"
        register_id(client, "drafts", json.dumps({"$schema": url, "type": "object"}))
    assert register_id(client, "drafts", "true") > 0
    assert client.get("/subjects/drafts/versions").json() == [1, 2, 3, 4, 5, 6]


# -- confluent-kafka's client ------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ck_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp(f"json-{request.param}")
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_url")
        reset_postgres(database_url)
    else:
        database_url = f"sqlite:///{tmp / 'registry.db'}"
    process, url = serve_registry(database_url, tmp / "registry.log")
    try:
        yield url
    finally:
        stop_process(process)


def test_confluent_client_registers_and_reads_json_with_a_reference(ck_url: str) -> None:
    ns = f"t{uuid.uuid4().hex[:10]}-"
    sr = SchemaRegistryClient({"url": ck_url, "max.retries": 0})
    try:
        address_id = sr.register_schema(f"{ns}address", Schema(ADDRESS, "JSON"))
        refs = [SchemaReference("address.json", f"{ns}address", 1)]
        customer_id = sr.register_schema(f"{ns}customer", Schema(CUSTOMER, "JSON", refs))
        assert customer_id != address_id
        fresh = SchemaRegistryClient({"url": ck_url, "max.retries": 0})
        fetched = fresh.get_schema(customer_id)
        assert fetched.schema_type == "JSON" and fetched.schema_str == compact(CUSTOMER)
        assert fetched.references is not None
        assert [(r.name, r.subject, r.version) for r in fetched.references] == [
            ("address.json", f"{ns}address", 1)
        ]
        latest = fresh.get_latest_version(f"{ns}customer")
        assert (latest.schema_id, latest.version) == (customer_id, 1)
        found = fresh.lookup_schema(f"{ns}customer", Schema(CUSTOMER, "JSON", refs))
        assert found.schema_id == customer_id
        with pytest.raises(SchemaRegistryError) as bad:
            fresh.register_schema(f"{ns}bad", Schema('{"type": 5}', "JSON"))
        assert (bad.value.http_status_code, bad.value.error_code) == (422, 42201)

        # Its serializer validates against the registered schema, resolving the
        # reference by name the way the registry did; the deserializer reads it back.
        topic = f"{ns}customers"
        ctx = SerializationContext(topic, MessageField.VALUE)
        serializer = JSONSerializer(
            Schema(CUSTOMER, "JSON", refs),
            sr,
            conf={"auto.register.schemas": False, "use.latest.version": True},
        )
        sr.register_schema(f"{topic}-value", Schema(CUSTOMER, "JSON", refs))
        value = {"name": "Ann", "home": {"street": "Main 1"}, "country": "NL"}
        data = serializer(value, ctx)
        assert data is not None and int.from_bytes(data[1:5], "big") == customer_id
        deserializer = JSONDeserializer(None, schema_registry_client=fresh)
        assert deserializer(data, ctx) == value
        with pytest.raises(SerializationError):
            serializer({"name": "Bob", "home": {"zip": "1"}}, ctx)  # street is required
        fresh.close()
    finally:
        sr.close()
