"""regcast serializers in confluent-kafka's SerializingProducer and in regcast's Producer.

What reaches the broker (librdkafka's mock cluster for confluent-kafka's producer, Tansu
for regcast's) is decoded by confluent-kafka's deserializers and by ours, so the
serializers' (obj, ctx) shape is exercised by real producers calling them with their own
context types (and headers), both ways round.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from confluent_kafka import SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient
from confluent_kafka.schema_registry import topic_subject_name_strategy as ck_topic_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer as CkAvroDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as CkAvroSerializer
from confluent_kafka.schema_registry.protobuf import (
    ProtobufDeserializer as CkProtobufDeserializer,
)
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext
from regcast_demo import order_pb2

from producer import Producer
from serdes import (
    AvroDeserializer,
    AvroSerializer,
    MessageField,
    ProtobufSerializer,
    SchemaRegistryClient,
    SerializationContext,
)
from tests.conftest import KafkaBroker
from tests.integration.serdes.test_avro_compat import (
    ORDER_SCHEMA,
    TypedOrder,
    order,
    typed_order,
)
from tests.support.consume import ConsumedRecord
from tests.support.mock_cluster import MockCluster


def test_serializing_producer_with_regcast_serializers(
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
            "key.serializer": ProtobufSerializer(client, order_pb2.OrderKey),
            "value.serializer": AvroSerializer(client, ORDER_SCHEMA),
        }
    )
    keys = [order_pb2.OrderKey(order_id=i, region="eu") for i in range(5)]
    values: list[Any] = [order(f"v{i}", order_id=i) for i in range(5)]
    for key, value in zip(keys, values, strict=True):
        producer.produce(topic, key=key, value=value, headers=[("trace", b"1")])
    producer.produce(topic, key=keys[0], value=None)  # tombstone
    assert producer.flush(10) == 0

    records = consume_all(kafka_cluster.bootstrap_servers, topic, expected=6)
    conf = {"subject.name.strategy": ck_topic_strategy}
    ck_value = CkAvroDeserializer(ck_client, conf=conf)
    ck_key = CkProtobufDeserializer(order_pb2.OrderKey, conf=conf, schema_registry_client=ck_client)
    ours = AvroDeserializer(client)
    for record, key, value in zip(records, [*keys, keys[0]], [*values, None], strict=True):
        value_ctx = CkContext(topic, CkField.VALUE, record.headers)
        assert ck_key(record.key, CkContext(topic, CkField.KEY)) == key
        assert ck_value(record.value, value_ctx) == value
        assert ours(record.value, SerializationContext(topic, MessageField.VALUE)) == value
    assert {f"{topic}-key", f"{topic}-value"} <= set(client.get_subjects())


def test_regcast_producer_with_regcast_and_confluent_serializers(
    kafka_broker: KafkaBroker,
    client: SchemaRegistryClient,
    ck_client: CkSchemaRegistryClient,
    topic: str,
    consume_all: Callable[..., list[ConsumedRecord]],
) -> None:
    """regcast's Producer calls serializers with its own context (``SendContext``).

    Topic A: regcast's serializers (a dataclass value, a Protobuf key). Topic B:
    confluent-kafka's AvroSerializer, which must accept regcast's context. Both are read
    back with confluent-kafka's consumer and deserializers. The broker is Tansu.
    """
    other = topic + "-ck"
    kafka_broker.create_topic(topic, 1)
    kafka_broker.create_topic(other, 1)
    conf = {"subject.name.strategy": ck_topic_strategy}
    typed = [dataclasses.replace(typed_order(), order_id=i) for i in range(5)]
    keys = [order_pb2.OrderKey(order_id=i, region="eu") for i in range(5)]
    with Producer(
        bootstrap_servers=kafka_broker.bootstrap,
        max_block_ms=10_000,
        key_serializer=ProtobufSerializer(client, order_pb2.OrderKey),
        value_serializer=AvroSerializer(client, TypedOrder),
    ) as producer:
        futures = [
            producer.send(topic, value=value, key=key, headers=[("trace", b"1")])
            for key, value in zip(keys, typed, strict=True)
        ]
        producer.flush(10)
    assert all(f.result(timeout=10).offset == i for i, f in enumerate(futures))
    with Producer(
        bootstrap_servers=kafka_broker.bootstrap,
        max_block_ms=10_000,
        value_serializer=CkAvroSerializer(ck_client, ORDER_SCHEMA, conf=conf),
    ) as producer:
        producer.send(other, value=order("ck", order_id=1)).result(timeout=10)

    ck_value = CkAvroDeserializer(ck_client, conf=conf)
    ck_key = CkProtobufDeserializer(order_pb2.OrderKey, conf=conf, schema_registry_client=ck_client)
    ours = AvroDeserializer(client, TypedOrder)
    records = consume_all(kafka_broker.bootstrap, topic, expected=5)
    for record, key, value in zip(records, keys, typed, strict=True):
        assert ck_key(record.key, CkContext(topic, CkField.KEY)) == key
        as_dict = ck_value(record.value, CkContext(topic, CkField.VALUE))
        assert (as_dict["order_id"], as_dict["status"]) == (value.order_id, "SHIPPED")
        assert ours(record.value, SerializationContext(topic)) == value
        assert record.headers == [("trace", b"1")]
    [record] = consume_all(kafka_broker.bootstrap, other, expected=1)
    assert ck_value(record.value, CkContext(other, CkField.VALUE)) == order("ck", order_id=1)
    assert AvroDeserializer(client)(record.value, SerializationContext(other)) == order(
        "ck", order_id=1
    )
    assert {f"{topic}-key", f"{topic}-value", f"{other}-value"} <= set(client.get_subjects())
