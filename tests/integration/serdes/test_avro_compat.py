"""regcast's Avro serdes and confluent-kafka's on one real registry: same bytes, both ways.

Each test registers through both clients on the same subject, so the ids agree and the
frames can be compared byte for byte (Avro binary encoding is deterministic for a given
schema and value, maps included since both iterate the same dict).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema as CkSchema
from confluent_kafka.schema_registry import SchemaReference as CkSchemaReference
from confluent_kafka.schema_registry import (
    SchemaRegistryClient as CkSchemaRegistryClient,
)
from confluent_kafka.schema_registry import (
    record_subject_name_strategy as ck_record_strategy,
)
from confluent_kafka.schema_registry import (
    topic_record_subject_name_strategy as ck_topic_record_strategy,
)
from confluent_kafka.schema_registry import (
    topic_subject_name_strategy as ck_topic_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer as CkAvroDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as CkAvroSerializer
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext
from pydantic import BaseModel

import serdes.avro
from serdes import (
    AvroDeserializer,
    AvroSerializer,
    MessageField,
    SchemaRegistryClient,
    SerializationContext,
    record_subject_name_strategy,
    topic_record_subject_name_strategy,
)
from serdes.errors import (
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

ORDER_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "regcast.demo",
        "fields": [
            {"name": "order_id", "type": "long"},
            {
                "name": "customer",
                "type": {
                    "type": "record",
                    "name": "Customer",
                    "fields": [
                        {"name": "name", "type": "string"},
                        {"name": "email", "type": ["null", "string"], "default": None},
                        {
                            "name": "address",
                            "type": {
                                "type": "record",
                                "name": "Address",
                                "fields": [
                                    {"name": "street", "type": "string"},
                                    {"name": "city", "type": "string"},
                                ],
                            },
                        },
                    ],
                },
            },
            {
                "name": "status",
                "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]},
            },
            {
                "name": "lines",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Line",
                        "fields": [
                            {"name": "sku", "type": "string"},
                            {"name": "qty", "type": "int"},
                            {
                                "name": "price",
                                "type": {
                                    "type": "bytes",
                                    "logicalType": "decimal",
                                    "precision": 10,
                                    "scale": 2,
                                },
                            },
                        ],
                    },
                },
            },
            {"name": "attributes", "type": {"type": "map", "values": "string"}},
            {
                "name": "payment",
                "type": [
                    "null",
                    "string",
                    "long",
                    {
                        "type": "record",
                        "name": "Card",
                        "fields": [{"name": "token", "type": "string"}],
                    },
                ],
                "default": None,
            },
            {"name": "shipping", "type": ["null", "Address"], "default": None},
            {"name": "created", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "updated", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "at", "type": {"type": "int", "logicalType": "time-millis"}},
            {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "checksum", "type": {"type": "fixed", "name": "Md5", "size": 16}},
            {"name": "weights", "type": {"type": "array", "items": "double"}},
            {
                "name": "scores",
                "type": {"type": "map", "values": {"type": "array", "items": "int"}},
            },
            {"name": "flag", "type": "boolean"},
            {"name": "ratio", "type": "float"},
        ],
    },
    indent=2,
)


def order(payment: Any = None, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "order_id": 1234567890123,
        "customer": {
            "name": "Ada",
            "email": "ada@example.com",
            "address": {"street": "Main St 1", "city": "Berlin"},
        },
        "status": "PAID",
        "lines": [
            {"sku": "A-1", "qty": 2, "price": Decimal("19.99")},
            {"sku": "B-2", "qty": -1, "price": Decimal("-0.50")},
        ],
        "attributes": {"gift": "yes", "channel": "web"},
        "payment": payment,
        "shipping": {"street": "Dock 4", "city": "Hamburg"},
        "created": dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC),
        "updated": dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
        "day": dt.date(2024, 5, 6),
        "at": dt.time(13, 14, 15, 16000),
        "ref": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "checksum": bytes(range(16)),
        "weights": [0.5, 1.25],
        "scores": {"math": [1, 2, 3], "empty": []},
        "flag": True,
        "ratio": 0.5,
    }
    value.update(overrides)
    return value


def ck_pair(
    ck_client: CkSchemaRegistryClient, schema: str, strategy: Any = ck_topic_strategy
) -> tuple[CkAvroSerializer, CkAvroDeserializer]:
    conf = {"subject.name.strategy": strategy}
    return (
        CkAvroSerializer(ck_client, schema, conf=conf),
        CkAvroDeserializer(ck_client, conf={"subject.name.strategy": strategy}),
    )


@pytest.mark.parametrize(
    "payment",
    [None, "voucher-42", 987654321, {"token": "tok_1"}],
    ids=["null", "string", "long", "record"],
)
def test_nested_unions_enums_logical_maps_arrays_both_ways(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str, payment: Any
) -> None:
    ours = AvroSerializer(client, ORDER_SCHEMA)
    ours_reader = AvroDeserializer(client)
    theirs, theirs_reader = ck_pair(ck_client, ORDER_SCHEMA)
    ctx = SerializationContext(topic, MessageField.VALUE)
    ck_ctx = CkContext(topic, CkField.VALUE)
    value = order(payment)

    our_bytes = ours(value, ctx)
    their_bytes = theirs(value, ck_ctx)
    assert our_bytes is not None
    assert our_bytes == their_bytes
    assert our_bytes[:1] == b"\x00"

    assert theirs_reader(our_bytes, ck_ctx) == value
    assert ours_reader(their_bytes, ctx) == value
    assert ours_reader(our_bytes, ctx) == value


def test_keys_and_values_use_their_own_subjects(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    key_schema = json.dumps(
        {
            "type": "record",
            "name": "OrderKey",
            "namespace": "regcast.demo",
            "fields": [{"name": "order_id", "type": "long"}, {"name": "region", "type": "string"}],
        }
    )
    key = {"order_id": 5, "region": "eu"}
    for field_name, schema, value in [
        (MessageField.KEY, key_schema, key),
        (MessageField.VALUE, ORDER_SCHEMA, order()),
    ]:
        ctx = SerializationContext(topic, field_name)
        ck_ctx = CkContext(topic, CkField(field_name.value))
        ours = AvroSerializer(client, schema)(value, ctx)
        theirs = ck_pair(ck_client, schema)[0](value, ck_ctx)
        assert ours == theirs
        assert ck_pair(ck_client, schema)[1](ours, ck_ctx) == value
        assert AvroDeserializer(client)(theirs, ctx) == value
    subjects = set(client.get_subjects())
    assert {f"{topic}-key", f"{topic}-value"} <= subjects
    assert (
        client.get_latest_version(f"{topic}-key").schema_id
        != client.get_latest_version(f"{topic}-value").schema_id
    )


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ('"string"', "order-17"),
        ('"long"', 1 << 40),
        ('{"type": "bytes"}', b"\x00\xffraw"),
        ('"double"', 2.5),
        ('["null", "int"]', 3),
    ],
)
def test_primitive_keys_both_ways(
    client: SchemaRegistryClient,
    ck_client: CkSchemaRegistryClient,
    topic: str,
    schema: str,
    value: Any,
) -> None:
    ctx = SerializationContext(topic, MessageField.KEY)
    ck_ctx = CkContext(topic, CkField.KEY)
    ours = AvroSerializer(client, schema)(value, ctx)
    theirs = ck_pair(ck_client, schema)[0](value, ck_ctx)
    assert ours == theirs
    assert ck_pair(ck_client, schema)[1](ours, ck_ctx) == value
    assert AvroDeserializer(client)(theirs, ctx) == value


def test_contexts_are_interchangeable(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    """Our serializer with confluent-kafka's context, theirs with ours: same subject, bytes."""
    theirs, theirs_reader = ck_pair(ck_client, ORDER_SCHEMA)
    ours = AvroSerializer(client, ORDER_SCHEMA)
    value = order("x")
    a = ours(value, CkContext(topic, CkField.VALUE))
    b = theirs(value, SerializationContext(topic, MessageField.VALUE))
    assert a == b
    assert theirs_reader(a, SerializationContext(topic, MessageField.VALUE)) == value
    assert client.get_subjects().count(f"{topic}-value") == 1


