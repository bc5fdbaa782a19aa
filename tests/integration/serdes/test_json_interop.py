"""regcast's JSON Schema serdes against confluent-kafka's, on one regcast registry.

confluent-kafka's JSONSerializer writes and ours reads, and the reverse; the bytes of
both writers are compared for the same record; a schema referencing another subject is
resolved by both; a record that breaks the schema is refused by both readers; and the
frames go through librdkafka's mock cluster with confluent-kafka's SerializingProducer.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import SerializingProducer
from confluent_kafka.schema_registry import Schema as CkSchema
from confluent_kafka.schema_registry import SchemaReference as CkSchemaReference
from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer as CkJSONDeserializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer as CkJSONSerializer
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext
from confluent_kafka.serialization import SerializationError as CkSerializationError
from pydantic import BaseModel

from serdes import (
    JSONDeserializer,
    JSONSerializer,
    MessageField,
    SchemaReference,
    SchemaRegistryClient,
    SerializationContext,
)
from serdes.errors import RecordValidationError
from tests.support.consume import ConsumedRecord
from tests.support.mock_cluster import MockCluster

ORDER: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Order",
    "type": "object",
    "properties": {
        "order_id": {"type": "integer"},
        "customer": {"type": "string"},
        "total": {"type": "number"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
                "required": ["sku", "quantity"],
            },
        },
    },
    "required": ["order_id", "customer"],
}
ORDER_TEXT = json.dumps(ORDER)

ADDRESS: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Address",
    "type": "object",
    "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
    "required": ["city"],
}
CUSTOMER: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Customer",
    "type": "object",
    "properties": {"name": {"type": "string"}, "address": {"$ref": "address.json"}},
    "required": ["name", "address"],
}


def order(i: int) -> dict[str, Any]:
    return {
        "order_id": i,
        "customer": f"cüstomer-{i}",
        "total": 12.5 + i,
        "lines": [{"sku": "A-1", "quantity": i + 1}],
    }


class Shipment(BaseModel):
    shipment_id: int
    carrier: str
    parcels: list[int] = []


def test_confluent_writes_regcast_reads(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    ck_serializer = CkJSONSerializer(ORDER_TEXT, ck_client)
    ours = JSONDeserializer(client)
    ck_ctx = CkContext(topic, CkField.VALUE)
    for i in range(5):
        data = ck_serializer(order(i), ck_ctx)
        assert ours(data, SerializationContext(topic, MessageField.VALUE)) == order(i)


def test_regcast_writes_confluent_reads_same_bytes(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    ours = JSONSerializer(client, ORDER_TEXT)
    ck_serializer = CkJSONSerializer(ORDER_TEXT, ck_client)
    ck_deserializer = CkJSONDeserializer(None, schema_registry_client=ck_client)
    ctx = SerializationContext(topic, MessageField.VALUE)
    ck_ctx = CkContext(topic, CkField.VALUE)
    for i in range(5):
        data = ours(order(i), ctx)
        assert data == ck_serializer(order(i), ck_ctx)  # same id, same JSON bytes
        assert ck_deserializer(data, ck_ctx) == order(i)
    assert client.get_versions(f"{topic}-value") == [1]


def test_pydantic_model_schema_registers_and_reads_in_confluent(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    serializer = JSONSerializer(client, Shipment)
    data = serializer(
        Shipment(shipment_id=1, carrier="DHL", parcels=[3]), SerializationContext(topic)
    )
    ck_ctx = CkContext(topic, CkField.VALUE)
    assert CkJSONDeserializer(None, schema_registry_client=ck_client)(data, ck_ctx) == {
        "shipment_id": 1,
        "carrier": "DHL",
        "parcels": [3],
    }
    registered = ck_client.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "JSON"
    assert json.loads(registered.schema.schema_str)["title"] == "Shipment"
    back = JSONDeserializer(client, model=Shipment)(data, SerializationContext(topic))
    assert back == Shipment(shipment_id=1, carrier="DHL", parcels=[3])


def test_reference_to_another_subject_both_ways(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    address_subject = f"{topic}-address"
    ck_client.register_schema(address_subject, CkSchema(json.dumps(ADDRESS), "JSON"))
    assert ck_client.get_version(address_subject, 1).version == 1
    ck_schema = CkSchema(
        json.dumps(CUSTOMER),
        "JSON",
        [CkSchemaReference("address.json", address_subject, 1)],
    )
    ck_serializer = CkJSONSerializer(ck_schema, ck_client)
    ck_deserializer = CkJSONDeserializer(None, schema_registry_client=ck_client)
    ours_writer = JSONSerializer(
        client, CUSTOMER, references=[SchemaReference("address.json", address_subject, 1)]
    )
    ours_reader = JSONDeserializer(client)
    record = {"name": "Ada", "address": {"city": "London", "zip": "N1"}}
    ck_ctx = CkContext(topic, CkField.VALUE)
    ctx = SerializationContext(topic, MessageField.VALUE)

    from_ck = ck_serializer(record, ck_ctx)
    assert ours_reader(from_ck, ctx) == record
    from_ours = ours_writer(record, ctx)
    assert from_ours == from_ck
    assert ck_deserializer(from_ours, ck_ctx) == record

    # the referenced schema is enforced on both writers
    broken = {"name": "Ada", "address": {"zip": "N1"}}
    with pytest.raises(RecordValidationError) as info:
        ours_writer(broken, ctx)
    assert info.value.path == "$.address"
    with pytest.raises(CkSerializationError):
        ck_serializer(broken, ck_ctx)


def test_both_readers_refuse_what_breaks_the_schema(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    loose = JSONSerializer(client, ORDER_TEXT, validate=False)
    ctx = SerializationContext(topic, MessageField.VALUE)
    bad = {**order(1), "lines": [{"sku": "A-1", "quantity": "many"}]}
    data = loose(bad, ctx)
    with pytest.raises(RecordValidationError) as info:
        JSONDeserializer(client)(data, ctx)
    assert info.value.path == "$.lines[0].quantity"
    with pytest.raises(CkSerializationError, match="is not of type 'integer'"):
        CkJSONDeserializer(None, schema_registry_client=ck_client)(
            data, CkContext(topic, CkField.VALUE)
        )
    assert JSONDeserializer(client, validate=False)(data, ctx) == bad


@dataclasses.dataclass
class Parcel:
    parcel_id: int
    weight_g: int


def test_serializing_producer_with_regcast_json_serializer(
    kafka_cluster: MockCluster,
    client: SchemaRegistryClient,
    ck_client: CkSchemaRegistryClient,
    topic: str,
    consume_all: Callable[..., list[ConsumedRecord]],
) -> None:
    kafka_cluster.create_topic(topic, 1)
    producer = SerializingProducer(
        {
            "bootstrap.servers": kafka_cluster.bootstrap_servers,
            "value.serializer": JSONSerializer(client, Parcel),
        }
    )
    parcels = [Parcel(i, 100 * i) for i in range(5)]
    for parcel in parcels:
        producer.produce(topic, value=parcel)
    producer.produce(topic, value=None)  # tombstone
    assert producer.flush(10) == 0

    records = consume_all(kafka_cluster.bootstrap_servers, topic, expected=6)
    ck_reader = CkJSONDeserializer(None, schema_registry_client=ck_client)
    ours = JSONDeserializer(client, model=Parcel)
    for record, parcel in zip(records, [*parcels, None], strict=True):
        expected = None if parcel is None else dataclasses.asdict(parcel)
        assert ck_reader(record.value, CkContext(topic, CkField.VALUE)) == expected
        assert ours(record.value, SerializationContext(topic)) == parcel
