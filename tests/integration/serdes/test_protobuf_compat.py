"""regcast's Protobuf serdes and confluent-kafka's on one real registry: same bytes, both ways.

Covers a message with an imported message (registered as a reference under its import
path), a well-known import (skipped), nested messages (index paths [0, 0], [0, 0, 0]),
a second top-level message ([1]), maps, oneofs, enums, keys and values, and evolution
between two versions of one message built in separate descriptor pools.
"""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient
from confluent_kafka.schema_registry import topic_subject_name_strategy as ck_topic_strategy
from confluent_kafka.schema_registry.protobuf import (
    ProtobufDeserializer as CkProtobufDeserializer,
)
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer as CkProtobufSerializer
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.timestamp_pb2 import Timestamp
from regcast_demo import address_pb2, order_pb2

import serdes.protobuf
from serdes import (
    MessageField,
    ProtobufDeserializer,
    ProtobufSerializer,
    SchemaRegistryClient,
    SerializationContext,
)
from serdes.errors import (
    IncompatibleSchemaError,
    InvalidMagicByteError,
    RecordError,
    SchemaNotFoundError,
    SerializationError,
    SubjectNotFoundError,
    TruncatedFrameError,
)
from serdes.registry_client import SchemaReference
from serdes.wire import encode_header
from tests.integration.serdes.registry_proxy import RegistryProxy

CK_CONF = {"subject.name.strategy": ck_topic_strategy}


def make_order(order_id: int = 42) -> order_pb2.Order:
    order = order_pb2.Order(
        order_id=order_id,
        customer="Ada",
        shipping=address_pb2.Address(
            street="Main St 1", city="Berlin", postal_code="10115", country=address_pb2.Address.DE
        ),
        status=order_pb2.PAID,
        created=Timestamp(seconds=1_700_000_000, nanos=123_000_000),
        voucher="SPRING",
        note="leave at door",
        signature=b"\x00\x01\xff",
    )
    line = order.lines.add(sku="A-1", quantity=2, unit_price=9.99)
    line.discounts.add(code="TEN", percent=10.0)
    order.lines.add(sku="B-2", quantity=1, unit_price=0.5)
    order.attributes["gift"] = "yes"
    return order


def roundtrip(
    client: SchemaRegistryClient,
    ck_client: CkSchemaRegistryClient,
    topic: str,
    field: MessageField,
    message: Any,
) -> bytes:
    cls = type(message)
    ctx = SerializationContext(topic, field)
    ck_ctx = CkContext(topic, CkField(field.value))
    ours = ProtobufSerializer(client, cls)(message, ctx)
    theirs = CkProtobufSerializer(cls, ck_client, conf=CK_CONF)(message, ck_ctx)
    assert ours is not None
    assert ours == theirs
    assert (
        CkProtobufDeserializer(cls, conf=CK_CONF, schema_registry_client=ck_client)(ours, ck_ctx)
        == message
    )
    assert ProtobufDeserializer(client, cls)(theirs, ctx) == message
    return ours


