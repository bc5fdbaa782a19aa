"""serdes.avro_encoder: the compiled encoder writes fastavro's bytes, or declines.

The oracle is ``fastavro.schemaless_writer`` itself. For every value the compiled
encoder either returns exactly fastavro's bytes or raises (and the serializer then asks
fastavro); it must never return different bytes. Besides hand-picked cases, a seeded
generator throws valid and invalid values of many shapes at many schemas.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import uuid
from collections import OrderedDict
from decimal import Decimal
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

from serdes.avro_encoder import Fallback, compile_encoder

HEADER = b"\x00\x00\x00\x00\x07"


def compiled(schema: Any) -> tuple[Any, Any]:
    named: dict[str, Any] = {}
    parsed = parse_schema(json.loads(json.dumps(schema)), named_schemas=named)
    encode = compile_encoder(parsed, named, HEADER)
    assert encode is not None, "schema was expected to compile"
    return parsed, encode


def fastavro_bytes(parsed: Any, value: Any) -> bytes:
    buffer = io.BytesIO()
    buffer.write(HEADER)
    schemaless_writer(buffer, parsed, value)
    return buffer.getvalue()


def outcome(parsed: Any, encode: Any, value: Any) -> str:
    """'fast' when encoded and equal to fastavro; 'declined' when the encoder raised."""
    try:
        ours = encode(value)
    except Exception:
        return "declined"
    assert ours == fastavro_bytes(parsed, value), f"bytes differ for {value!r}"
    return "fast"


def record(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


STATUS = {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]}
TYPICAL = record(
    "Order",
    {"name": "id", "type": "long"},
    {"name": "customer", "type": "string"},
    {"name": "amount", "type": "double"},
    {"name": "quantity", "type": "int"},
    {"name": "active", "type": "boolean"},
    {"name": "note", "type": ["null", "string"], "default": None},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "attrs", "type": {"type": "map", "values": "string"}},
    {"name": "status", "type": STATUS},
    {"name": "created", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    namespace="shop",
)
TYPICAL_VALUE = {
    "id": 1234567890,
    "customer": "alice@example.com",
    "amount": 99.95,
    "quantity": 3,
    "active": True,
    "note": "gift wrap",
    "tags": ["priority", "web"],
    "attrs": {"channel": "web", "region": "eu-west"},
    "status": "PAID",
    "created": dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC),
}


def test_typical_record_is_encoded_like_fastavro() -> None:
    parsed, encode = compiled(TYPICAL)
    assert encode(TYPICAL_VALUE) == fastavro_bytes(parsed, TYPICAL_VALUE)
    assert encode(TYPICAL_VALUE).startswith(HEADER)


@pytest.mark.parametrize(
    ("schema", "values"),
    [
        (
            "long",
            [0, 1, -1, 63, -64, 64, -65, 8191, 8192, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63)],
        ),
        ("int", [0, -64, 63, 64, 2**31 - 1, -(2**31)]),
        ("string", ["", "a" * 63, "b" * 64, "c" * 8192, "héllo ✓", "\x00"]),
        ("bytes", [b"", b"\x00" * 63, b"\xff" * 64, bytes(range(256)) * 40]),
        ("double", [0.0, -0.0, 1.5, float("inf"), float("-inf"), float("nan"), 1e308]),
        ("float", [0.0, 1.5, -2.25, float("inf"), 3.4e38]),
        ("boolean", [True, False]),
        ("null", [None]),
        ({"type": "fixed", "name": "F", "size": 4}, [b"abcd", b"\x00\x00\x00\x00"]),
        (STATUS, ["NEW", "PAID", "SHIPPED"]),
        ({"type": "array", "items": "long"}, [[], [1, 2, 3], list(range(-100, 100))]),
        ({"type": "map", "values": "int"}, [{}, {"a": 1}, {str(i): i for i in range(100)}]),
        ({"type": "string"}, ["wrapped primitive"]),
    ],
)
def test_primitives_and_containers_at_varint_boundaries(schema: Any, values: list[Any]) -> None:
    parsed, encode = compiled(schema)
    for value in values:
        assert outcome(parsed, encode, value) == "fast", value


@pytest.mark.parametrize(
    ("logical", "value"),
    [
        (
            {"type": "long", "logicalType": "timestamp-millis"},
            dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
        ),
        ({"type": "long", "logicalType": "timestamp-millis"}, 1_717_000_000_000),
        (
            {"type": "long", "logicalType": "timestamp-micros"},
            dt.datetime(1969, 12, 31, tzinfo=dt.UTC),
        ),
        ({"type": "long", "logicalType": "local-timestamp-millis"}, dt.datetime(2024, 1, 2, 3, 4)),
        ({"type": "int", "logicalType": "date"}, dt.date(2024, 2, 29)),
        ({"type": "int", "logicalType": "time-millis"}, dt.time(12, 34, 56, 789000)),
        ({"type": "long", "logicalType": "time-micros"}, dt.time(23, 59, 59, 999999)),
        ({"type": "string", "logicalType": "uuid"}, uuid.UUID(int=12345)),
        (
            {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
            Decimal("-1234.56"),
        ),
        ({"type": "string", "logicalType": "no-such-logical-type"}, "plain"),
    ],
)
def test_logical_types_go_through_fastavros_prepare(logical: Any, value: Any) -> None:
    parsed, encode = compiled(record("L", {"name": "v", "type": logical}))
    assert outcome(parsed, encode, {"v": value}) == "fast"
    parsed, encode = compiled(record("L", {"name": "v", "type": ["null", logical]}))
    assert outcome(parsed, encode, {"v": value}) == "fast"
    assert outcome(parsed, encode, {"v": None}) == "fast"


def test_fixed_decimal_is_left_to_fastavro() -> None:
    # fastavro's prepare gives a bytearray, which its union validation rejects: declined
    fixed = {"type": "fixed", "name": "D", "size": 8, "logicalType": "decimal", "precision": 10}
    parsed, encode = compiled(record("L", {"name": "v", "type": {**fixed, "scale": 3}}))
    assert outcome(parsed, encode, {"v": Decimal("3.142")}) == "declined"
    assert fastavro_bytes(parsed, {"v": Decimal("3.142")}).endswith(b"\x0c\x46")  # 3142


def test_named_types_defined_once_and_referenced_later() -> None:
    line = record("Line", {"name": "sku", "type": "string"}, {"name": "q", "type": "int"})
    schema = record(
        "Order",
        {"name": "first", "type": line},
        {"name": "rest", "type": {"type": "array", "items": "Line"}},
        {"name": "status", "type": STATUS},
        {"name": "previous", "type": ["null", "Status"], "default": None},
        {"name": "by_sku", "type": {"type": "map", "values": "Line"}},
    )
    parsed, encode = compiled(schema)
    value = {
        "first": {"sku": "a", "q": 1},
        "rest": [{"sku": "b", "q": 2}, {"sku": "c", "q": -3}],
        "status": "NEW",
        "previous": "PAID",
        "by_sku": {"x": {"sku": "x", "q": 9}},
    }
    assert outcome(parsed, encode, value) == "fast"


def test_missing_fields_take_the_schemas_default_like_fastavro() -> None:
    schema = record(
        "D",
        {"name": "a", "type": "int", "default": 7},
        {"name": "b", "type": ["null", "string"], "default": None},
        {"name": "c", "type": {"type": "array", "items": "int"}, "default": [1, 2]},
        {"name": "d", "type": STATUS, "default": "PAID"},
    )
    parsed, encode = compiled(schema)
    assert outcome(parsed, encode, {}) == "fast"
    assert outcome(parsed, encode, {"a": 1, "extra": "ignored, as fastavro does"}) == "fast"


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ("long", True),  # bool is an int to fastavro, not to us
        ("long", 2**63),  # out of range: fastavro raises its own error
        ("int", 2**31),  # fastavro writes it (no range check outside unions)
        ("double", 3),  # fastavro converts; we leave it to fastavro
        ("string", b"bytes"),
        ("bytes", bytearray(b"x")),
        ({"type": "fixed", "name": "F", "size": 4}, b"abc"),
        (STATUS, "UNKNOWN"),
        ({"type": "array", "items": "long"}, (1, 2)),
        ({"type": "map", "values": "long"}, OrderedDict(a=1)),
        ({"type": "map", "values": "long"}, {1: 1}),
        (record("R", {"name": "a", "type": "int"}), {}),  # missing, no default
        (record("R", {"name": "a", "type": "int"}), OrderedDict(a=1)),
        (record("R", {"name": "a", "type": "double"}), {"a": "NaN"}),
        (record("R", {"name": "a", "type": "int"}), {"a": 1, "-type": "Other"}),
        (["null", "string"], ("string", "tuple notation")),
        (["null", "int", "long"], 5),  # ambiguous for the dispatcher
        (["null", "float", "double"], 1.5),  # fastavro prefers double: left to it
        ("boolean", 1),
        ("null", 0),
    ],
)
def test_values_it_is_not_sure_of_are_declined(schema: Any, value: Any) -> None:
    _, encode = compiled(schema)
    with pytest.raises(Exception):  # noqa: B017 - any exception means "ask fastavro"
        encode(value)


def test_unions_dispatch_to_the_branch_fastavro_picks() -> None:
    parsed, encode = compiled(["null", "string", "long", "boolean", "bytes"])
    for value in (None, "s", 5, True, b"\x01"):
        assert outcome(parsed, encode, value) == "fast", value
    # long and double both validate ints: ints are left to fastavro (which picks long)
    parsed, encode = compiled(["long", "double", "null"])
    assert outcome(parsed, encode, 5) == "declined"
    assert fastavro_bytes(parsed, 5)[len(HEADER)] == 0  # branch 0
    assert outcome(parsed, encode, 5.0) == "fast"
    assert outcome(parsed, encode, None) == "fast"


def test_record_branches_in_unions() -> None:
    a = record("A", {"name": "x", "type": "int"})
    b = record("B", {"name": "y", "type": "string"})
    parsed, encode = compiled(["null", a])
    assert outcome(parsed, encode, {"x": 1}) == "fast"
    assert outcome(parsed, encode, None) == "fast"
    parsed, encode = compiled(["null", a, b])  # two records: fastavro counts fields
    assert outcome(parsed, encode, {"y": "s"}) == "declined"
    parsed, encode = compiled(["null", a, {"type": "map", "values": "int"}])
    assert outcome(parsed, encode, {"x": 1}) == "declined"  # a dict could be either


@pytest.mark.parametrize(
    "schema",
    [
        record(
            "Node",
            {"name": "value", "type": "int"},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ),
        # a union whose every value would be declined: compiling it would only slow it down
        ["float", "double"],
        [record("A", {"name": "x", "type": "int"}), {"type": "map", "values": "int"}],
    ],
)
def test_schemas_it_does_not_compile(schema: Any) -> None:
    named: dict[str, Any] = {}
    parsed = parse_schema(schema, named_schemas=named)
    assert compile_encoder(parsed, named, HEADER) is None


def test_fallback_is_an_exception_the_serializer_catches() -> None:
    _, encode = compiled("long")
    with pytest.raises(Fallback):
        encode("not a long")


# ------------------------------------------------------------------------ generated cases

SCHEMAS: list[Any] = [
    TYPICAL,
    record(
        "Everything",
        {"name": "n", "type": "null"},
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "s", "type": "string"},
        {"name": "y", "type": "bytes"},
        {"name": "x", "type": {"type": "fixed", "name": "Three", "size": 3}},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
        {"name": "a", "type": {"type": "array", "items": ["null", "long", "string"]}},
        {"name": "m", "type": {"type": "map", "values": {"type": "array", "items": "double"}}},
        {"name": "u", "type": ["null", "string", "long", "boolean", "double", "bytes"]},
        {
            "name": "r",
            "type": ["null", record("Inner", {"name": "q", "type": "int", "default": 0})],
            "default": None,
        },
        {"name": "t", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    ),
]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """Values of every shape, valid for some schema or for none."""
    choice = rng.randrange(16 if depth < 3 else 11)
    if choice == 0:
        return None
    if choice == 1:
        return rng.random() < 0.5
    if choice == 2:
        return rng.choice([0, 1, -1, 63, 64, -65, 2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63)])
    if choice == 3:
        return rng.randint(-(2**40), 2**40)
    if choice == 4:
        return rng.choice([0.0, 1.5, -3.25, float("nan"), 1e300, float("inf")])
    if choice == 5:
        return rng.choice(["", "A", "B", "NEW", "PAID", "x" * 70, "é✓", "NaN"])
    if choice == 6:
        return rng.choice([b"", b"abc", b"ab", b"\xff" * 70])
    if choice == 7:
        return dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 10**8))
    if choice == 8:
        return bytearray(b"abc")
    if choice == 9:
        return ("string", "x")
    if choice == 10:
        return Decimal("1.5")
    if choice in (11, 12):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(["q", "x", "k"]): random_value(rng, depth + 1) for _ in range(rng.randrange(3))
    }


def mutate(rng: random.Random, value: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a valid record with one field replaced, removed, or left alone."""
    out = dict(value)
    field = rng.choice(schema["fields"])["name"]
    action = rng.randrange(3)
    if action == 0:
        out[field] = random_value(rng)
    elif action == 1:
        out.pop(field, None)
    return out


VALID_EVERYTHING = {
    "n": None,
    "b": False,
    "i": -5,
    "l": 2**40,
    "f": 0.5,
    "d": -1e-3,
    "s": "text",
    "y": b"\x00\x01",
    "x": b"abc",
    "e": "B",
    "a": [None, 3, "s"],
    "m": {"k": [1.0, 2.0]},
    "u": "union string",
    "r": {"q": 4},
    "t": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
}


@pytest.mark.parametrize("seed", range(4))
def test_generated_values_are_fastavros_bytes_or_declined(seed: int) -> None:
    rng = random.Random(seed)
    counts = {"fast": 0, "declined": 0}
    for schema, valid in ((SCHEMAS[0], TYPICAL_VALUE), (SCHEMAS[1], VALID_EVERYTHING)):
        parsed, encode = compiled(schema)
        assert outcome(parsed, encode, valid) == "fast"
        for _ in range(1500):
            value = mutate(rng, valid, schema)
            counts[outcome(parsed, encode, value)] += 1
    # both paths were exercised (the numbers depend only on the seed)
    assert counts["fast"] > 300 and counts["declined"] > 300, counts
