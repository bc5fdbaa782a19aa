"""registry_service.formats.protobuf: parsing, rendering, identity and Confluent's diff rules.

Descriptors in these tests come from protoc itself (``grpc_tools.protoc.main`` writing a
descriptor set, a path independent of the one under test) and from generated modules,
encoded with confluent-kafka's own ``_schema_to_str`` -- exactly what its
ProtobufSerializer registers.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from confluent_kafka.schema_registry.common.protobuf import _schema_to_str, _str_to_proto
from google.protobuf import api_pb2, descriptor_pb2, descriptor_pool, timestamp_pb2
from grpc_tools import protoc

from registry_service.formats import (
    CompatibilityLevel,
    Direction,
    InvalidSchemaError,
    SchemaReference,
    SchemaType,
    check_compatibility,
    parse_schema,
)
from registry_service.formats.protobuf import ProtobufSchema, parse_protobuf

COMMON_V1 = """
syntax = "proto3";
package common;
message Money {
  int64 units = 1;
  string currency = 2;
}
"""

ORDER = """
syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";
import "common/types.proto";

option java_package = "com.example.shop";
option go_package = "example.com/shop/v1";

// An order.
message Order {
  string id = 1;
  google.protobuf.Timestamp placed_at = 2;
  map<string, Line> lines = 3;
  oneof payment {
    string card = 4;
    int64 cash_cents = 5;
  }
  optional int32 quantity = 6 [deprecated = true];
  common.Money total = 7;
  Status status = 8;
  reserved 10, 20 to 30, 100 to max;
  reserved "legacy";

  message Line {
    int32 count = 1;
  }
  enum Status {
    STATUS_UNKNOWN = 0;
    STATUS_PAID = 1;
  }
}

enum Region {
  REGION_UNKNOWN = 0;
  REGION_EU = 1;
}

service Orders {
  rpc Get(Order) returns (stream Order);
}
"""

PROTO2 = """
syntax = "proto2";
package legacy;

message Item {
  required string id = 1;
  optional int32 count = 2 [default = 7];
  optional string note = 3 [default = "a \\"quoted\\" note"];
  optional bytes blob = 4 [default = "\\001\\377"];
  repeated int64 tags = 5 [packed = true];
  optional Kind kind = 6 [default = KIND_B];
  optional group Extra = 7 {
    optional string info = 1;
  }
  optional double ratio = 8 [default = inf];
  extensions 100 to 199;
  enum Kind {
    KIND_A = 1;
    KIND_B = 2;
  }
}

extend Item {
  optional string extra_note = 100;
}
"""

COMMON_REF = SchemaReference("common/types.proto", "common/types.proto", 1)


def parse(
    text: str,
    refs: dict[str, str] | None = None,
    references: tuple[SchemaReference, ...] = (),
) -> ProtobufSchema:
    parsed = parse_schema(SchemaType.PROTOBUF, text, references, refs or {})
    assert isinstance(parsed, ProtobufSchema)
    return parsed


def parse_order() -> ProtobufSchema:
    return parse(ORDER, {"common/types.proto": COMMON_V1}, (COMMON_REF,))


def protoc_descriptors(tmp_path: Path, files: dict[str, str]) -> dict[str, bytes]:
    """Compile ``files`` with the protoc command line; serialized descriptors by path."""
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    out = tmp_path / "set.pb"
    include = Path(protoc.__file__).parent / "_proto"
    status = protoc.main(
        [
            "protoc",
            f"-I{tmp_path}",
            f"-I{include}",
            "--include_imports",
            f"--descriptor_set_out={out}",
            *files,
        ]
    )
    assert status == 0
    file_set = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return {f.name: f.SerializeToString() for f in file_set.file}


def serializer_string(descriptors: dict[str, bytes], name: str) -> str:
    """What confluent-kafka's ProtobufSerializer sends for the file ``name``."""
    pool = descriptor_pool.DescriptorPool()
    for raw in descriptors.values():
        pool.AddSerializedFile(raw)
    return _schema_to_str(pool.FindFileByName(name))


# -- parsing -----------------------------------------------------------------------------


def test_parses_proto3_text_with_reference_and_well_known_import() -> None:
    schema = parse_order()
    assert schema.schema_type is SchemaType.PROTOBUF
    assert schema.name == "shop.v1.Order"
    assert schema.text == ORDER
    assert schema.references == (COMMON_REF,)
    descriptor = schema.descriptor
    assert list(descriptor.dependency) == ["google/protobuf/timestamp.proto", "common/types.proto"]
    fields = {f.name: f.type_name for f in descriptor.message_type[0].field}
    assert fields["total"] == ".common.Money"
    assert fields["placed_at"] == ".google.protobuf.Timestamp"


