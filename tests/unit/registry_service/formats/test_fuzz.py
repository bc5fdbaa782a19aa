"""Fuzzing the formats: whatever the text, the answer is a schema or ``InvalidSchemaError``.

The registry turns any other exception into a 500, which clients retry, so the contract
of ``parse_schema`` is total: every input parses or raises the formats' own error. What
parses must also survive everything the registry does next (canonical text encoded as
UTF-8, ``normalized()``, ``render``, the fingerprint, compatibility against itself and
against another schema both ways), and its canonical text must parse back to itself.

Avro inputs are arbitrary JSON values and Avro-shaped JSON with random parts; Protobuf
inputs are descriptors protoc made, then broken (random bytes, or one field changed:
names, type names, labels, types, oneof indexes, numbers, defaults, duplicated fields,
imports that do not exist, removed types) and ``.proto`` text with random edits.
Hypothesis runs derandomised and without its example database, so CI sees the same
examples every run and nothing is written to the work tree.
"""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from google.protobuf.descriptor_pb2 import DescriptorProto, FileDescriptorProto
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry_service.formats import Direction, InvalidSchemaError, ParsedSchema
from registry_service.formats.avro import parse_avro
from registry_service.formats.protobuf import parse_protobuf

Json = Any

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Characters that have broken registries: controls, NUL, quotes, braces, non-BMP, and
# lone surrogates (json.dumps writes them as \\udXXX escapes that json.loads decodes).
CHARS = st.characters(codec=None, categories=None, exclude_categories=())
TEXT = st.text(CHARS, max_size=12) | st.sampled_from(["", "R", "a.b", "_x", "1a", "int", "ns.R"])


def survives(parsed: ParsedSchema, other: ParsedSchema) -> None:
    """Everything the registry does with a parsed schema; raises on any failure."""
    parsed.canonical.encode("utf-8")
    parsed.text.encode("utf-8")
    assert parsed.fingerprint
    normalized = parsed.normalized()
    normalized.text.encode("utf-8")
    parsed.render("serialized").encode("utf-8")
    for direction in Direction:
        parsed.compatibility_errors(parsed, direction)
        parsed.compatibility_errors(other, direction)
        other.compatibility_errors(parsed, direction)


# --------------------------------------------------------------------------------------
# Avro

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=30,
)
PRIMITIVE_NAMES = st.sampled_from(
    ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
)
NAMES = st.sampled_from(["A", "B", "ns.C", "D", "int", "", "a-b"]) | TEXT


def _named_extras() -> st.SearchStrategy[dict[str, Json]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "namespace": st.sampled_from(["ns", "", "a.b", "1x"]) | JSON_VALUES,
            "doc": TEXT | JSON_VALUES,
            "aliases": st.lists(NAMES, max_size=2) | JSON_VALUES,
            "logicalType": st.sampled_from(["decimal", "uuid", "date", "timestamp-millis"]),
            "precision": st.integers(-1, 40),
            "scale": st.integers(-1, 40),
            "x-prop": JSON_VALUES,
        },
    )