def test_order_with_import_and_well_known_type(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    data = roundtrip(client, ck_client, topic, MessageField.VALUE, make_order())
    schema_id = client.get_latest_version(f"{topic}-value").schema_id
    assert data[:6] == encode_header(schema_id) + b"\x00"  # [0] shortcut
    subjects = client.get_subjects()
    assert "regcast_demo/address.proto" in subjects
    assert not any(s.startswith("google/") for s in subjects)
    registered = client.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "PROTOBUF"
    assert registered.schema.references == (
        SchemaReference(
            "regcast_demo/address.proto",
            "regcast_demo/address.proto",
            client.get_latest_version("regcast_demo/address.proto").version,
        ),
    )


@pytest.mark.parametrize(
    ("message", "indexes"),
    [
        (order_pb2.Order.Line(sku="x", quantity=3, unit_price=1.5), b"\x04\x00\x00"),
        (order_pb2.Order.Line.Discount(code="c", percent=5.0), b"\x06\x00\x00\x00"),
        (order_pb2.OrderKey(order_id=7, region="eu"), b"\x02\x02"),
    ],
    ids=["Order.Line", "Order.Line.Discount", "OrderKey"],
)
def test_nested_and_second_messages_write_their_index_path(
    client: SchemaRegistryClient,
    ck_client: CkSchemaRegistryClient,
    topic: str,
    message: Any,
    indexes: bytes,
) -> None:
    data = roundtrip(client, ck_client, topic, MessageField.KEY, message)
    assert data[5 : 5 + len(indexes)] == indexes
    assert data[5 + len(indexes) :] == message.SerializeToString()


def test_keys_and_values(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    roundtrip(client, ck_client, topic, MessageField.KEY, order_pb2.OrderKey(order_id=1))
    roundtrip(client, ck_client, topic, MessageField.VALUE, make_order())
    assert {f"{topic}-key", f"{topic}-value"} <= set(client.get_subjects())


def test_wrong_class_is_named(client: SchemaRegistryClient, topic: str) -> None:
    ctx = SerializationContext(topic)
    data = ProtobufSerializer(client, order_pb2.Order)(make_order(), ctx)
    with pytest.raises(SerializationError, match=r"regcast\.demo\.Order.*regcast\.demo\.OrderKey"):
        ProtobufDeserializer(client, order_pb2.OrderKey)(data, ctx)
    # without a registry client the class is trusted (confluent-kafka's behaviour)
    assert ProtobufDeserializer(None, order_pb2.Order)(data, ctx) == make_order()
    with pytest.raises(RecordError, match=r"expected a regcast\.demo\.Order"):
        ProtobufSerializer(client, order_pb2.Order)(order_pb2.OrderKey(), ctx)  # type: ignore[arg-type]


def test_bad_frames(client: SchemaRegistryClient, topic: str) -> None:
    de = ProtobufDeserializer(client, order_pb2.Order)
    ctx = SerializationContext(topic)
    with pytest.raises(InvalidMagicByteError):
        de(b"\x01\x00\x00\x00\x01\x00", ctx)
    with pytest.raises(TruncatedFrameError):
        de(b"\x00\x00\x00\x00\x01", ctx)
    with pytest.raises(TruncatedFrameError):
        de(encode_header(1) + b"\x04\x00", ctx)  # two indexes announced, one present
    with pytest.raises(SchemaNotFoundError, match="unknown schema id 424242"):
        de(encode_header(424242) + b"\x00", ctx)
    good = ProtobufSerializer(client, order_pb2.Order)(make_order(), ctx)
    assert good is not None
    with pytest.raises(SerializationError, match=r"not a valid regcast\.demo\.Order"):
        de(good[:6] + b"\xff\xff\xff", ctx)


def test_lookup_only_and_latest_version(client: SchemaRegistryClient, topic: str) -> None:
    ctx = SerializationContext(topic)
    with pytest.raises(SubjectNotFoundError):
        ProtobufSerializer(client, order_pb2.Order, auto_register=False)(make_order(), ctx)
    registered = ProtobufSerializer(client, order_pb2.Order)(make_order(), ctx)
    looked_up = ProtobufSerializer(client, order_pb2.Order, auto_register=False)(make_order(), ctx)
    latest = ProtobufSerializer(client, order_pb2.Order, use_latest_version=True)(make_order(), ctx)
    assert registered == looked_up == latest


def test_per_record_path_does_no_http_and_no_parsing(
    serdes_registry: str, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the first record: zero HTTP requests and no descriptor decoding, both ways."""
    decodes: list[str] = []
    real_decode = serdes.protobuf._decode_descriptor

    def counting_decode(text: str) -> Any:
        decodes.append(text)
        return real_decode(text)

    monkeypatch.setattr(serdes.protobuf, "_decode_descriptor", counting_decode)
    with RegistryProxy(serdes_registry) as proxy:
        client = SchemaRegistryClient(proxy.url)
        key_ctx = SerializationContext(topic, MessageField.KEY)
        ctx = SerializationContext(topic)
        key_ser = ProtobufSerializer(client, order_pb2.Order.Line)
        key_de = ProtobufDeserializer(client, order_pb2.Order.Line)
        ser = ProtobufSerializer(client, order_pb2.Order)
        de = ProtobufDeserializer(client, order_pb2.Order)

        def one_of_each(i: int) -> None:
            line = order_pb2.Order.Line(sku=str(i), quantity=i)
            assert key_de(key_ser(line, key_ctx), key_ctx) == line
            assert de(ser(make_order(i), ctx), ctx) == make_order(i)

        one_of_each(0)
        http_after_first = list(proxy.requests)
        assert http_after_first
        assert len(decodes) == 2  # one writer schema checked per (id, index path)
        for i in range(1, 200):
            one_of_each(i)
        assert proxy.requests == http_after_first
        assert len(decodes) == 2
        client.close()
        one_of_each(200)


def test_contexts_are_interchangeable(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    """Our serializer with confluent-kafka's context, theirs with ours: same subject, bytes."""
    ours = ProtobufSerializer(client, order_pb2.OrderKey)(
        order_pb2.OrderKey(order_id=3), CkContext(topic, CkField.KEY)
    )
    theirs = CkProtobufSerializer(order_pb2.OrderKey, ck_client, conf=CK_CONF)(
        order_pb2.OrderKey(order_id=3), SerializationContext(topic, MessageField.KEY)
    )
    assert ours == theirs
    assert client.get_subjects().count(f"{topic}-key") == 1
    reader = CkProtobufDeserializer(
        order_pb2.OrderKey, conf=CK_CONF, schema_registry_client=ck_client
    )
    assert reader(ours, SerializationContext(topic, MessageField.KEY)) == order_pb2.OrderKey(
        order_id=3
    )
    assert ProtobufDeserializer(client, order_pb2.OrderKey)(
        theirs, CkContext(topic, CkField.KEY)
    ) == order_pb2.OrderKey(order_id=3)


# -- evolution: two versions of regcast.evo.Customer, each in its own descriptor pool ----


def customer_class(*fields: tuple[str, int, int]) -> Any:
    """Build regcast.evo.Customer with (name, number, type) fields in a private pool."""
    file = descriptor_pb2.FileDescriptorProto(
        name="regcast_evo/customer.proto", package="regcast.evo", syntax="proto3"
    )
    message = file.message_type.add(name="Customer")
    for name, number, field_type in fields:
        message.field.add(
            name=name,
            number=number,
            type=field_type,
            label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("regcast.evo.Customer"))


F = descriptor_pb2.FieldDescriptorProto
CUSTOMER_V1 = customer_class(("id", 1, F.TYPE_INT64), ("name", 2, F.TYPE_STRING))
CUSTOMER_V2 = customer_class(
    ("id", 1, F.TYPE_INT64), ("name", 2, F.TYPE_STRING), ("email", 3, F.TYPE_STRING)
)


def test_protobuf_evolution_both_directions(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    ctx = SerializationContext(topic)
    v1 = ProtobufSerializer(client, CUSTOMER_V1)(CUSTOMER_V1(id=1, name="Ada"), ctx)
    v2 = ProtobufSerializer(client, CUSTOMER_V2)(
        CUSTOMER_V2(id=2, name="Bob", email="bob@example.com"), ctx
    )
    assert client.get_versions(f"{topic}-value") == [1, 2]
    assert ProtobufDeserializer(client, CUSTOMER_V2)(v1, ctx) == CUSTOMER_V2(id=1, name="Ada")
    old_reader = ProtobufDeserializer(client, CUSTOMER_V1)(v2, ctx)
    assert (old_reader.id, old_reader.name) == (2, "Bob")
    # confluent-kafka's deserializer agrees on both
    ck_ctx = CkContext(topic, CkField.VALUE)
    assert CkProtobufDeserializer(CUSTOMER_V2, conf=CK_CONF, schema_registry_client=ck_client)(
        v1, ck_ctx
    ) == CUSTOMER_V2(id=1, name="Ada")

    changed = customer_class(("id", 1, F.TYPE_INT64), ("name", 2, F.TYPE_INT64))
    with pytest.raises(IncompatibleSchemaError) as info:
        ProtobufSerializer(client, changed)(changed(id=3, name=4), ctx)
    assert info.value.http_status == 409
