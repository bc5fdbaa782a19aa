"""Avro schemas generated from dataclasses / pydantic models, and object <-> dict converters."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import io
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Optional

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from pydantic import BaseModel, Field

from serdes.avro_model import (
    AvroDecimal,
    from_avro_converter,
    schema_for_class,
    to_avro_converter,
)
from serdes.errors import SchemaError


class Status(enum.Enum):
    NEW = "new"
    PAID = "paid"


@dataclass
class Address:
    street: str
    zip_code: str | None = None


@dataclass
class Order:
    __avro_namespace__ = "shop"

    order_id: int
    amount: float
    paid: bool
    note: Optional[str]  # noqa: UP045 - the typing spelling must work too
    raw: bytes
    status: Status
    address: Address
    lines: list[Address]
    attrs: dict[str, int]
    price: Annotated[Decimal, AvroDecimal(10, 2)]
    created: dt.datetime
    day: dt.date
    ref: uuid.UUID
    previous: Address | None = None
    tags: list[str] = field(default_factory=list)
    priority: Status = Status.NEW
    count: int = 0


def sample_order() -> Order:
    return Order(
        order_id=7,
        amount=9.5,
        paid=True,
        note=None,
        raw=b"\x00\x01",
        status=Status.PAID,
        address=Address("Main St 1", "12345"),
        lines=[Address("a"), Address("b", "z")],
        attrs={"x": 1},
        price=Decimal("12.34"),
        created=dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
        day=dt.date(2024, 5, 6),
        ref=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        previous=Address("old"),
        tags=["t"],
    )


def test_dataclass_schema_shape() -> None:
    schema = schema_for_class(Order)
    assert schema["name"] == "Order"
    assert schema["namespace"] == "shop"
    fields = {f["name"]: f for f in schema["fields"]}
    assert [f["name"] for f in schema["fields"]][:3] == ["order_id", "amount", "paid"]
    assert fields["order_id"]["type"] == "long"
    assert fields["amount"]["type"] == "double"
    assert fields["paid"]["type"] == "boolean"
    assert fields["note"]["type"] == ["null", "string"]
    assert "default" not in fields["note"]
    assert fields["raw"]["type"] == "bytes"
    assert fields["status"]["type"] == {
        "type": "enum",
        "name": "Status",
        "symbols": ["NEW", "PAID"],
    }
    assert fields["address"]["type"]["type"] == "record"
    assert fields["address"]["type"]["fields"][1] == {
        "name": "zip_code",
        "type": ["null", "string"],
        "default": None,
    }
    # the second use of a named type is by (full) name
    assert fields["lines"]["type"] == {"type": "array", "items": "shop.Address"}
    assert fields["previous"]["type"] == ["null", "shop.Address"]
    assert fields["previous"]["default"] is None
    assert fields["attrs"]["type"] == {"type": "map", "values": "long"}
    assert fields["price"]["type"] == {
        "type": "bytes",
        "logicalType": "decimal",
        "precision": 10,
        "scale": 2,
    }
    assert fields["created"]["type"] == {"type": "long", "logicalType": "timestamp-micros"}
    assert fields["day"]["type"] == {"type": "int", "logicalType": "date"}
    assert fields["ref"]["type"] == {"type": "string", "logicalType": "uuid"}
    assert fields["tags"]["default"] == []
    assert fields["priority"] == {"name": "priority", "type": "shop.Status", "default": "NEW"}
    assert fields["count"]["default"] == 0
    parse_schema(schema)  # fastavro accepts it, defaults included


def test_round_trip_through_fastavro_rebuilds_the_dataclass() -> None:
    parsed = parse_schema(schema_for_class(Order))
    order = sample_order()
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, to_avro_converter(Order)(order))
    buffer.seek(0)
    value = schemaless_reader(buffer, parsed, None)
    assert value["status"] == "PAID"
    assert from_avro_converter(Order)(value) == order


class Kind(enum.Enum):
    A = 1
    B = 2


class Item(BaseModel):
    sku: str
    kind: Kind = Kind.A


class Basket(BaseModel):
    basket_id: uuid.UUID
    items: list[Item]
    by_sku: dict[str, Item] = Field(default_factory=dict)
    total: Annotated[Decimal, Field(max_digits=12, decimal_places=3)]
    best: Item | None = None
    when: dt.datetime | None = None


def test_pydantic_schema_and_round_trip() -> None:
    schema = schema_for_class(Basket, namespace="shop.v1")
    assert schema["namespace"] == "shop.v1"
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["total"]["type"]["precision"] == 12
    assert fields["total"]["type"]["scale"] == 3
    assert fields["items"]["type"]["items"]["name"] == "Item"
    assert fields["by_sku"]["type"] == {"type": "map", "values": "shop.v1.Item"}
    assert fields["by_sku"]["default"] == {}
    basket = Basket(
        basket_id=uuid.uuid4(),
        items=[Item(sku="a"), Item(sku="b", kind=Kind.B)],
        by_sku={"b": Item(sku="b", kind=Kind.B)},
        total=Decimal("1.500"),
        best=Item(sku="a"),
        when=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    parsed = parse_schema(schema)
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, to_avro_converter(Basket)(basket))
    buffer.seek(0)
    assert from_avro_converter(Basket)(schemaless_reader(buffer, parsed, None)) == basket


@dataclass
class Node:
    value: int
    children: list[Node] = field(default_factory=list)


def test_recursive_type() -> None:
    schema = schema_for_class(Node)
    assert schema["fields"][1]["type"] == {"type": "array", "items": "Node"}
    tree = Node(1, [Node(2), Node(3, [Node(4)])])
    parsed = parse_schema(schema)
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, to_avro_converter(Node)(tree))
    buffer.seek(0)
    assert from_avro_converter(Node)(schemaless_reader(buffer, parsed, None)) == tree


def test_optional_with_non_null_default_puts_null_second() -> None:
    @dataclass
    class WithDefault:
        level: int | None = 3

    schema = schema_for_class(WithDefault)
    assert schema["fields"][0] == {"name": "level", "type": ["long", "null"], "default": 3}
    parse_schema(schema)


def test_missing_fields_fall_back_to_class_defaults() -> None:
    # a reader schema without 'count' (or data from an older writer) still builds the object
    value = {"street": "x"}
    assert from_avro_converter(Address)(value) == Address("x")


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        (dict[int, str], "str keys"),
        (tuple[int, str], "homogeneous"),
        (object, "no Avro type"),
    ],
)
def test_unsupported_hints_name_the_field(hint: object, message: str) -> None:
    bad = dataclasses.make_dataclass("Bad", [("thing", hint)])
    with pytest.raises(SchemaError, match=rf"field Bad\.thing: .*{message}"):
        schema_for_class(bad)


def test_not_a_model() -> None:
    with pytest.raises(SchemaError, match="not a dataclass"):
        schema_for_class(int)


def test_fields_the_class_lacks_are_dropped() -> None:
    # a reader schema wider than the class (or a writer's extra fields read as written)
    assert from_avro_converter(Address)({"street": "x", "country": "DE"}) == Address("x")
    with pytest.raises(TypeError):
        from_avro_converter(Address)({})  # a required field missing is still an error