@pytest.mark.parametrize(
    ("ours", "theirs", "subject"),
    [
        (record_subject_name_strategy, ck_record_strategy, "regcast.demo.Order"),
        (
            topic_record_subject_name_strategy,
            ck_topic_record_strategy,
            "{topic}-regcast.demo.Order",
        ),
    ],
)
def test_record_name_strategies(
    client: SchemaRegistryClient,
    ck_client: CkSchemaRegistryClient,
    topic: str,
    ours: Any,
    theirs: Any,
    subject: str,
) -> None:
    ctx = SerializationContext(topic)
    our_bytes = AvroSerializer(client, ORDER_SCHEMA, subject_name_strategy=ours)(order(), ctx)
    their_bytes = ck_pair(ck_client, ORDER_SCHEMA, theirs)[0](
        order(), CkContext(topic, CkField.VALUE)
    )
    assert our_bytes == their_bytes
    assert subject.format(topic=topic) in client.get_subjects()


class Status(enum.Enum):
    NEW = 1
    PAID = 2
    SHIPPED = 3


@dataclass
class Address:
    street: str
    city: str


@dataclass
class Line:
    sku: str
    qty: int
    unit_price: Decimal


@dataclass
class TypedOrder:
    __avro_namespace__ = "regcast.demo"

    order_id: int
    status: Status
    address: Address
    lines: list[Line]
    attributes: dict[str, str]
    created: dt.datetime
    ref: uuid.UUID
    note: str | None = None
    tags: list[str] = field(default_factory=list)