def _avro(children: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
    field = st.fixed_dictionaries(
        {"name": NAMES, "type": children},
        optional={
            "default": JSON_VALUES,
            "order": st.sampled_from(["ascending", "descending", "ignore", "up"]),
            "aliases": st.lists(NAMES, max_size=2),
            "doc": TEXT,
        },
    )
    record = st.builds(
        lambda kind, name, fields, extras: {"type": kind, "name": name, "fields": fields, **extras},
        st.sampled_from(["record", "error"]),
        NAMES,
        st.lists(field, max_size=3) | JSON_VALUES,
        _named_extras(),
    )
    enum = st.builds(
        lambda name, symbols, extras: {"type": "enum", "name": name, "symbols": symbols, **extras},
        NAMES,
        st.lists(st.sampled_from(["A", "B", "C", "a b"]), max_size=3) | JSON_VALUES,
        _named_extras(),
    )
    fixed = st.builds(
        lambda name, size: {"type": "fixed", "name": name, "size": size},
        NAMES,
        st.integers(-2, 20) | JSON_VALUES,
    )
    array = st.builds(lambda items: {"type": "array", "items": items}, children)
    map_ = st.builds(lambda values: {"type": "map", "values": values}, children)
    union = st.lists(children, max_size=3)
    return record | enum | fixed | array | map_ | union


AVRO_SCHEMAS = st.recursive(
    PRIMITIVE_NAMES
    | NAMES
    | st.builds(lambda t, x: {"type": t, **x}, PRIMITIVE_NAMES, _named_extras()),
    _avro,
    max_leaves=12,
)
AVRO_OTHER = parse_avro(
    json.dumps(
        {
            "type": "record",
            "name": "A",
            "fields": [
                {"name": "a", "type": ["null", "int"], "default": None},
                {"name": "b", "type": {"type": "array", "items": "string"}},
            ],
        }
    )
)


def check_avro(text: str) -> None:
    try:
        parsed = parse_avro(text)
    except InvalidSchemaError as exc:
        exc.message.encode("utf-8")
        return
    survives(parsed, AVRO_OTHER)
    assert parsed.compatibility_errors(parsed, Direction.BACKWARD) == []
    again = parse_avro(parsed.canonical)
    assert again.canonical == parsed.canonical


@FUZZ
@given(JSON_VALUES)
def test_avro_any_json_value(value: Json) -> None:
    check_avro(json.dumps(value))


@FUZZ
@given(AVRO_SCHEMAS)
def test_avro_shaped_json(value: Json) -> None:
    check_avro(json.dumps(value))


@FUZZ
@given(st.text(CHARS, max_size=60))
def test_avro_any_text(text: str) -> None:
    check_avro(text)


# --------------------------------------------------------------------------------------
# Protobuf

PROTO2 = """
syntax = "proto2";
package shop.v1;
import "google/protobuf/timestamp.proto";
message Order {
  optional string id = 1 [default = "none"];
  optional google.protobuf.Timestamp at = 2;
  oneof pay { string card = 3; int64 cash = 4; }
  optional Status status = 5 [default = NEW];
  optional bytes tag = 6 [default = "\\001x"];
  optional group Extra = 7 { optional int32 n = 1; }
  map<string, Line> lines = 8;
  repeated int32 codes = 9 [packed = true];
  required double total = 10;
  extensions 100 to 200;
  reserved 50 to 60;
  reserved "old";
  enum Status { NEW = 0; PAID = 1; }
  message Line { optional string sku = 1; optional Order parent = 2; }
}
extend Order { optional int32 note = 100; }
service Shop { rpc Get(Order) returns (stream Order); }
"""

PROTO3 = """
syntax = "proto3";
package pay;
import "google/protobuf/struct.proto";
option java_package = "com.example.pay";
message Payment {
  string id = 1;
  optional int64 cents = 2;
  map<int32, Currency> by_code = 3;
  google.protobuf.Struct meta = 4;
  oneof method { Card card = 5; string iban = 6; }
  repeated Payment children = 7;
  message Card { string number = 1; Currency currency = 2; }
}
enum Currency { CURRENCY_UNSPECIFIED = 0; EUR = 1; USD = 2; }
"""

SEEDS = [parse_protobuf(PROTO2), parse_protobuf(PROTO3)]
SEED_DESCRIPTORS = [seed.descriptor for seed in SEEDS]


def messages_of(file: FileDescriptorProto) -> list[DescriptorProto]:
    found: list[DescriptorProto] = []
    stack = list(file.message_type)
    while stack:
        message = stack.pop()
        found.append(message)
        stack.extend(message.nested_type)
    return found


TYPE_NAMES = st.sampled_from(
    [
        ".shop.v1.Order",
        ".shop.v1.Order.Line",
        ".shop.v1.Order.Status",
        ".pay.Currency",
        ".pay.Payment.Card",
        ".google.protobuf.Timestamp",
        ".Missing",
        "",
        ".",
        "..x",
        "Order",
    ]
) | st.text(CHARS, max_size=10)
SMALL_INTS = st.integers(-3, 40) | st.sampled_from([2**29, 2**31 - 1, 19000, 536870911])


@st.composite
def broken_descriptors(draw: st.DrawFn) -> bytes:
    file = FileDescriptorProto()
    file.CopyFrom(draw(st.sampled_from(SEED_DESCRIPTORS)))
    for _ in range(draw(st.integers(1, 3))):
        _mutate(draw, file)
    raw = file.SerializeToString()
    if draw(st.booleans()) and raw:
        # Bytes the Python API would not let us set: unknown enum numbers, wrong wire
        # types, truncated submessages, invalid UTF-8 in strings.
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
            if op == "flip":
                data[at] = draw(st.integers(0, 255))
            elif op == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=4))
            elif op == "delete":
                del data[at : at + draw(st.integers(1, 4))]
            elif len(data) > 1:
                del data[at:]
            if not data:
                break
        raw = bytes(data)
    return raw