def test_parses_proto2_text() -> None:
    schema = parse(PROTO2)
    assert schema.name == "legacy.Item"
    item = schema.descriptor.message_type[0]
    assert item.field[0].label == descriptor_pb2.FieldDescriptorProto.LABEL_REQUIRED
    assert schema.descriptor.extension[0].name == "extra_note"


def test_name_is_none_without_messages() -> None:
    assert parse('syntax = "proto3";\nenum E { A = 0; }\n').name is None


def test_parses_base64_descriptor_of_a_generated_module() -> None:
    text = _schema_to_str(timestamp_pb2.DESCRIPTOR)
    schema = parse(text)
    assert schema.name == "google.protobuf.Timestamp"
    assert "message Timestamp {\n  int64 seconds = 1;\n  int32 nanos = 2;\n}" in schema.text
    assert schema.render("serialized") == text


def test_base64_descriptor_with_well_known_imports() -> None:
    schema = parse(_schema_to_str(api_pb2.DESCRIPTOR))
    assert schema.name == "google.protobuf.Api"
    assert 'import "google/protobuf/source_context.proto";' in schema.text


def test_base64_descriptor_and_text_get_the_same_identity(tmp_path: Path) -> None:
    descriptors = protoc_descriptors(
        tmp_path, {"common/types.proto": COMMON_V1, "shop/order.proto": ORDER}
    )
    sent = serializer_string(descriptors, "shop/order.proto")
    dependency = base64.b64encode(descriptors["common/types.proto"]).decode()
    from_descriptor = parse(sent, {"common/types.proto": dependency}, (COMMON_REF,))
    from_text = parse_order()
    assert from_descriptor.canonical == from_text.canonical
    assert from_descriptor.fingerprint == from_text.fingerprint
    # A stored descriptor is served as text by default and as itself on format=serialized.
    assert from_descriptor.text == from_text.canonical
    assert from_descriptor.render("serialized") == sent


def test_serialized_form_is_what_the_python_deserializer_reads() -> None:
    schema = parse_order()
    proto = _str_to_proto("default", schema.render("serialized"))
    assert proto.package == "shop.v1"
    assert [m.name for m in proto.message_type] == ["Order"]
    assert list(proto.dependency) == ["google/protobuf/timestamp.proto", "common/types.proto"]
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_str_to_proto("common/types.proto", parse(COMMON_V1).render("serialized")))
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(proto)
    order = pool.FindMessageTypeByName("shop.v1.Order")
    assert order.fields_by_name["total"].message_type.full_name == "common.Money"


def test_google_type_and_confluent_imports_resolve_without_references() -> None:
    schema = parse(
        'syntax = "proto3";\n'
        'import "google/type/date.proto";\n'
        'import "confluent/meta.proto";\n'
        "message Event {\n"
        '  google.type.Date day = 1 [(confluent.field_meta).doc = "when"];\n'
        "}\n"
    )
    assert schema.descriptor.message_type[0].field[0].type_name == ".google.type.Date"


def test_references_of_references() -> None:
    base = 'syntax = "proto3";\npackage base;\nmessage Id { string value = 1; }\n'
    middle = (
        'syntax = "proto3";\npackage mid;\nimport "base/id.proto";\n'
        "message Ref { base.Id id = 1; }\n"
    )
    main = 'syntax = "proto3";\nimport "mid/ref.proto";\nmessage Top { mid.Ref ref = 1; }\n'
    schema = parse(
        main,
        {"base/id.proto": base, "mid/ref.proto": middle},
        (SchemaReference("mid/ref.proto", "mid/ref.proto", 3),),
    )
    assert schema.name == "Top"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('syntax = "proto3";\nmessage A {\n  int32 x = 1\n}\n', '4:1: Expected ";".'),
        (
            'syntax = "proto3";\nmessage A {\n  Missing x = 1;\n}\n',
            '3:3: "Missing" is not defined.',
        ),
        ('syntax = "proto3";\nmessage A {\n  int32 x = 1;\n  int32 y = 1;\n}\n', "4:"),
        ('syntax = "proto3";\nimport "nowhere.proto";\nmessage A {}\n', "nowhere.proto"),
        ('syntax = "proto4";\n', "1:10:"),
        ("not a schema at all", "1:1:"),
    ],
    ids=[
        "missing-semicolon",
        "undefined-type",
        "duplicate-number",
        "missing-import",
        "syntax",
        "junk",
    ],
)
def test_invalid_text_reports_protoc_position(text: str, expected: str) -> None:
    with pytest.raises(InvalidSchemaError) as error:
        parse(text)
    assert expected in error.value.message


