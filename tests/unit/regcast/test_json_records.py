"""JSON lines -> typed Avro data and Protobuf messages."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pytest

from regcast.json_records import JsonRecordError, avro_converter, protobuf_converter
from regcast.schema_files import compile_protos, load_avro

REPO = Path(__file__).resolve().parents[3]
ORDER = load_avro(REPO / "schemas/avro/order.avsc")

GOOD: dict[str, Any] = {
    "order_id": "0b5c1c0e-6c1b-4f7e-9f0e-3a8c2a3f9b11",
    "customer_id": 42,
    "status": "PAID",
    "placed_at": "2024-05-01T12:00:00.123Z",
    "delivery_date": "2024-05-03",
    "total": "99.90",
    "shipping_address": {"street": "S 1", "city": "Oslo", "postal_code": "0150", "country": "NO"},
    "lines": [{"sku": "A-1", "quantity": 2, "unit_price": "49.95"}],
}


def _roundtrip(datum: Any) -> Any:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, ORDER.parsed, datum)
    buffer.seek(0)
    return fastavro.schemaless_reader(buffer, ORDER.parsed)


def test_logical_types_from_json_text() -> None:
    datum = avro_converter(ORDER.document)(json.loads(json.dumps(GOOD)))
    assert datum["placed_at"] == dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)
    assert datum["delivery_date"] == dt.date(2024, 5, 3)
    assert datum["total"] == Decimal("99.90")
    assert datum["lines"][0]["unit_price"] == Decimal("49.95")
    back = _roundtrip(datum)
    assert back["total"] == Decimal("99.90")
    assert back["currency"] == "EUR"  # missing field took its default
    assert back["express"] is False


def test_union_accepts_bare_and_avro_json_encoded_values() -> None:
    convert = avro_converter(ORDER.document)
    assert convert({**GOOD, "coupon_code": "X"})["coupon_code"] == "X"
    assert convert({**GOOD, "coupon_code": {"string": "Y"}})["coupon_code"] == "Y"
    assert convert({**GOOD, "coupon_code": None})["coupon_code"] is None
    assert convert({**GOOD, "delivery_date": {"int": 19845}})["delivery_date"] == 19845


def test_integers_pass_through_for_timestamps() -> None:
    datum = avro_converter(ORDER.document)({**GOOD, "placed_at": 1_714_564_800_123})
    assert _roundtrip(datum)["placed_at"] == dt.datetime(
        2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"totl": 1}, r"unknown field\(s\) \['totl'\]"),
        ({"status": "LOST"}, "status: expected one of"),
        ({"customer_id": "42"}, "customer_id: expected an integer"),
        ({"customer_id": True}, "customer_id: expected an integer"),
        ({"placed_at": "yesterday"}, "placed_at: expected an ISO 8601 timestamp"),
        ({"total": "lots"}, "total: expected a decimal number"),
        ({"lines": [{"sku": "a", "quantity": "x", "unit_price": "1"}]}, r"lines\[0\].quantity"),
        ({"shipping_address": {"street": "s", "city": "c", "postal_code": "p"}}, "country"),
        ({"coupon_code": 5}, "coupon_code: expected a value of one of the union's types"),
    ],
)
def test_bad_values_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(JsonRecordError, match=message):
        avro_converter(ORDER.document)({**GOOD, **change})


def test_recursive_named_types() -> None:
    schema = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "value", "type": "int"},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ],
    }
    datum = avro_converter(schema)({"value": 1, "next": {"value": 2, "next": None}})
    assert datum == {"value": 1, "next": {"value": 2, "next": None}}
    with pytest.raises(JsonRecordError, match=r"next\.next\.value"):
        avro_converter(schema)({"value": 1, "next": {"value": 2, "next": {"value": "x"}}})


def test_protobuf_json_mapping() -> None:
    root = REPO / "schemas/protobuf"
    order = compile_protos([root / "order.proto"], [root]).files[(root / "order.proto").resolve()]
    convert = protobuf_converter(order.message_class())
    message: Any = convert(
        {
            "orderId": "o-1",
            "customer_id": "7",
            "status": "ORDER_STATUS_PAID",
            "placedAt": "2024-05-01T12:00:00Z",
            "lines": [
                {"sku": "A", "quantity": 2, "unitPrice": {"currencyCode": "EUR", "units": 3}}
            ],
            "attributes": {"channel": "web"},
        }
    )
    assert message.customer_id == 7
    assert message.status == 2
    assert message.placed_at.seconds == 1_714_564_800
    assert message.lines[0].unit_price.units == 3
    with pytest.raises(JsonRecordError, match=r"regcast\.demo\.Order"):
        convert({"nope": 1})
    with pytest.raises(JsonRecordError, match="expected an object"):
        convert([1])
