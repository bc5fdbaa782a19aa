"""Malformed ``FileDescriptorProto``s are invalid schemas (``formats.protobuf.descriptor_checks``).

Each case starts from a descriptor protoc itself made and breaks one thing, the way a
buggy or hostile client could; the answer must be ``InvalidSchemaError`` with a message
that names the element and can be encoded, never an ``IndexError`` from the renderer or
text smuggled into the ``.proto`` file protoc compiles.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest
from google.protobuf.descriptor_pb2 import FieldDescriptorProto, FileDescriptorProto

from registry_service.formats import InvalidSchemaError
from registry_service.formats.limits import MAX_NESTING_DEPTH
from registry_service.formats.protobuf import parse_protobuf

BASE = """
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
  map<string, int32> counts = 8;
  extensions 100 to 200;
  enum Status { NEW = 0; PAID = 1; }
}
extend Order { optional int32 note = 100; }
service Shop { rpc Get(Order) returns (Order); }
"""


def base_descriptor() -> FileDescriptorProto:
    return parse_protobuf(BASE).descriptor


def encoded(file: FileDescriptorProto) -> str:
    return base64.b64encode(file.SerializeToString()).decode()


def test_the_base_descriptor_is_valid() -> None:
    assert parse_protobuf(encoded(base_descriptor())).name == "shop.v1.Order"


def field(file: FileDescriptorProto, name: str) -> FieldDescriptorProto:
    return next(f for f in file.message_type[0].field if f.name == name)


Mutation = Callable[[FileDescriptorProto], None]

CASES: dict[str, tuple[Mutation, str]] = {
    "oneof index past the oneofs": (
        lambda f: setattr(field(f, "id"), "oneof_index", 5),
        "oneof_index 5, but its message declares 1 oneof",
    ),
    "negative oneof index": (
        lambda f: setattr(field(f, "id"), "oneof_index", -1),
        "oneof_index -1",
    ),
    "oneof index on an extension": (
        lambda f: setattr(f.extension[0], "oneof_index", 0),
        "oneof_index 0",
    ),
    "message name with braces": (
        lambda f: setattr(f.message_type[0], "name", "Order { } message X"),
        "illegal message name",
    ),
    "field name with spaces": (
        lambda f: setattr(field(f, "id"), "name", "my id"),
        "illegal field name 'my id'",
    ),
    "empty field name": (lambda f: setattr(field(f, "id"), "name", ""), "illegal field name"),
    "type name with a space": (
        lambda f: setattr(field(f, "at"), "type_name", ".google.protobuf.Timestamp x"),
        "names an illegal type",
    ),
    "empty type name of a message field": (
        lambda f: setattr(field(f, "at"), "type_name", ""),
        "names an illegal type",
    ),
    "package with a semicolon": (
        lambda f: setattr(f, "package", "shop; message X {}"),
        "illegal package name",
    ),
    "import path with a quote": (
        lambda f: f.dependency.append('x.proto"; import "y.proto'),
        "illegal import path",
    ),
    "public import index past the imports": (
        lambda f: f.public_dependency.append(7),
        "public or weak import index 7",
    ),
    "int default injecting text": (
        lambda f: (
            setattr(field(f, "cash"), "default_value", "1]; message X { int32 y = 1"),
            field(f, "cash").ClearField("oneof_index"),
        ),
        "illegal default value",
    ),
    "bytes default with a raw quote": (
        lambda f: setattr(field(f, "tag"), "default_value", 'x"] ; message X {'),
        "illegal default value",
    ),
    "unknown syntax": (lambda f: setattr(f, "syntax", "proto4"), "unknown syntax 'proto4'"),
    "two groups share one type": (
        lambda f: (
            f.message_type[0]
            .field.add()
            .CopyFrom(
                FieldDescriptorProto(
                    name="extra2",
                    number=9,
                    label=FieldDescriptorProto.LABEL_OPTIONAL,
                    type=FieldDescriptorProto.TYPE_GROUP,
                    type_name=".shop.v1.Order.Extra",
                )
            )
        ),
        "share the group type",
    ),
    "enum constant name": (
        lambda f: setattr(f.message_type[0].enum_type[0].value[0], "name", "NEW = 3; X"),
        "illegal enum constant name",
    ),
    "method input type": (
        lambda f: setattr(f.service[0].method[0], "input_type", ".shop.v1.Order) returns (X"),
        "names an illegal type",
    ),
    "extendee of an ordinary field": (
        lambda f: setattr(field(f, "id"), "extendee", ".shop.v1.Order"),
        "names an extendee but is not an extension",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_descriptors_are_invalid(case: str) -> None:
    mutate, expected = CASES[case]
    file = base_descriptor()
    mutate(file)
    with pytest.raises(InvalidSchemaError, match="descriptor of the schema is malformed") as caught:
        parse_protobuf(encoded(file))
    assert expected in caught.value.message
    caught.value.message.encode("utf-8")


def test_the_descriptor_from_the_issue_is_invalid() -> None:
    text = "Cgd4LnByb3RvEgFwIhAKAU0SCwoBYRgBIAEoBUgFYgZwcm90bzM="
    with pytest.raises(InvalidSchemaError, match=re.escape("field p.M.a has oneof_index 5")):
        parse_protobuf(text)


def test_strings_that_are_not_utf8_are_invalid() -> None:
    # upb hands a proto2 string field that is not UTF-8 back as bytes.
    raw = encoded(base_descriptor())
    broken = base64.b64decode(raw) + b"\x12\x02\xff\xfe"  # package := b'\xff\xfe'
    with pytest.raises(InvalidSchemaError, match="illegal package name b'") as caught:
        parse_protobuf(base64.b64encode(broken).decode())
    caught.value.message.encode("utf-8")


def nested(levels: int) -> FileDescriptorProto:
    file = FileDescriptorProto(name="n.proto", syntax="proto3")
    message = file.message_type.add(name="M0")
    for i in range(1, levels):
        message = message.nested_type.add(name=f"M{i}")
    return file


def test_descriptor_nesting_is_checked_before_rendering() -> None:
    parse_protobuf(encoded(nested(31)))
    with pytest.raises(InvalidSchemaError, match="maximum recursion limit for nested messages"):
        parse_protobuf(encoded(nested(32)))  # protoc's own limit
    with pytest.raises(InvalidSchemaError, match=f"more than {MAX_NESTING_DEPTH} levels deep"):
        parse_protobuf(encoded(nested(MAX_NESTING_DEPTH + 1)))


def test_references_given_as_descriptors_are_validated_too() -> None:
    dep = FileDescriptorProto(name="dep.proto", syntax="proto3", package="dep")
    message = dep.message_type.add(name="D")
    message.field.add(name="a", number=1, type=FieldDescriptorProto.TYPE_INT32, oneof_index=3)
    main = 'syntax = "proto3";\nimport "dep.proto";\nmessage M { dep.D d = 1; }\n'
    with pytest.raises(InvalidSchemaError, match=re.escape("referenced schema 'dep.proto'")):
        parse_protobuf(main, (), {"dep.proto": encoded(dep)})


def test_many_oneofs_render_in_linear_time() -> None:
    # The renderer used to scan every field once per oneof.
    body = "".join(f"oneof o{i} {{ int32 f{i} = {i + 1}; }}\n" for i in range(3000))
    parsed = parse_protobuf(f'syntax = "proto3";\nmessage M {{\n{body}}}\n')
    assert parsed.canonical.count("oneof ") == 3000