def _mutate(draw: st.DrawFn, file: FileDescriptorProto) -> None:
    messages = messages_of(file) or [file.message_type.add(name="Added")]
    message = draw(st.sampled_from(messages))
    target = draw(
        st.sampled_from(
            [
                "field",
                "field",
                "field",
                "duplicate",
                "message",
                "dependency",
                "file",
                "enum",
                "remove",
            ]
        )
    )
    if target == "field" and message.field:
        field = draw(st.sampled_from(list(message.field)))
        attribute = draw(
            st.sampled_from(
                [
                    "name",
                    "number",
                    "label",
                    "type",
                    "type_name",
                    "oneof_index",
                    "default_value",
                    "json_name",
                    "proto3_optional",
                    "extendee",
                ]
            )
        )
        value: object
        if attribute in ("number", "oneof_index"):
            value = draw(SMALL_INTS)
        elif attribute == "label":
            value = draw(st.integers(1, 3))
        elif attribute == "type":
            value = draw(st.integers(1, 18))
        elif attribute in ("type_name", "extendee"):
            value = draw(TYPE_NAMES)
        elif attribute == "proto3_optional":
            value = draw(st.booleans())
        else:
            value = draw(st.text(CHARS, max_size=10) | st.sampled_from(["1", "NEW", "inf"]))
        # The Python API refuses some values (a surrogate); bytes mutations cover those.
        with contextlib.suppress(ValueError, TypeError):
            setattr(field, attribute, value)
    elif target == "duplicate" and message.field:
        source = draw(st.sampled_from(list(message.field))).SerializeToString()
        copy = message.field.add()
        copy.MergeFromString(source)
        if draw(st.booleans()):
            copy.number += 100
    elif target == "message":
        choice = draw(st.sampled_from(["name", "map_entry", "oneof", "nest", "reserved"]))
        if choice == "name":
            names = [m.name for m in messages] + ["", "A B", "int32"]
            message.name = draw(st.sampled_from(names))
        elif choice == "map_entry":
            message.options.map_entry = not message.options.map_entry
        elif choice == "oneof":
            message.oneof_decl.add(name=draw(st.sampled_from(["pay", "o", "", "x y"])))
        elif choice == "nest":
            # Through bytes: upb crashes copying a message into its own descendant.
            source = draw(st.sampled_from(messages)).SerializeToString()
            message.nested_type.add().MergeFromString(source)
        else:
            message.reserved_range.add(start=draw(SMALL_INTS), end=draw(SMALL_INTS))
    elif target == "dependency":
        choice = draw(st.sampled_from(["missing", "twice", "public", "weak", "clear"]))
        if choice == "missing":
            file.dependency.append(draw(st.sampled_from(["missing.proto", "a/../b.proto", ""])))
        elif choice == "twice" and file.dependency:
            file.dependency.append(file.dependency[0])
        elif choice in ("public", "weak"):
            getattr(file, f"{choice}_dependency").append(draw(st.integers(-1, 3)))
        else:
            del file.dependency[:]
    elif target == "file":
        choice = draw(st.sampled_from(["syntax", "package", "name"]))
        text = draw(st.sampled_from(["proto2", "proto3", "editions", "", "x", "shop.v1", "a..b"]))
        setattr(file, choice, text)
    elif target == "enum":
        enums = list(file.enum_type) + [e for m in messages for e in m.enum_type]
        if enums:
            enum = draw(st.sampled_from(enums))
            if draw(st.booleans()) and enum.value:
                enum.value[0].number = draw(SMALL_INTS)
            else:
                del enum.value[:]
    elif target == "remove":
        if len(file.message_type) > 1 or draw(st.booleans()):
            del file.message_type[draw(st.integers(0, len(file.message_type) - 1))]
        elif message.nested_type:
            del message.nested_type[0]


def check_protobuf(text: str) -> None:
    try:
        parsed = parse_protobuf(text)
    except InvalidSchemaError as exc:
        exc.message.encode("utf-8")
        return
    for seed in SEEDS:
        survives(parsed, seed)
    assert parse_protobuf(parsed.canonical).canonical == parsed.canonical


@FUZZ
@given(broken_descriptors())
def test_protobuf_broken_descriptors(raw: bytes) -> None:
    check_protobuf(base64.b64encode(raw).decode())


@FUZZ
@given(st.data())
def test_protobuf_edited_text(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from([PROTO2, PROTO3]))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        end = at + data.draw(st.integers(0, 12))
        insert = data.draw(
            st.text(CHARS, max_size=6)
            | st.sampled_from(["{", "}", ";", "optional ", "repeated ", " = 1", "oneof o {", '"'])
        )
        text = text[:at] + insert + text[end:]
    check_protobuf(text)
