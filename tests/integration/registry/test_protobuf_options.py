"""Protobuf options whose values are message literals, over HTTP to the registry process.

A map-valued option such as ``[(confluent.field_meta) = { params: [{key: "k", value:
"v"}] }]`` (how Confluent's docs attach ``precision`` and ``scale`` to a decimal) once
crashed the renderer, so registering it answered 500. These tests talk HTTP to
``uvicorn --factory registry_service.app:create_app`` (``registry_url``), and once
through confluent-kafka's own ``SchemaRegistryClient``: the schema registers, reads
back as text protoc compiles to the same descriptor, and its serialized form has the
same identity as its text.
"""

from __future__ import annotations

import base64

import httpx
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from google.protobuf.descriptor_pb2 import FileDescriptorProto

from registry_service.formats.protobuf import parse_protobuf

DECIMAL = """syntax = "proto3";
package shop.v1;

import "confluent/meta.proto";
import "confluent/type/decimal.proto";

message Price {
  option (confluent.message_meta) = { doc: "a price", params: [{key: "owner", value: "billing"}] };
  confluent.type.Decimal amount = 1 [(confluent.field_meta) = { params: [
    { key: "scale", value: "3" },
    { key: "precision", value: "8" }
  ], tags: ["PII"] }];
  string currency = 2 [(confluent.field_meta).params = { key: "k", value: "v" }];
}
"""


def _register(url: str, subject: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{url}/subjects/{subject}/versions", json=body, timeout=30)


def test_map_valued_options_register_and_read_back(registry_url: str) -> None:
    # Sent first as a descriptor (what the Python serializer sends), the schema is
    # stored and served as text rendered from it: the renderer's output, over HTTP.
    raw = parse_protobuf(DECIMAL).render("serialized")
    response = _register(registry_url, "price-value", {"schema": raw, "schemaType": "PROTOBUF"})
    assert response.status_code == 200, response.text
    schema_id = response.json()["id"]

    served = httpx.get(f"{registry_url}/schemas/ids/{schema_id}", timeout=30)
    assert served.status_code == 200
    text = served.json()["schema"]
    assert '(confluent.field_meta).params = { key: "precision" value: "8" }' in text
    # The served text is a schema protoc compiles to the same descriptor.
    assert parse_protobuf(text).descriptor == parse_protobuf(DECIMAL).descriptor

    serialized = httpx.get(
        f"{registry_url}/schemas/ids/{schema_id}", params={"format": "serialized"}, timeout=30
    ).json()["schema"]
    descriptor = FileDescriptorProto.FromString(base64.b64decode(serialized))
    assert descriptor.message_type[0].options.ByteSize() > 0

    # The text is the same schema: it registers to the same id, normalised or not.
    for subject, normalize in (("price-value", False), ("price-normalized", True)):
        again = _register(
            registry_url,
            subject,
            {"schema": DECIMAL, "schemaType": "PROTOBUF", "normalize": normalize},
        )
        assert again.status_code == 200, again.text
        assert again.json()["id"] == schema_id


def test_map_valued_options_through_confluent_client(registry_url: str) -> None:
    client = SchemaRegistryClient({"url": registry_url})
    registered = client.register_schema("price-ck", Schema(DECIMAL, "PROTOBUF"))
    changed = DECIMAL.replace('value: "billing"', 'value: "finance"')
    assert client.test_compatibility("price-ck", Schema(changed, "PROTOBUF")) is True
    assert client.register_schema("price-ck", Schema(changed, "PROTOBUF")) != registered
    assert client.get_schema(registered).schema_type == "PROTOBUF"