def test_error_in_a_reference_names_the_file() -> None:
    with pytest.raises(InvalidSchemaError, match=r"common/types\.proto:3:"):
        parse(
            'syntax = "proto3";\nimport "common/types.proto";\nmessage A { common.Money m = 1; }\n',
            {"common/types.proto": 'syntax = "proto3";\npackage common;\nmessage Money {'},
        )


@pytest.mark.parametrize("name", ["../escape.proto", "/abs.proto", "a//b.proto", ""])
def test_reference_names_must_be_import_paths(name: str) -> None:
    with pytest.raises(InvalidSchemaError, match="reference name"):
        parse_protobuf('syntax = "proto3";\nmessage A {}\n', (), {name: COMMON_V1})


def test_invalid_base64_descriptor_is_rejected() -> None:
    proto = descriptor_pb2.FileDescriptorProto(name="x.proto", syntax="proto3")
    message = proto.message_type.add(name="A")
    message.field.add(
        name="b",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".nowhere.B",
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    with pytest.raises(InvalidSchemaError, match="descriptor"):
        parse(base64.b64encode(proto.SerializeToString()).decode())


# -- identity and rendering --------------------------------------------------------------


def test_formatting_and_comments_do_not_change_identity() -> None:
    compact = (
        'syntax="proto3";package p;/* c */message A{int32 x=1;// trailing\n'
        "repeated string y=2;message B{bool z=1;}B b=3;}"
    )
    spaced = """
    syntax = "proto3";

    package p;

    message A {
      int32   x = 1;
      repeated string y = 2;
      message B { bool z = 1; }
      p.A.B b = 3;   // spelled fully qualified
    }
    """
    assert parse(compact).canonical == parse(spaced).canonical
    assert parse(compact).text != parse(spaced).text


def test_meaningful_changes_change_identity() -> None:
    base = parse('syntax = "proto3";\nmessage A { int32 x = 1; }\n')
    for changed in (
        'syntax = "proto3";\nmessage A { int64 x = 1; }\n',
        'syntax = "proto3";\nmessage A { int32 y = 1; }\n',
        'syntax = "proto3";\nmessage A { int32 x = 2; }\n',
        'syntax = "proto3";\npackage q;\nmessage A { int32 x = 1; }\n',
        'syntax = "proto3";\nmessage A { int32 x = 1 [deprecated = true]; }\n',
    ):
        assert parse(changed).canonical != base.canonical, changed


def test_proto2_without_syntax_equals_explicit_proto2() -> None:
    assert (
        parse("message A { optional int32 x = 1; }").canonical
        == parse('syntax = "proto2";\nmessage A { optional int32 x = 1; }').canonical
    )


def test_canonical_text_of_order() -> None:
    assert parse_order().canonical == (
        'syntax = "proto3";\n'
        "package shop.v1;\n"
        "\n"
        'import "google/protobuf/timestamp.proto";\n'
        'import "common/types.proto";\n'
        "\n"
        'option java_package = "com.example.shop";\n'
        'option go_package = "example.com/shop/v1";\n'
        "\n"
        "message Order {\n"
        "  string id = 1;\n"
        "  google.protobuf.Timestamp placed_at = 2;\n"
        "  map<string, Line> lines = 3;\n"
        "  oneof payment {\n"
        "    string card = 4;\n"
        "    int64 cash_cents = 5;\n"
        "  }\n"
        "  optional int32 quantity = 6 [deprecated = true];\n"
        "  common.Money total = 7;\n"
        "  Status status = 8;\n"
        "  reserved 10, 20 to 30, 100 to max;\n"
        '  reserved "legacy";\n'
        "  message Line {\n"
        "    int32 count = 1;\n"
        "  }\n"
        "  enum Status {\n"
        "    STATUS_UNKNOWN = 0;\n"
        "    STATUS_PAID = 1;\n"
        "  }\n"
        "}\n"
        "\n"
        "enum Region {\n"
        "  REGION_UNKNOWN = 0;\n"
        "  REGION_EU = 1;\n"
        "}\n"
        "\n"
        "service Orders {\n"
        "  rpc Get(Order) returns (stream Order);\n"
        "}\n"
    )


ROUND_TRIP = {
    "order": (ORDER, {"common/types.proto": COMMON_V1}),
    "proto2": (PROTO2, {}),
    "shadowing": (
        'syntax = "proto3";\npackage a.b;\n'
        "message a { int32 x = 1; }\n"
        "message Outer {\n"
        "  message Outer { int32 y = 1; }\n"
        "  .a.b.Outer top = 1;\n"
        "  Outer inner = 2;\n"
        "  .a.b.a other = 3;\n"
        "}\n",
        {},
    ),
    "aliases-and-options": (
        'syntax = "proto3";\n'
        "option java_multiple_files = true;\noption optimize_for = CODE_SIZE;\n"
        "enum E {\n  option allow_alias = true;\n  E0 = 0;\n  E1 = 1;\n"
        "  ALSO_E1 = 1 [deprecated = true];\n"
        '  reserved 5 to 9;\n  reserved "GONE";\n}\n'
        'message M {\n  option deprecated = true;\n  string s = 1 [json_name = "custom"];\n'
        "  repeated int32 packed = 2 [packed = false];\n  map<int64, E> byId = 3;\n}\n",
        {},
    ),
    "editions": (
        'edition = "2023";\npackage ed;\nmessage M {\n'
        "  int32 x = 1 [features.field_presence = IMPLICIT];\n"
        "  repeated string s = 2;\n}\n",
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(ROUND_TRIP))
def test_rendered_text_compiles_back_to_the_same_descriptor(case: str) -> None:
    text, refs = ROUND_TRIP[case]
    first = parse(text, refs)
    again = parse(first.canonical, refs)
    assert again.canonical == first.canonical
    assert again.descriptor == first.descriptor
    normalized = first.normalized()
    assert parse(normalized.text, refs).normalized().canonical == normalized.canonical


def test_normalize_sorts_what_order_does_not_mean() -> None:
    one = parse(
        'syntax = "proto3";\nimport "b.proto";\nimport "a.proto";\n'
        'option java_package = "j";\noption go_package = "g";\n'
        "message M {\n  b.B y = 2;\n  a.A x = 1;\n  reserved 9, 3;\n}\n"
        "enum E { E0 = 0; E2 = 2; E1 = 1; }\nmessage Second {}\n",
        {
            "a.proto": 'syntax = "proto3";\npackage a;\nmessage A {}\n',
            "b.proto": 'syntax = "proto3";\npackage b;\nmessage B {}\n',
        },
    )
    other = parse(
        'syntax = "proto3";\nimport "a.proto";\nimport "b.proto";\n'
        'option go_package = "g";\noption java_package = "j";\n'
        "message M {\n  a.A x = 1;\n  b.B y = 2;\n  reserved 3, 9;\n}\n"
        "enum E { E0 = 0; E1 = 1; E2 = 2; }\nmessage Second {}\n",
        {
            "a.proto": 'syntax = "proto3";\npackage a;\nmessage A {}\n',
            "b.proto": 'syntax = "proto3";\npackage b;\nmessage B {}\n',
        },
    )
    assert one.canonical != other.canonical
    assert one.normalized().canonical == other.normalized().canonical
    assert one.normalized().text == one.normalized().canonical
    assert one.normalized().text.index('import "a.proto"') < one.normalized().text.index("b.proto")


def test_normalize_keeps_message_order_and_first_enum_constant() -> None:
    schema = parse(
        'syntax = "proto2";\nmessage Z {}\nmessage A {}\nenum E { E5 = 5; E1 = 1; E3 = 3; }\n'
    ).normalized()
    assert schema.text.index("message Z") < schema.text.index("message A")
    assert schema.text.index("E5 = 5") < schema.text.index("E1 = 1") < schema.text.index("E3")
    assert schema.name == "Z"


def test_render_formats() -> None:
    schema = parse_order()
    assert schema.render() == schema.text == schema.render("unknown")
    raw = base64.b64decode(schema.render("serialized"))
    assert descriptor_pb2.FileDescriptorProto.FromString(raw).package == "shop.v1"


# -- compatibility -----------------------------------------------------------------------


def p3(body: str, package: str = "t", header: str = "") -> str:
    return f'syntax = "proto3";\npackage {package};\n{header}\n{body}\n'


def p2(body: str) -> str:
    return f'syntax = "proto2";\npackage t;\n{body}\n'


# (id, old, new, incompatible types BACKWARD (new reads old), FORWARD (old reads new))
COMPAT_CASES: list[tuple[str, str, str, set[str], set[str]]] = [
    ("same", p3("message M { int32 a = 1; }"), p3("message M { int32 a = 1; }"), set(), set()),
    (
        "field-added",
        p3("message M { int32 a = 1; }"),
        p3("message M { int32 a = 1; string b = 2; }"),
        set(),
        set(),
    ),
    (
        "field-renamed",
        p3("message M { int32 a = 1; }"),
        p3("message M { int32 renamed = 1; }"),
        set(),
        set(),
    ),
    (
        "field-renumbered",
        p3("message M { int32 a = 1; }"),
        p3("message M { int32 a = 2; }"),
        set(),
        set(),
    ),
    *[
        (
            f"scalar-{old}-to-{new}",
            p3(f"message M {{ {old} a = 1; }}"),
            p3(f"message M {{ {new} a = 1; }}"),
            set(),
            set(),
        )
        for old, new in [
            ("int32", "int64"),
            ("int32", "uint32"),
            ("uint64", "bool"),
            ("sint32", "sint64"),
            ("fixed32", "sfixed32"),
            ("fixed64", "sfixed64"),
            ("string", "bytes"),
        ]
    ],
    *[
        (
            f"scalar-{old}-to-{new}",
            p3(f"message M {{ {old} a = 1; }}"),
            p3(f"message M {{ {new} a = 1; }}"),
            {"FIELD_SCALAR_KIND_CHANGED"},
            {"FIELD_SCALAR_KIND_CHANGED"},
        )
        for old, new in [
            ("int32", "sint32"),
            ("int64", "fixed64"),
            ("fixed32", "fixed64"),
            ("float", "double"),
            ("string", "int32"),
            ("bytes", "sfixed32"),
        ]
    ],
    (
        "enum-to-int32",
        p3("enum E { E0 = 0; }\nmessage M { E a = 1; }"),
        p3("enum E { E0 = 0; }\nmessage M { int32 a = 1; }"),
        set(),
        set(),
    ),
    (
        "enum-to-string",
        p3("enum E { E0 = 0; }\nmessage M { E a = 1; }"),
        p3("enum E { E0 = 0; }\nmessage M { string a = 1; }"),
        {"FIELD_SCALAR_KIND_CHANGED"},
        {"FIELD_SCALAR_KIND_CHANGED"},
    ),
    (
        "scalar-to-message",
        p3("message N { int32 x = 1; }\nmessage M { int32 a = 1; }"),
        p3("message N { int32 x = 1; }\nmessage M { N a = 1; }"),
        {"FIELD_KIND_CHANGED"},
        {"FIELD_KIND_CHANGED"},
    ),
    (
        "message-to-map",
        p3("message N { int32 x = 1; }\nmessage M { N a = 1; }"),
        p3("message N { int32 x = 1; }\nmessage M { map<string, N> a = 1; }"),
        {"FIELD_KIND_CHANGED"},
        {"FIELD_KIND_CHANGED"},
    ),
    (
        "map-value-same-group",
        p3("message M { map<string, int32> a = 1; }"),
        p3("message M { map<string, int64> a = 1; }"),
        set(),
        set(),
    ),
    (
        "map-value-other-group",
        p3("message M { map<string, int32> a = 1; }"),
        p3("message M { map<string, string> a = 1; }"),
        {"FIELD_SCALAR_KIND_CHANGED"},
        {"FIELD_SCALAR_KIND_CHANGED"},
    ),
    (
        "named-type-changed",
        p3("message A { int32 x = 1; }\nmessage B { int32 x = 1; }\nmessage M { A a = 1; }"),
        p3("message A { int32 x = 1; }\nmessage B { int32 x = 1; }\nmessage M { B a = 1; }"),
        {"FIELD_NAMED_TYPE_CHANGED"},
        {"FIELD_NAMED_TYPE_CHANGED"},
    ),
    (
        "message-removed",
        p3("message M { int32 a = 1; }\nmessage N { int32 b = 1; }"),
        p3("message M { int32 a = 1; }"),
        {"MESSAGE_REMOVED"},
        set(),
    ),
    (
        "nested-message-removed",
        p3("message M { message Inner { int32 x = 1; } }"),
        p3("message M { }"),
        {"MESSAGE_REMOVED"},
        set(),
    ),
    (
        "message-moved",
        p3("message M { int32 a = 1; }\nmessage N { int32 b = 1; }"),
        p3("message N { int32 b = 1; }\nmessage M { int32 a = 1; }"),
        set(),
        set(),
    ),
    (
        "nested-field-type-changed",
        p3("message M { message Inner { int32 x = 1; } Inner i = 1; }"),
        p3("message M { message Inner { string x = 1; } Inner i = 1; }"),
        {"FIELD_SCALAR_KIND_CHANGED"},
        {"FIELD_SCALAR_KIND_CHANGED"},
    ),
    (
        "enum-removed-and-constants-changed",
        p3("enum E { E0 = 0; E1 = 1; }\nenum F { F0 = 0; }\nmessage M { E e = 1; }"),
        p3("enum E { E0 = 0; RENAMED = 1; E2 = 2; }\nmessage M { E e = 1; }"),
        set(),
        set(),
    ),
    (
        "package-changed",
        p3("message M { int32 a = 1; }", package="one"),
        p3("message M { int32 a = 1; }", package="two"),
        {"PACKAGE_CHANGED"},
        {"PACKAGE_CHANGED"},
    ),
    (
        "required-added",
        p2("message M { optional int32 a = 1; }"),
        p2("message M { optional int32 a = 1; required string b = 2; }"),
        {"REQUIRED_FIELD_ADDED"},
        {"REQUIRED_FIELD_REMOVED"},
    ),
    (
        "optional-added-proto2",
        p2("message M { optional int32 a = 1; }"),
        p2("message M { optional int32 a = 1; optional string b = 2; }"),
        set(),
        set(),
    ),
    (
        "numeric-label-changed-proto2",
        p2("message M { optional int32 a = 1; }"),
        p2("message M { repeated int32 a = 1; }"),
        {"FIELD_NUMERIC_LABEL_CHANGED"},
        {"FIELD_NUMERIC_LABEL_CHANGED"},
    ),
    (
        "numeric-required-to-optional",
        p2("message M { required int64 a = 1; }"),
        p2("message M { optional int64 a = 1; }"),
        {"FIELD_NUMERIC_LABEL_CHANGED"},
        {"FIELD_NUMERIC_LABEL_CHANGED"},
    ),
    (
        "string-label-changed-proto2",
        p2("message M { optional string a = 1; }"),
        p2("message M { repeated string a = 1; }"),
        set(),
        set(),
    ),
    (
        "proto3-implicit-to-repeated",
        p3("message M { int32 a = 1; }"),
        p3("message M { repeated int32 a = 1; }"),
        set(),
        set(),
    ),
    (
        "proto3-optional-to-repeated",
        p3("message M { optional int32 a = 1; }"),
        p3("message M { repeated int32 a = 1; }"),
        {"FIELD_NUMERIC_LABEL_CHANGED"},
        {"FIELD_NUMERIC_LABEL_CHANGED"},
    ),
    (
        "oneof-field-removed",
        p3("message M { oneof o { int32 a = 1; string b = 2; } }"),
        p3("message M { oneof o { int32 a = 1; } }"),
        {"ONEOF_FIELD_REMOVED"},
        set(),
    ),
    (
        "oneof-removed-entirely",
        p3("message M { int32 x = 9; oneof o { int32 a = 1; string b = 2; } }"),
        p3("message M { int32 x = 9; }"),
        set(),
        set(),
    ),
    (
        "multiple-fields-moved-to-oneof",
        p3("message M { int32 a = 1; string b = 2; }"),
        p3("message M { oneof o { int32 a = 1; string b = 2; } }"),
        {"MULTIPLE_FIELDS_MOVED_TO_ONEOF"},
        set(),
    ),
    (
        "one-field-moved-to-new-oneof",
        p3("message M { int32 a = 1; }"),
        p3("message M { oneof o { int32 a = 1; string c = 3; } }"),
        set(),
        # FORWARD: the oneof is gone but its member 1 survives, so member 3 was dropped
        # rather than deleted with it (Confluent since DGS-24604).
        {"ONEOF_FIELD_REMOVED"},
    ),
    (
        "field-moved-to-existing-oneof",
        p3("message M { int32 a = 1; oneof o { string b = 2; } }"),
        p3("message M { oneof o { int32 a = 1; string b = 2; } }"),
        {"FIELD_MOVED_TO_EXISTING_ONEOF"},
        set(),
    ),
    (
        "field-moved-into-oneof-changes-type",
        p3("message M { int32 a = 1; }"),
        p3("message M { oneof o { string a = 1; } }"),
        {"FIELD_SCALAR_KIND_CHANGED"},
        {"FIELD_SCALAR_KIND_CHANGED"},
    ),
    (
        "oneof-renamed-member-type-changed",
        p3("message M { oneof o { int32 a = 1; } }"),
        p3("message M { oneof p { double a = 1; } }"),
        {"FIELD_SCALAR_KIND_CHANGED"},
        {"FIELD_SCALAR_KIND_CHANGED"},
    ),
    (
        "recursive-message",
        p3("message Node { Node child = 1; int32 v = 2; }"),
        p3("message Node { Node child = 1; int64 v = 2; string label = 3; }"),
        set(),
        set(),
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "backward", "forward"),
    [case[1:] for case in COMPAT_CASES],
    ids=[case[0] for case in COMPAT_CASES],
)
def test_compatibility_rules(old: str, new: str, backward: set[str], forward: set[str]) -> None:
    previous, current = parse(old), parse(new)
    assert {e.type for e in current.compatibility_errors(previous, Direction.BACKWARD)} == backward
    assert {e.type for e in current.compatibility_errors(previous, Direction.FORWARD)} == forward


def test_paths_and_descriptions() -> None:
    old = parse(p3("message M { int32 a = 1; message Inner { int32 x = 1; } }\nmessage N {}"))
    new = parse(p3("message M { string a = 1; }"))
    errors = new.compatibility_errors(old, Direction.BACKWARD)
    found = {(e.type, e.location) for e in errors}
    assert found == {
        ("FIELD_SCALAR_KIND_CHANGED", "#/M/1"),
        ("MESSAGE_REMOVED", "#/M/Inner"),
        ("MESSAGE_REMOVED", "#/N"),
    }
    removed = next(e for e in errors if e.location == "#/N")
    assert "'#/N'" in removed.message
    assert "old schema" in removed.message and "new schema" in removed.message


def test_oneof_path_includes_the_oneof_name() -> None:
    old = parse(p3("message M { oneof kind { int32 a = 1; string b = 2; } }"))
    new = parse(p3("message M { oneof kind { int32 a = 1; } }"))
    [error] = new.compatibility_errors(old, Direction.BACKWARD)
    assert (error.type, error.location) == ("ONEOF_FIELD_REMOVED", "#/M/kind/2")


def test_compatible_differences_are_still_visible_to_callers() -> None:
    old = parse(p3("message M { int32 a = 1; }"))
    new = parse(p3("message M { int64 b = 1; string c = 2; }"))
    assert set(new.differences(old)) == {
        ("FIELD_NAME_CHANGED", "#/M/1"),
        ("FIELD_ADDED", "#/M/2"),
    }


COMMON_V2_BROKEN = COMMON_V1.replace("int64 units = 1;", "string units = 1;")
COMMON_V2_FINE = COMMON_V1.replace(
    "string currency = 2;", "string currency = 2;\n  int32 nanos = 3;"
)


@pytest.mark.parametrize(
    ("new_common", "version", "expected"),
    [
        (COMMON_V1, 1, set()),
        (COMMON_V2_FINE, 2, set()),
        (COMMON_V2_BROKEN, 2, {"FIELD_SCALAR_KIND_CHANGED", "FIELD_NAMED_TYPE_CHANGED"}),
    ],
    ids=["same-version", "compatible-new-version", "incompatible-new-version"],
)
def test_referenced_message_changes(new_common: str, version: int, expected: set[str]) -> None:
    old = parse_order()
    new = parse(
        ORDER,
        {"common/types.proto": new_common},
        (SchemaReference("common/types.proto", "common/types.proto", version),),
    )
    errors = new.compatibility_errors(old, Direction.BACKWARD)
    assert {e.type for e in errors} == expected
    if expected:
        assert ("FIELD_NAMED_TYPE_CHANGED", "#/Order/7") in {(e.type, e.location) for e in errors}
        assert ("FIELD_SCALAR_KIND_CHANGED", "#/Money/1") in {(e.type, e.location) for e in errors}


def test_same_reference_version_is_not_compared_again() -> None:
    # Same subject and version means the same schema: nothing to look at, even if the
    # texts given differ (they cannot in a real registry).
    old = parse_order()
    new = parse(ORDER, {"common/types.proto": COMMON_V2_BROKEN}, (COMMON_REF,))
    assert new.compatibility_errors(old, Direction.BACKWARD) == []


@pytest.mark.parametrize(
    ("level", "compatible"),
    [
        (CompatibilityLevel.BACKWARD, False),
        (CompatibilityLevel.FORWARD, True),
        (CompatibilityLevel.FULL, False),
        (CompatibilityLevel.NONE, True),
    ],
)
def test_levels_through_check_compatibility(level: CompatibilityLevel, compatible: bool) -> None:
    old = parse(p3("message M { int32 a = 1; }\nmessage N {}"))
    new = parse(p3("message M { int32 a = 1; }"))
    errors = check_compatibility(level, new, [(1, old)])
    assert (errors == []) is compatible
    if errors:
        assert errors[0].old_version == 1


def test_base64_and_text_versions_compare_as_equals(tmp_path: Path) -> None:
    descriptors = protoc_descriptors(
        tmp_path, {"common/types.proto": COMMON_V1, "shop/order.proto": ORDER}
    )
    sent = serializer_string(descriptors, "shop/order.proto")
    dependency = base64.b64encode(descriptors["common/types.proto"]).decode()
    from_descriptor = parse(sent, {"common/types.proto": dependency}, (COMMON_REF,))
    assert from_descriptor.differences(parse_order()) == []
    assert parse_order().differences(from_descriptor) == []


@pytest.mark.parametrize(
    ("old", "new", "backward", "forward"),
    [case[1:] for case in COMPAT_CASES],
    ids=[case[0] for case in COMPAT_CASES],
)
def test_every_level_for_every_pair(
    old: str, new: str, backward: set[str], forward: set[str]
) -> None:
    """Each level picks the directions Confluent assigns it (one previous version, so the
    transitive levels agree with the plain ones)."""
    expected = {
        CompatibilityLevel.NONE: set(),
        CompatibilityLevel.BACKWARD: backward,
        CompatibilityLevel.BACKWARD_TRANSITIVE: backward,
        CompatibilityLevel.FORWARD: forward,
        CompatibilityLevel.FORWARD_TRANSITIVE: forward,
        CompatibilityLevel.FULL: backward | forward,
        CompatibilityLevel.FULL_TRANSITIVE: backward | forward,
    }
    previous, current = parse(old), parse(new)
    for level, types in expected.items():
        errors = check_compatibility(level, current, [(1, previous)])
        assert {e.type for e in errors} == types, level
        assert all(e.old_version == 1 for e in errors)


# v1 had ``a`` as int32; v2 and v3 made it a string (registered at NONE). A candidate
# adding ``c`` suits v2 and v3 both ways, so only the transitive levels reach v1 and fail.
PB_HISTORY = [
    p3("message M { int32 a = 1; }"),
    p3("message M { string a = 1; }"),
    p3("message M { string a = 1; string b = 2; }"),
]
PB_CANDIDATE = p3("message M { string a = 1; string b = 2; int64 c = 3; }")


@pytest.mark.parametrize(
    ("level", "failing_version"),
    [
        (CompatibilityLevel.NONE, None),
        (CompatibilityLevel.BACKWARD, None),
        (CompatibilityLevel.FORWARD, None),
        (CompatibilityLevel.FULL, None),
        (CompatibilityLevel.BACKWARD_TRANSITIVE, 1),
        (CompatibilityLevel.FORWARD_TRANSITIVE, 1),
        (CompatibilityLevel.FULL_TRANSITIVE, 1),
    ],
)
def test_levels_over_a_three_version_history(
    level: CompatibilityLevel, failing_version: int | None
) -> None:
    history = [(v, parse(text)) for v, text in enumerate(PB_HISTORY, start=1)]
    errors = check_compatibility(level, parse(PB_CANDIDATE), history)
    assert {e.old_version for e in errors} == (
        set() if failing_version is None else {failing_version}
    )
    if errors:
        assert {(e.type, e.location) for e in errors} == {("FIELD_SCALAR_KIND_CHANGED", "#/M/1")}


def test_removing_a_message_breaks_transitive_levels_only_against_versions_with_it() -> None:
    history = [
        (1, parse(p3("message M { int32 a = 1; }"))),
        (2, parse(p3("message M { int32 a = 1; }\nmessage N { int32 n = 1; }"))),
    ]
    candidate = parse(p3("message M { int32 a = 1; }"))
    for level in (CompatibilityLevel.BACKWARD, CompatibilityLevel.BACKWARD_TRANSITIVE):
        errors = check_compatibility(level, candidate, history)
        assert [(e.type, e.old_version) for e in errors] == [("MESSAGE_REMOVED", 2)], level
    assert check_compatibility(CompatibilityLevel.FORWARD_TRANSITIVE, candidate, history) == []