class PydanticOrder(BaseModel):
    order_id: int
    status: Status
    address: Address
    lines: list[Line]
    created: dt.datetime
    note: str | None = None


def typed_order() -> TypedOrder:
    return TypedOrder(
        order_id=9,
        status=Status.SHIPPED,
        address=Address("Main St 1", "Berlin"),
        lines=[Line("A", 1, Decimal("1.000000001")), Line("B", 2, Decimal("3"))],
        attributes={"k": "v"},
        created=dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        ref=uuid.UUID(int=7),
        tags=["x"],
    )


def test_dataclass_in_confluent_kafka_reads_it(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    ctx = SerializationContext(topic)
    ours = AvroSerializer(client, TypedOrder)
    data = ours(typed_order(), ctx)
    assert data is not None
    registered = client.get_latest_version(f"{topic}-value")
    assert json.loads(registered.schema.schema_str)["name"].endswith("TypedOrder")
    read = ck_pair(ck_client, ours.schema_str or "")[1](data, CkContext(topic, CkField.VALUE))
    assert read["status"] == "SHIPPED"
    assert read["address"] == {"street": "Main St 1", "city": "Berlin"}
    assert read["lines"][0]["unit_price"] == Decimal("1.000000001")
    # and our deserializer rebuilds the dataclass
    assert AvroDeserializer(client, TypedOrder)(data, ctx) == typed_order()


def test_pydantic_model_both_ways(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    ctx = SerializationContext(topic)
    model = PydanticOrder(
        order_id=1,
        status=Status.PAID,
        address=Address("a", "b"),
        lines=[Line("s", 1, Decimal("2.5"))],
        created=dt.datetime(2023, 3, 4, tzinfo=dt.UTC),
    )
    ours = AvroSerializer(client, PydanticOrder)
    data = ours(model, ctx)
    assert AvroDeserializer(client, model=PydanticOrder)(data, ctx) == model
    # confluent-kafka writes the same record from a dict (its to_dict) with the same schema
    theirs = CkAvroSerializer(
        ck_client,
        ours.schema_str or "",
        to_dict=lambda obj, _ctx: {
            **obj.model_dump(),
            "status": obj.status.name,
            "address": vars(obj.address),
            "lines": [vars(line) for line in obj.lines],
        },
        conf={"subject.name.strategy": ck_topic_strategy},
    )
    assert theirs(model, CkContext(topic, CkField.VALUE)) == data


def test_confluent_kafka_default_strategy_reads_our_bytes(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    """confluent-kafka >= 2.14 defaults to the associations strategy (404 -> topic)."""
    ctx = CkContext(topic, CkField.VALUE)
    theirs = CkAvroSerializer(ck_client, ORDER_SCHEMA)
    their_bytes = theirs(order(), ctx)
    assert AvroSerializer(client, ORDER_SCHEMA)(order(), ctx) == their_bytes
    assert CkAvroDeserializer(ck_client)(their_bytes, ctx) == order()


def test_per_record_path_does_no_http_and_no_parsing(
    serdes_registry: str, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the first record: zero HTTP requests, zero schema parses, for every serde."""
    parses: list[object] = []
    real_parse_schema = serdes.avro.parse_schema

    def counting_parse_schema(*args: Any, **kwargs: Any) -> Any:
        parses.append(args[0])
        return real_parse_schema(*args, **kwargs)

    monkeypatch.setattr(serdes.avro, "parse_schema", counting_parse_schema)
    with RegistryProxy(serdes_registry) as proxy:
        client = SchemaRegistryClient(proxy.url)
        ctx = SerializationContext(topic)
        typed_ctx = SerializationContext(topic + "-typed")
        ser = AvroSerializer(client, ORDER_SCHEMA)
        typed_ser = AvroSerializer(client, TypedOrder)
        de = AvroDeserializer(client)
        reader = json.loads(ORDER_SCHEMA)
        reader["fields"] = [f for f in reader["fields"] if f["name"] != "ratio"]
        evolving_de = AvroDeserializer(client, json.dumps(reader))  # drops a field
        typed_de = AvroDeserializer(client, TypedOrder)

        def one_of_each(i: int) -> None:
            data = ser(order(order_id=i), ctx)
            assert de(data, ctx)["order_id"] == i
            assert "ratio" not in evolving_de(data, ctx)
            typed = typed_ser(dataclasses.replace(typed_order(), order_id=i), typed_ctx)
            assert typed_de(typed, typed_ctx).order_id == i

        one_of_each(0)
        http_after_first = list(proxy.requests)
        parses_after_first = len(parses)
        assert http_after_first  # the first records did talk to the registry
        for i in range(1, 200):
            one_of_each(i)
        assert proxy.requests == http_after_first
        assert len(parses) == parses_after_first
        client.close()  # and with the connections closed, records still flow
        one_of_each(200)
        assert len(parses) == parses_after_first


def test_record_errors_name_the_field(client: SchemaRegistryClient, topic: str) -> None:
    ser = AvroSerializer(client, ORDER_SCHEMA)
    ctx = SerializationContext(topic)
    with pytest.raises(RecordError, match="order_id") as info:
        ser(order(order_id="not a number"), ctx)
    assert f"{topic}-value" in str(info.value)
    with pytest.raises(RecordError, match="flag"):
        ser({k: v for k, v in order().items() if k != "flag"}, ctx)
    assert ser(None, ctx) is None


def test_bad_frames(client: SchemaRegistryClient, topic: str) -> None:
    de = AvroDeserializer(client)
    ctx = SerializationContext(topic)
    with pytest.raises(InvalidMagicByteError):
        de(b'{"json": true}', ctx)
    with pytest.raises(TruncatedFrameError):
        de(b"\x00\x00\x01", ctx)
    with pytest.raises(SchemaNotFoundError) as info:
        de(encode_header(987654) + b"\x02", ctx)
    assert info.value.error_code == 40403
    assert "987654" in str(info.value)
    good = AvroSerializer(client, ORDER_SCHEMA)(order(), ctx)
    assert good is not None
    for cut in (len(good) - 1, len(good) // 2, 6):
        with pytest.raises(SerializationError, match="does not decode with writer schema id"):
            de(good[:cut], ctx)
    # a Protobuf schema id in front of an Avro deserializer: the wrong deserializer, said so
    proto_id = client.register_schema(
        f"{topic}-proto", 'syntax = "proto3"; message M { int64 a = 1; }', "PROTOBUF"
    )
    with pytest.raises(SerializationError, match="PROTOBUF schema, not Avro"):
        de(encode_header(proto_id) + b"\x00\x02", ctx)


def test_lookup_without_auto_register(client: SchemaRegistryClient, topic: str) -> None:
    ctx = SerializationContext(topic)
    lookup_only = AvroSerializer(client, ORDER_SCHEMA, auto_register=False)
    with pytest.raises(SubjectNotFoundError):
        lookup_only(order(), ctx)
    registered = AvroSerializer(client, ORDER_SCHEMA)(order(), ctx)
    # a fresh lookup-only serializer now finds the id
    assert AvroSerializer(client, ORDER_SCHEMA, auto_register=False)(order(), ctx) == registered


def test_normalize_registers_the_same_id(client: SchemaRegistryClient, topic: str) -> None:
    ctx = SerializationContext(topic)
    compact = json.dumps(json.loads(ORDER_SCHEMA), separators=(",", ":"))
    a = AvroSerializer(client, ORDER_SCHEMA, normalize=True)(order(), ctx)
    b = AvroSerializer(client, compact, normalize=True)(order(), ctx)
    assert a == b
    assert client.get_versions(f"{topic}-value") == [1]


ADDRESS_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Address",
        "namespace": "regcast.shared",
        "fields": [{"name": "street", "type": "string"}, {"name": "city", "type": "string"}],
    }
)
SHIPMENT_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Shipment",
        "namespace": "regcast.demo",
        "fields": [
            {"name": "shipment_id", "type": "long"},
            {"name": "to", "type": "regcast.shared.Address"},
            {"name": "stops", "type": {"type": "array", "items": "regcast.shared.Address"}},
        ],
    }
)


def test_schema_references_both_ways(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    """A named type registered under its own subject and referenced by name."""
    ref_subject = f"{topic}-address"
    client.register_schema(ref_subject, ADDRESS_SCHEMA)
    version = client.lookup_schema(ref_subject, ADDRESS_SCHEMA).version
    ref = SchemaReference("regcast.shared.Address", ref_subject, version)
    value = {
        "shipment_id": 3,
        "to": {"street": "Main St 1", "city": "Berlin"},
        "stops": [{"street": "Dock 4", "city": "Hamburg"}],
    }
    ctx = SerializationContext(topic)
    ck_ctx = CkContext(topic, CkField.VALUE)
    ours = AvroSerializer(client, SHIPMENT_SCHEMA, references=[ref])(value, ctx)
    theirs = CkAvroSerializer(
        ck_client,
        CkSchema(SHIPMENT_SCHEMA, "AVRO", [CkSchemaReference(ref.name, ref.subject, ref.version)]),
        conf={"subject.name.strategy": ck_topic_strategy},
    )(value, ck_ctx)
    assert ours == theirs
    assert client.get_latest_version(f"{topic}-value").schema.references == (ref,)
    assert AvroDeserializer(client)(theirs, ctx) == value
    assert (
        CkAvroDeserializer(ck_client, conf={"subject.name.strategy": ck_topic_strategy})(
            ours, ck_ctx
        )
        == value
    )
