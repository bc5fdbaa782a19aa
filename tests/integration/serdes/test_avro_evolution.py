"""Schema evolution through a real registry: v1 data read as v2 and back, failures named."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient
from confluent_kafka.schema_registry import topic_subject_name_strategy as ck_topic_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer as CkAvroDeserializer
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext

from serdes import AvroDeserializer, AvroSerializer, SchemaRegistryClient, SerializationContext
from serdes.errors import IncompatibleSchemaError, SchemaEvolutionError


def schema(*extra: dict[str, Any], drop: tuple[str, ...] = ()) -> str:
    fields: list[dict[str, Any]] = [
        {"name": "order_id", "type": "long"},
        {"name": "amount", "type": "double"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
        {"name": "note", "type": ["null", "string"], "default": None},
    ]
    fields = [f for f in fields if f["name"] not in drop] + list(extra)
    return json.dumps(
        {"type": "record", "name": "Order", "namespace": "regcast.demo", "fields": fields}
    )


V1 = schema()
V2 = schema({"name": "currency", "type": "string", "default": "EUR"})  # added with default
V1_VALUE = {"order_id": 1, "amount": 9.5, "status": "PAID", "note": None}
V2_VALUE = {**V1_VALUE, "currency": "USD"}


def write_v1_v2(client: SchemaRegistryClient, topic: str) -> tuple[bytes, bytes]:
    ctx = SerializationContext(topic)
    v1 = AvroSerializer(client, V1)(V1_VALUE, ctx)
    v2 = AvroSerializer(client, V2)(V2_VALUE, ctx)  # BACKWARD (the default) accepts it
    assert v1 is not None and v2 is not None
    assert client.get_versions(f"{topic}-value") == [1, 2]
    return v1, v2


def test_v1_read_as_v2_and_v2_read_as_v1(client: SchemaRegistryClient, topic: str) -> None:
    v1_bytes, v2_bytes = write_v1_v2(client, topic)
    ctx = SerializationContext(topic)
    # new reader, old data: the default fills the added field
    assert AvroDeserializer(client, V2)(v1_bytes, ctx) == {**V1_VALUE, "currency": "EUR"}
    # old reader, new data: the added field is skipped
    assert AvroDeserializer(client, V1)(v2_bytes, ctx) == V1_VALUE
    # no reader schema: each as written
    assert AvroDeserializer(client)(v1_bytes, ctx) == V1_VALUE
    assert AvroDeserializer(client)(v2_bytes, ctx) == V2_VALUE


def test_confluent_kafka_reads_our_old_data_with_its_new_reader(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    v1_bytes, _ = write_v1_v2(client, topic)
    reader = CkAvroDeserializer(ck_client, V2, conf={"subject.name.strategy": ck_topic_strategy})
    assert reader(v1_bytes, CkContext(topic, CkField.VALUE)) == {**V1_VALUE, "currency": "EUR"}


def test_use_latest_version(client: SchemaRegistryClient, topic: str) -> None:
    v1_bytes, _ = write_v1_v2(client, topic)
    ctx = SerializationContext(topic)
    latest_reader = AvroDeserializer(client, use_latest_version=True)
    assert latest_reader(v1_bytes, ctx) == {**V1_VALUE, "currency": "EUR"}
    # a serializer pinned to the latest version writes with its id
    latest_id = client.get_latest_version(f"{topic}-value").schema_id
    writer = AvroSerializer(client, use_latest_version=True)
    data = writer(V2_VALUE, ctx)
    assert data is not None and int.from_bytes(data[1:5], "big") == latest_id


def test_registry_refuses_and_reader_names_the_missing_field(
    client: SchemaRegistryClient, topic: str
) -> None:
    v1_bytes, _ = write_v1_v2(client, topic)
    ctx = SerializationContext(topic)
    v3 = schema({"name": "rate", "type": "double"})  # added WITHOUT a default
    compatible, messages = client.test_compatibility(f"{topic}-value", v3)
    assert not compatible
    assert any("rate" in m for m in messages)
    with pytest.raises(IncompatibleSchemaError) as info:
        AvroSerializer(client, v3)({**V1_VALUE, "rate": 1.0}, ctx)
    assert info.value.http_status == 409
    assert info.value.error_code in (409, 40901)
    # reading old data with that reader fails and says which field
    with pytest.raises(SchemaEvolutionError, match=r"Order\.rate") as evolution:
        AvroDeserializer(client, v3)(v1_bytes, ctx)
    assert "without a default" in str(evolution.value)


def test_type_change_names_the_field(client: SchemaRegistryClient, topic: str) -> None:
    ctx = SerializationContext(topic)
    client.set_compatibility(f"{topic}-value", "NONE")
    v1_bytes = AvroSerializer(client, V1)(V1_VALUE, ctx)
    changed = schema({"name": "amount", "type": "string"}, drop=("amount",))
    AvroSerializer(client, changed)({**V1_VALUE, "amount": "9.50"}, ctx)
    with pytest.raises(SchemaEvolutionError, match=r"field Order\.amount: writer type double"):
        AvroDeserializer(client, changed)(v1_bytes, ctx)


def test_forward_level_allows_reading_new_data_with_old_reader(
    client: SchemaRegistryClient, topic: str
) -> None:
    ctx = SerializationContext(topic)
    client.set_compatibility(f"{topic}-value", "FORWARD")
    v1_bytes = AvroSerializer(client, V1)(V1_VALUE, ctx)
    # FORWARD: removing a field that has a default (note) is fine; old readers default it
    v2 = schema(drop=("note",))
    v2_bytes = AvroSerializer(client, v2)({k: v for k, v in V1_VALUE.items() if k != "note"}, ctx)
    assert AvroDeserializer(client, V1)(v2_bytes, ctx) == V1_VALUE
    assert AvroDeserializer(client, v2)(v1_bytes, ctx) == {
        k: v for k, v in V1_VALUE.items() if k != "note"
    }
    # FORWARD refuses a removal without default
    with pytest.raises(IncompatibleSchemaError):
        AvroSerializer(client, schema(drop=("amount",)))({"order_id": 1, "status": "NEW"}, ctx)


@dataclass
class OrderV2:
    __avro_name__ = "Order"
    __avro_namespace__ = "regcast.demo"

    order_id: int
    amount: float
    currency: str = "EUR"


def test_model_class_reads_old_data(client: SchemaRegistryClient, topic: str) -> None:
    v1_bytes, v2_bytes = write_v1_v2(client, topic)
    ctx = SerializationContext(topic)
    reader = AvroDeserializer(client, OrderV2)
    assert reader(v1_bytes, ctx) == OrderV2(1, 9.5, "EUR")
    assert reader(v2_bytes, ctx) == OrderV2(1, 9.5, "USD")
