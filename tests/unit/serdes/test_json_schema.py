"""serdes.json_schema without a registry process: framing, validation, models, caching.

The registry here is an in-memory stand-in behind ``httpx.MockTransport`` (register,
lookup, by id, by version): enough to hand out ids. Interoperability with Confluent's
serializers on a real registry is in tests/integration/serdes/test_json_interop.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
import pytest
from pydantic import BaseModel, Field

from serdes import JSONDeserializer, JSONSerializer, SchemaReference, SchemaRegistryClient
from serdes.context import MessageField, SerializationContext
from serdes.errors import (
    InvalidMagicByteError,
    RecordError,
    RecordValidationError,
    SchemaError,
    SerializationError,
    TruncatedFrameError,
)
from serdes.json_model import schema_for_class
from serdes.naming import record_subject_name_strategy

ORDER: dict[str, Any] = {
    "title": "Order",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
                "required": ["sku", "quantity"],
            },
        },
    },
    "required": ["id"],
}
ORDER_TEXT = json.dumps(ORDER)


class InMemoryRegistry:
    """A stand-in registry: ids per distinct (text, type, references), versions per subject."""

    def __init__(self) -> None:
        self.schemas: list[dict[str, Any]] = []
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[str] = []

    def _id_for(self, body: dict[str, Any]) -> int:
        entry = {
            "schema": body["schema"],
            "schemaType": body.get("schemaType", "AVRO"),
            "references": body.get("references") or [],
        }
        if entry not in self.schemas:
            self.schemas.append(entry)
        return self.schemas.index(entry) + 1

    def _version_body(self, subject: str, version: int) -> dict[str, Any]:
        schema_id = self.subjects[subject][version - 1]
        return {
            "subject": subject,
            "version": version,
            "id": schema_id,
            **self.schemas[schema_id - 1],
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        self.requests.append(f"{request.method} {path}")
        parts = path.strip("/").split("/")
        if request.method == "POST" and parts[0] == "subjects":
            body = json.loads(request.content)
            schema_id = self._id_for(body)
            versions = self.subjects.setdefault(parts[1], [])
            if len(parts) == 3:  # register
                if schema_id not in versions:
                    versions.append(schema_id)
                return httpx.Response(200, json={"id": schema_id})
            if schema_id not in versions:
                return httpx.Response(
                    404, json={"error_code": 40403, "message": "Schema not found"}
                )
            return httpx.Response(
                200, json=self._version_body(parts[1], versions.index(schema_id) + 1)
            )
        if parts[:2] == ["schemas", "ids"]:
            index = int(parts[2])
            if not 0 < index <= len(self.schemas):
                return httpx.Response(
                    404, json={"error_code": 40403, "message": "Schema not found"}
                )
            return httpx.Response(200, json=self.schemas[index - 1])
        if parts[0] == "subjects" and parts[2] == "versions":
            versions = self.subjects.get(parts[1])
            if not versions:
                return httpx.Response(
                    404, json={"error_code": 40401, "message": "Subject not found"}
                )
            version = len(versions) if parts[3] == "latest" else int(parts[3])
            return httpx.Response(200, json=self._version_body(parts[1], version))
        return httpx.Response(404, json={"error_code": 404, "message": "no route"})


@pytest.fixture
def registry() -> InMemoryRegistry:
    return InMemoryRegistry()


@pytest.fixture
def client(registry: InMemoryRegistry) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient(
        "http://registry:8081", transport=httpx.MockTransport(registry), max_retries=0
    ) as c:
        yield c


VALUE = SerializationContext("orders", MessageField.VALUE)


def test_frame_is_magic_id_and_compact_json(client: SchemaRegistryClient) -> None:
    serializer = JSONSerializer(client, ORDER_TEXT)
    data = serializer({"id": 7, "lines": [{"sku": "ä", "quantity": 2}]}, VALUE)
    assert data is not None
    assert data[:5] == b"\x00" + struct.pack(">I", 1)
    assert data[5:] == '{"id":7,"lines":[{"sku":"ä","quantity":2}]}'.encode()
    assert serializer.schema_str == ORDER_TEXT  # a string is registered as given
    assert serializer(None, VALUE) is None


def test_round_trip_and_registry_calls_once(
    client: SchemaRegistryClient, registry: InMemoryRegistry
) -> None:
    serializer = JSONSerializer(client, ORDER)
    deserializer = JSONDeserializer(client)
    records = [{"id": i, "lines": []} for i in range(50)]
    out = [deserializer(serializer(r, VALUE), VALUE) for r in records]
    assert out == records
    assert registry.requests == ["POST /subjects/orders-value/versions", "GET /schemas/ids/1"]


def test_writer_rejects_a_record_naming_the_path(client: SchemaRegistryClient) -> None:
    serializer = JSONSerializer(client, ORDER)
    with pytest.raises(RecordValidationError) as info:
        serializer({"id": 1, "lines": [{"sku": "a", "quantity": "two"}]}, VALUE)
    assert info.value.path == "$.lines[0].quantity"
    assert info.value.subject == "orders-value"
    assert info.value.schema_id == 1
    assert "'two' is not of type 'integer'" in str(info.value)
    assert "$.lines[0].quantity" in str(info.value)
    with pytest.raises(RecordValidationError, match=r"at \$: 'id' is a required property"):
        serializer({"lines": []}, VALUE)


def test_writer_without_validation_writes_anything(client: SchemaRegistryClient) -> None:
    serializer = JSONSerializer(client, ORDER, validate=False)
    assert serializer({"id": "x"}, VALUE) == b"\x00\x00\x00\x00\x01" + b'{"id":"x"}'


def test_reader_validates_by_default_and_can_skip(client: SchemaRegistryClient) -> None:
    loose = JSONSerializer(client, ORDER, validate=False)
    data = loose({"id": "not a number"}, VALUE)
    with pytest.raises(RecordValidationError) as info:
        JSONDeserializer(client)(data, VALUE)
    assert info.value.path == "$.id"
    assert "cannot deserialize" in str(info.value)
    assert JSONDeserializer(client, validate=False)(data, VALUE) == {"id": "not a number"}


def test_reader_schema_replaces_the_writers(client: SchemaRegistryClient) -> None:
    data = JSONSerializer(client, ORDER)({"id": 5}, VALUE)
    strict = {**ORDER, "required": ["id", "lines"]}
    with pytest.raises(RecordValidationError, match="'lines' is a required property"):
        JSONDeserializer(client, strict)(data, VALUE)
    # without a client: the given schema validates, no id is looked up
    assert JSONDeserializer(None, ORDER)(data, VALUE) == {"id": 5}


@dataclasses.dataclass
class Line:
    sku: str
    quantity: int


@dataclasses.dataclass
class Shipment:
    id: int
    lines: list[Line]
    sent_at: dt.datetime


class Customer(BaseModel):
    customer_id: int = Field(alias="customerId")
    name: str
    tags: list[str] = []


def test_dataclass_schema_and_round_trip(client: SchemaRegistryClient) -> None:
    serializer = JSONSerializer(client, Shipment)
    schema = json.loads(serializer.schema_str or "")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Shipment"
    assert schema["properties"]["lines"]["items"] == {"$ref": "#/$defs/Line"}
    shipment = Shipment(3, [Line("a", 1)], dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    data = serializer(shipment, VALUE)
    assert data is not None
    assert orjson.loads(data[5:]) == {
        "id": 3,
        "lines": [{"sku": "a", "quantity": 1}],
        "sent_at": "2026-01-02T03:04:05Z",
    }
    assert JSONDeserializer(client, model=Shipment)(data, VALUE) == shipment
    assert JSONDeserializer(client, model=Shipment, validate=False)(data, VALUE) == shipment


def test_pydantic_model_uses_aliases_both_ways(client: SchemaRegistryClient) -> None:
    serializer = JSONSerializer(client, Customer)
    assert schema_for_class(Customer)["required"] == ["customerId", "name"]
    data = serializer(Customer(customerId=9, name="Ada"), VALUE)
    assert data is not None
    assert data[5:] == b'{"customerId":9,"name":"Ada","tags":[]}'
    assert JSONDeserializer(client, Customer)(data, VALUE) == Customer(customerId=9, name="Ada")
    # a dict against the model's schema is checked like any other record
    with pytest.raises(RecordValidationError, match=r"\$\.customerId"):
        serializer({"customerId": "nine", "name": "Ada"}, VALUE)


def test_model_from_the_wrong_record_names_the_field(client: SchemaRegistryClient) -> None:
    data = JSONSerializer(client, {"type": "object"})({"customerId": "x", "name": 1}, VALUE)
    with pytest.raises(RecordError, match="Customer"):
        JSONDeserializer(client, model=Customer)(data, VALUE)


def test_from_dict_and_to_dict_hooks(client: SchemaRegistryClient) -> None:
    seen: list[Any] = []
    serializer = JSONSerializer(client, ORDER, to_dict=lambda obj, ctx: {"id": obj[0], "lines": []})
    data = serializer((4, "ignored"), VALUE)

    def from_dict(value: Any, ctx: Any) -> tuple[int, int]:
        seen.append(ctx)
        return (value["id"], len(value["lines"]))

    assert JSONDeserializer(client, from_dict=from_dict)(data, VALUE) == (4, 0)
    assert seen == [VALUE]


def test_validator_compiled_once_per_schema_id(
    client: SchemaRegistryClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import serdes.json_schema as module

    compiled: list[Any] = []
    real = module.compile_validator

    def counting(document: Any, registry: Any, *, what: str = "") -> Any:
        compiled.append(what)
        return real(document, registry, what=what)

    monkeypatch.setattr(module, "compile_validator", counting)
    serializer = JSONSerializer(client, ORDER)
    deserializer = JSONDeserializer(client)
    for i in range(100):
        deserializer(serializer({"id": i}, VALUE), VALUE)
        deserializer(serializer({"id": i}, SerializationContext("other", MessageField.VALUE)))
    assert compiled == ["the serializer's JSON schema", "the writer schema (id 1)"]


def test_framing_errors(client: SchemaRegistryClient) -> None:
    deserializer = JSONDeserializer(client)
    with pytest.raises(InvalidMagicByteError):
        deserializer(b'\x01\x00\x00\x00\x01{"id":1}', VALUE)
    with pytest.raises(TruncatedFrameError):
        deserializer(b"\x00\x00", VALUE)
    JSONSerializer(client, ORDER)({"id": 1}, VALUE)
    with pytest.raises(SerializationError, match="not valid UTF-8 JSON"):
        deserializer(b"\x00\x00\x00\x00\x01{not json", VALUE)


def test_non_json_writer_schema_is_refused(
    client: SchemaRegistryClient,
) -> None:
    schema_id = client.register_schema("avro-value", '{"type":"string"}', "AVRO")
    with pytest.raises(SerializationError, match="AVRO schema, not JSON"):
        JSONDeserializer(client)(b"\x00" + struct.pack(">I", schema_id) + b'"x"', VALUE)


def test_invalid_schema_is_refused_before_any_record(client: SchemaRegistryClient) -> None:
    with pytest.raises(SchemaError, match=r"not a valid Draft7 schema at \$.properties.id"):
        JSONSerializer(client, {"type": "object", "properties": {"id": {"type": "int"}}})
    with pytest.raises(SchemaError, match="not valid JSON"):
        JSONSerializer(client, "{nope")
    with pytest.raises(SchemaError, match="neither JSON Schema text nor a readable file"):
        JSONSerializer(client, "missing.json")
    with pytest.raises(SchemaError, match="not a dataclass or pydantic model"):
        JSONSerializer(client, int)


def test_draft_from_dollar_schema(client: SchemaRegistryClient) -> None:
    # prefixItems exists in 2020-12 only; Draft 7 (the default) ignores it
    tuple_schema = {"type": "array", "prefixItems": [{"type": "integer"}]}
    JSONSerializer(client, tuple_schema)(["a"], VALUE)
    newer = {"$schema": "https://json-schema.org/draft/2020-12/schema", **tuple_schema}
    with pytest.raises(RecordValidationError, match=r"\$\[0\]"):
        JSONSerializer(client, newer)(["a"], SerializationContext("t2", MessageField.VALUE))


def test_references_resolve_by_name(client: SchemaRegistryClient) -> None:
    address = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    client.register_schema("address", json.dumps(address), "JSON")
    customer = {
        "title": "Customer",
        "type": "object",
        "properties": {"address": {"$ref": "address.json"}},
    }
    refs = [SchemaReference("address.json", "address", 1)]
    serializer = JSONSerializer(
        client, customer, references=refs, subject_name_strategy=record_subject_name_strategy
    )
    data = serializer({"address": {"city": "Oslo"}}, VALUE)
    assert JSONDeserializer(client)(data, VALUE) == {"address": {"city": "Oslo"}}
    with pytest.raises(RecordValidationError, match=r"\$\.address: 'city' is a required"):
        serializer({"address": {}}, VALUE)
    unresolved = JSONSerializer(
        client, customer, subject_name_strategy=record_subject_name_strategy
    )
    with pytest.raises(RecordValidationError, match="no schema reference provides"):
        unresolved({"address": {}}, VALUE)


def test_use_latest_version(client: SchemaRegistryClient) -> None:
    JSONSerializer(client, ORDER)({"id": 1}, VALUE)
    latest = JSONSerializer(client, use_latest_version=True)
    assert latest({"id": 2}, VALUE) == b"\x00\x00\x00\x00\x01" + b'{"id":2}'
    with pytest.raises(RecordValidationError):
        latest({"id": "two"}, VALUE)
    reader = JSONDeserializer(client, use_latest_version=True)
    assert reader(latest({"id": 3}, VALUE), VALUE) == {"id": 3}
    with pytest.raises(ValueError, match="cannot both be set"):
        JSONSerializer(client, ORDER, use_latest_version=True, auto_register=True)


def test_lookup_only_when_auto_register_is_off(client: SchemaRegistryClient) -> None:
    from serdes.errors import SchemaNotFoundError

    with pytest.raises(SchemaNotFoundError):
        JSONSerializer(client, ORDER, auto_register=False)({"id": 1}, VALUE)
    JSONSerializer(client, ORDER)({"id": 1}, VALUE)
    assert JSONSerializer(client, ORDER, auto_register=False)({"id": 1}, VALUE) is not None


def test_not_json_serializable_is_a_record_error(client: SchemaRegistryClient) -> None:
    with pytest.raises(RecordError, match="not JSON-serializable"):
        JSONSerializer(client, True)({"x": {1, 2}}, VALUE)


def test_model_without_validation_parses_bytes_in_pydantic(client: SchemaRegistryClient) -> None:
    reader = JSONDeserializer(client, model=Customer, validate=False)
    data = JSONSerializer(client, Customer)(Customer(customerId=1, name="Ada"), VALUE)
    assert reader(data, VALUE) == Customer(customerId=1, name="Ada")
    with pytest.raises(RecordError, match=r"cannot build Customer at customerId"):
        reader(b"\x00\x00\x00\x00\x01" + b'{"customerId":"x","name":"Ada"}', VALUE)
    with pytest.raises(RecordError, match="cannot build Customer"):
        reader(b"\x00\x00\x00\x00\x01" + b"{broken", VALUE)
