"""Avro format: validation, canonical identity, normalisation and compatibility.

Compatibility pairs are cross-checked against Apache Avro's own Python implementation of
schema resolution (``avro.compatibility``, installed with confluent-kafka[avro]): for every
pair and direction, the set of error types and locations we report must equal Apache's.
"""

from __future__ import annotations

import json
from typing import Any

import avro.schema as apache_schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker

from registry_service.formats import (
    CompatibilityLevel,
    Direction,
    Incompatibility,
    InvalidSchemaError,
    ParsedSchema,
    SchemaReference,
    SchemaType,
    check_compatibility,
    compatibility_messages,
    parse_schema,
)
from registry_service.formats.avro import AvroSchema, parse_avro

Json = Any


def rec(*fields: Json, name: str = "R", **extra: Json) -> dict[str, Json]:
    return {"type": "record", "name": name, **extra, "fields": list(fields)}


def fld(name: str, type_: Json, **extra: Json) -> dict[str, Json]:
    return {"name": name, "type": type_, **extra}


def enum(*symbols: str, name: str = "E", **extra: Json) -> dict[str, Json]:
    return {"type": "enum", "name": name, "symbols": list(symbols), **extra}


def fixed(size: int, name: str = "F") -> dict[str, Json]:
    return {"type": "fixed", "name": name, "size": size}


def avro(schema: Json, **kwargs: Any) -> ParsedSchema:
    return parse_schema(SchemaType.AVRO, json.dumps(schema), **kwargs)


# --------------------------------------------------------------------------------------
# Parsing and validation

INVALID: list[tuple[str, Json, str]] = [
    ("not-json", "{not json", "not valid JSON"),
    ("number", 42, "expected a type name"),
    ("unknown-name", "Foo", "unknown type 'Foo'"),
    ("unknown-type-attr", {"type": "foo"}, "unknown type 'foo'"),
    ("no-type", {"name": "x"}, "has no 'type'"),
    ("record-no-name", {"type": "record", "fields": []}, "has no 'name'"),
    ("record-no-fields", {"type": "record", "name": "R"}, "needs a 'fields' array"),
    ("record-illegal-name", rec(name="1R"), "illegal name '1R'"),
    ("record-named-int", rec(name="int"), "illegal name 'int'"),
    ("illegal-namespace", rec(name="R", namespace="a.1b"), "illegal namespace 'a.1b'"),
    ("dup-field", rec(fld("a", "int"), fld("a", "long")), "two fields named 'a'"),
    ("field-no-name", rec({"type": "int"}), "illegal or missing name"),
    ("field-bad-name", rec(fld("a-b", "int")), "illegal or missing name"),
    ("field-no-type", rec({"name": "a"}), "has no 'type'"),
    ("field-bad-order", rec(fld("a", "int", order="up")), "has order"),
    ("field-unknown-type", rec(fld("a", "Missing")), "unknown type 'Missing' at /fields/0/type"),
    ("redefined", rec(fld("a", rec(name="R"))), "'R' at /fields/0/type is already defined"),
    (
        "redefined-enum",
        rec(fld("a", enum("X")), fld("b", enum("Y"))),
        "'E' at /fields/1/type is already defined",
    ),
    ("enum-no-symbols", {"type": "enum", "name": "E"}, "needs a 'symbols' array"),
    ("enum-dup-symbols", enum("A", "A"), "lists a symbol twice"),
    ("enum-bad-symbol", enum("A", "1B"), "illegal symbol"),
    ("enum-bad-default", enum("A", default="B"), "is not one of its symbols"),
    ("fixed-no-size", {"type": "fixed", "name": "F"}, "non-negative integer 'size'"),
    ("fixed-negative", {"type": "fixed", "name": "F", "size": -1}, "non-negative integer"),
    ("fixed-bool-size", {"type": "fixed", "name": "F", "size": True}, "non-negative integer"),
    ("array-no-items", {"type": "array"}, "has no 'items'"),
    ("map-no-values", {"type": "map"}, "has no 'values'"),
    ("nested-union", ["null", ["int", "string"]], "may not immediately contain other unions"),
    ("dup-union", ["null", "int", "null"], "contains 'null' twice"),
    ("dup-union-logical", ["int", {"type": "int", "logicalType": "date"}], "'int' twice"),
    (
        "dup-union-array",
        [{"type": "array", "items": "int"}, {"type": "array", "items": "long"}],
        "'array' twice",
    ),
    ("dup-union-named", rec(fld("a", [enum("A"), "E"])), "contains 'E' twice"),
    ("aliases-not-strings", rec(aliases=[1]), "'aliases' of record 'R' must be strings"),
    ("doc-not-string", rec(doc=1), "'doc' of record 'R' must be a string"),
    ("type-not-string", {"type": 5}, "'type' at / must be a string"),
    # fastavro, which the serializers use, cannot read a schema object as a type name.
    ("type-wraps-object", {"type": {"type": "int"}}, "'type' at / must be a string"),
]


@pytest.mark.parametrize(
    ("schema", "message"), [(s, m) for _, s, m in INVALID], ids=[i for i, _, _ in INVALID]
)
def test_invalid_schemas_are_rejected_with_a_clear_message(schema: Json, message: str) -> None:
    text = schema if isinstance(schema, str) and schema.startswith("{") else json.dumps(schema)
    with pytest.raises(InvalidSchemaError) as info:
        parse_schema(SchemaType.AVRO, text)
    assert message in info.value.message


BAD_DEFAULTS: list[tuple[str, Json, Json]] = [
    ("int-string", "int", "x"),
    ("int-float", "int", 1.5),
    ("int-bool", "int", True),
    ("int-too-big", "int", 2**31),
    ("long-too-big", "long", 2**63),
    ("null-zero", "null", 0),
    ("boolean-string", "boolean", "true"),
    ("float-string", "float", "1.0"),
    ("string-number", "string", 1),
    ("bytes-null", "bytes", None),
    ("enum-unknown", enum("A", "B"), "C"),
    ("array-bad-item", {"type": "array", "items": "int"}, [1, "x"]),
    ("array-not-list", {"type": "array", "items": "int"}, 1),
    ("map-bad-value", {"type": "map", "values": "int"}, {"a": "x"}),
    ("record-missing-field", rec(fld("a", "int"), name="Inner"), {}),
    ("record-bad-field", rec(fld("a", "int"), name="Inner"), {"a": "x"}),
    ("union-no-branch", ["null", "int"], "x"),
    ("fixed-number", fixed(2), 12),
]


@pytest.mark.parametrize(
    ("field_type", "default"),
    [(t, d) for _, t, d in BAD_DEFAULTS],
    ids=[i for i, _, _ in BAD_DEFAULTS],
)
def test_defaults_must_match_the_field_type(field_type: Json, default: Json) -> None:
    with pytest.raises(InvalidSchemaError) as info:
        avro(rec(fld("f", field_type, default=default)))
    assert "default value" in info.value.message
    assert "field 'f'" in info.value.message


GOOD_DEFAULTS: list[tuple[str, Json, Json]] = [
    ("null", "null", None),
    ("boolean", "boolean", False),
    ("int", "int", -(2**31)),
    ("long", "long", 2**63 - 1),
    ("float-from-int", "float", 1),
    ("double", "double", 1.5),
    ("string", "string", ""),
    ("bytes", "bytes", "\u00ff"),
    ("fixed", fixed(2), "ab"),
    ("enum", enum("A", "B"), "B"),
    ("array", {"type": "array", "items": "int"}, [1, 2]),
    ("map", {"type": "map", "values": "string"}, {"k": "v"}),
    ("record-uses-field-default", rec(fld("a", "int", default=0), name="In"), {}),
    ("union-first-branch", ["null", "int"], None),
    ("union-later-branch", ["null", "int"], 3),  # Avro 1.12 (AVRO-3649): any branch
    ("logical", {"type": "long", "logicalType": "timestamp-millis"}, 0),
]


@pytest.mark.parametrize(
    ("field_type", "default"),
    [(t, d) for _, t, d in GOOD_DEFAULTS],
    ids=[i for i, _, _ in GOOD_DEFAULTS],
)
def test_valid_defaults_are_accepted_and_kept(field_type: Json, default: Json) -> None:
    schema = avro(rec(fld("f", field_type, default=default)))
    assert json.loads(schema.canonical)["fields"][0]["default"] == default


def test_parse_schema_rejects_empty_text() -> None:
    with pytest.raises(InvalidSchemaError, match="Empty schema"):
        parse_schema(SchemaType.AVRO, "  ")


def test_parsed_schema_exposes_name_type_and_text() -> None:
    schema = avro(rec(fld("a", "int"), name="Order", namespace="com.shop"))
    assert schema.schema_type is SchemaType.AVRO
    assert schema.name == "com.shop.Order"
    assert schema.references == ()
    assert json.loads(schema.text) == rec(fld("a", "int"), name="Order", namespace="com.shop")
    assert schema.render() == schema.text
    assert schema.render("serialized") == schema.text
    assert avro("string").name is None
    assert avro(enum("A", name="x.Color")).name == "x.Color"
    assert avro({"type": "array", "items": "int"}).name is None


def test_recursive_types_parse() -> None:
    linked = rec(fld("value", "long"), fld("next", ["null", "LongList"]), name="LongList")
    schema = avro(linked)
    assert schema.canonical == (
        '{"name":"LongList","type":"record","fields":[{"name":"value","type":"long"},'
        '{"name":"next","type":["null","LongList"]}]}'
    )


def test_fastavro_can_use_every_accepted_schema() -> None:
    import fastavro

    schema = avro(
        rec(
            fld("ts", {"type": "long", "logicalType": "timestamp-millis"}),
            fld("amount", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}),
            fld("tags", {"type": "map", "values": {"type": "array", "items": "string"}}),
            name="Payment",
            namespace="com.shop",
        )
    )
    parsed: dict[str, Any] = fastavro.parse_schema(json.loads(schema.text))  # type: ignore[assignment]
    assert parsed["name"] == "com.shop.Payment"


# --------------------------------------------------------------------------------------
# Canonical identity and normalisation

BASE = rec(
    fld("id", "long"),
    fld("kind", enum("A", "B", name="Kind")),
    fld("note", ["null", "string"], default=None),
    name="Order",
    namespace="com.shop",
)

SAME_IDENTITY: list[tuple[str, str, str]] = [
    ("whitespace", json.dumps(BASE), json.dumps(BASE, indent=4)),
    (
        "key-order",
        json.dumps(BASE),
        json.dumps({k: BASE[k] for k in reversed(list(BASE))}),
    ),
    (
        "dotted-name-vs-namespace",
        json.dumps(rec(fld("a", "int"), name="Order", namespace="com.shop")),
        json.dumps(rec(fld("a", "int"), name="com.shop.Order")),
    ),
    (
        "primitive-object-vs-name",
        json.dumps(rec(fld("a", {"type": "string"}))),
        json.dumps(rec(fld("a", "string"))),
    ),
    ("bare-primitive", json.dumps({"type": "int"}), json.dumps("int")),
    (
        "inherited-namespace",
        json.dumps(rec(fld("a", enum("X", name="E")), name="R", namespace="n")),
        json.dumps(rec(fld("a", enum("X", name="n.E")), name="n.R")),
    ),
    (
        "short-vs-full-reference",
        json.dumps(rec(fld("a", enum("X")), fld("b", "E"), name="R", namespace="n")),
        json.dumps(rec(fld("a", enum("X")), fld("b", "n.E"), name="R", namespace="n")),
    ),
    (
        "alias-order-and-qualification",
        json.dumps(rec(name="R", namespace="n", aliases=["Old", "n.Older"])),
        json.dumps(rec(name="R", namespace="n", aliases=["n.Older", "n.Old", "Old"])),
    ),
    (
        "explicit-ascending-order",
        json.dumps(rec(fld("a", "int", order="ascending"))),
        json.dumps(rec(fld("a", "int"))),
    ),
    (
        "decimal-scale-zero",
        json.dumps({"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 0}),
        json.dumps({"type": "bytes", "logicalType": "decimal", "precision": 4}),
    ),
    (
        "custom-property-order",
        json.dumps(rec(fld("a", "int", x=1, y=2))),
        json.dumps(rec(fld("a", "int", y=2, x=1))),
    ),
]


@pytest.mark.parametrize(
    ("first", "second"), [(a, b) for _, a, b in SAME_IDENTITY], ids=[i for i, _, _ in SAME_IDENTITY]
)
def test_formatting_differences_keep_one_identity(first: str, second: str) -> None:
    a = parse_schema(SchemaType.AVRO, first)
    b = parse_schema(SchemaType.AVRO, second)
    assert a.canonical == b.canonical
    assert a.fingerprint == b.fingerprint


DIFFERENT_IDENTITY: list[tuple[str, Json, Json]] = [
    ("doc", rec(fld("a", "int"), doc="x"), rec(fld("a", "int"), doc="y")),
    ("field-doc", rec(fld("a", "int", doc="x")), rec(fld("a", "int"))),
    ("default", rec(fld("a", "int", default=1)), rec(fld("a", "int", default=2))),
    ("default-added", rec(fld("a", "int", default=1)), rec(fld("a", "int"))),
    ("field-order", rec(fld("a", "int"), fld("b", "int")), rec(fld("b", "int"), fld("a", "int"))),
    ("field-sort-order", rec(fld("a", "int", order="descending")), rec(fld("a", "int"))),
    ("logical-type", {"type": "int", "logicalType": "date"}, "int"),
    ("record-alias", rec(aliases=["Old"]), rec()),
    ("field-alias", rec(fld("a", "int", aliases=["b"])), rec(fld("a", "int"))),
    ("enum-default", enum("A", "B", default="A"), enum("A", "B")),
    ("enum-symbol-order", enum("A", "B"), enum("B", "A")),
    ("namespace", rec(namespace="x"), rec(namespace="y")),
    ("custom-property", rec(fld("a", "int", x=1)), rec(fld("a", "int", x=2))),
    ("union-order", ["null", "int"], ["int", "null"]),
]


@pytest.mark.parametrize(
    ("first", "second"),
    [(a, b) for _, a, b in DIFFERENT_IDENTITY],
    ids=[i for i, _, _ in DIFFERENT_IDENTITY],
)
def test_meaningful_differences_change_identity(first: Json, second: Json) -> None:
    assert avro(first).canonical != avro(second).canonical


def test_canonical_form_layout() -> None:
    schema = avro(
        {
            "fields": [
                {"default": 0, "type": {"type": "int"}, "doc": "d", "name": "a", "x-prop": 1},
                {"type": {"size": 4, "name": "F", "type": "fixed"}, "name": "b"},
            ],
            "doc": "top",
            "namespace": "com.shop",
            "name": "Order",
            "type": "record",
            "aliases": ["Old"],
        }
    )
    assert schema.canonical == (
        '{"name":"com.shop.Order","type":"record","fields":['
        '{"name":"a","type":"int","doc":"d","default":0,"x-prop":1},'
        '{"name":"b","type":{"name":"com.shop.F","type":"fixed","size":4}}],'
        '"doc":"top","aliases":["com.shop.Old"]}'
    )


def test_normalized_text_is_the_canonical_form_and_keeps_identity() -> None:
    schema = parse_schema(SchemaType.AVRO, json.dumps(BASE, indent=2))
    normalized = schema.normalized()
    assert normalized.text == schema.canonical
    assert normalized.canonical == schema.canonical
    assert normalized.name == schema.name
    again = parse_schema(SchemaType.AVRO, normalized.text)
    assert again.canonical == schema.canonical
    assert again.normalized().text == normalized.text


def test_text_keeps_what_the_user_sent_without_whitespace() -> None:
    sent = '{ "type" : "record", "name": "R", "namespace": "n",\n "fields": [] }'
    assert parse_schema(SchemaType.AVRO, sent).text == (
        '{"type":"record","name":"R","namespace":"n","fields":[]}'
    )


# --------------------------------------------------------------------------------------
# References

ADDRESS = rec(fld("street", "string"), name="Address", namespace="com.shop")
ADDRESS_V2 = rec(
    fld("street", "string"), fld("zip", "string"), name="Address", namespace="com.shop"
)
ADDRESS_REF = SchemaReference("com.shop.Address", "address-value", 1)


def test_referenced_named_types_are_usable_by_full_and_short_name() -> None:
    refs = {"com.shop.Address": json.dumps(ADDRESS)}
    full = avro(
        rec(fld("ship_to", "com.shop.Address")), references=[ADDRESS_REF], resolved_references=refs
    )
    short = avro(
        rec(fld("ship_to", "Address"), namespace="com.shop", name="Order"),
        references=[ADDRESS_REF],
        resolved_references=refs,
    )
    assert full.references == (ADDRESS_REF,)
    assert full.canonical == (
        '{"name":"R","type":"record","fields":[{"name":"ship_to","type":"com.shop.Address"}]}'
    )
    assert '"type":"com.shop.Address"' in short.canonical
    assert short.name == "com.shop.Order"


def test_references_of_references_resolve_in_dependency_order() -> None:
    color = enum("RED", "BLUE", name="com.shop.Color")
    item = rec(fld("color", "com.shop.Color"), name="com.shop.Item")
    schema = avro(
        rec(fld("items", {"type": "array", "items": "com.shop.Item"})),
        references=[SchemaReference("item", "item-value", 3)],
        resolved_references={"color": json.dumps(color), "item": json.dumps(item)},
    )
    assert schema.references == (SchemaReference("item", "item-value", 3),)


def test_a_schema_that_is_only_a_reference_is_named_after_it() -> None:
    schema = avro(
        "com.shop.Address",
        references=[ADDRESS_REF],
        resolved_references={"com.shop.Address": json.dumps(ADDRESS)},
    )
    assert schema.name == "com.shop.Address"


def test_unresolved_reference_and_unknown_type_are_invalid() -> None:
    with pytest.raises(InvalidSchemaError, match="could not be resolved"):
        avro(rec(fld("a", "com.shop.Address")), references=[ADDRESS_REF])
    with pytest.raises(InvalidSchemaError, match=r"unknown type 'com\.shop\.Address'"):
        avro(rec(fld("a", "com.shop.Address")))
    with pytest.raises(InvalidSchemaError, match=r"referenced schema 'com\.shop\.Address'"):
        avro(
            rec(fld("a", "com.shop.Address")),
            references=[ADDRESS_REF],
            resolved_references={"com.shop.Address": "{broken"},
        )


def test_main_schema_cannot_redefine_a_referenced_type() -> None:
    with pytest.raises(InvalidSchemaError, match="already defined"):
        avro(
            rec(fld("a", ADDRESS)),
            references=[ADDRESS_REF],
            resolved_references={"com.shop.Address": json.dumps(ADDRESS)},
        )


def test_compatibility_looks_through_referenced_types() -> None:
    old = avro(
        rec(fld("ship_to", "com.shop.Address")),
        references=[ADDRESS_REF],
        resolved_references={"com.shop.Address": json.dumps(ADDRESS)},
    )
    new = avro(
        rec(fld("ship_to", "com.shop.Address")),
        references=[SchemaReference("com.shop.Address", "address-value", 2)],
        resolved_references={"com.shop.Address": json.dumps(ADDRESS_V2)},
    )
    assert old.canonical == new.canonical  # identity differs only by the reference version
    assert old.fingerprint != new.fingerprint
    errors = check_compatibility(CompatibilityLevel.BACKWARD, new, [(1, old)])
    assert [(e.type, e.location) for e in errors] == [
        ("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/0/type/fields/1")
    ]
    assert check_compatibility(CompatibilityLevel.FORWARD, new, [(1, old)]) == []


# --------------------------------------------------------------------------------------
# Compatibility pairs: (old, new, BACKWARD errors, FORWARD errors) as (type, location)

MISSING = "READER_FIELD_MISSING_DEFAULT_VALUE"
TYPE = "TYPE_MISMATCH"
NAME = "NAME_MISMATCH"
SYMBOLS = "MISSING_ENUM_SYMBOLS"
BRANCH = "MISSING_UNION_BRANCH"
SIZE = "FIXED_SIZE_MISMATCH"

Err = tuple[str, str]


def one_field(type_: Json, **extra: Json) -> dict[str, Json]:
    return rec(fld("f", type_, **extra))


PAIRS: list[tuple[str, Json, Json, list[Err], list[Err]]] = [
    ("identical", one_field("int"), one_field("int"), [], []),
    (
        "add-field-with-default",
        rec(fld("a", "int")),
        rec(fld("a", "int"), fld("b", "string", default="")),
        [],
        [],
    ),
    (
        "add-field-without-default",
        rec(fld("a", "int")),
        rec(fld("a", "int"), fld("b", "string")),
        [(MISSING, "/fields/1")],
        [],
    ),
    (
        "remove-field-without-default",
        rec(fld("a", "int"), fld("b", "string")),
        rec(fld("a", "int")),
        [],
        [(MISSING, "/fields/1")],
    ),
    (
        "remove-field-with-default",
        rec(fld("a", "int"), fld("b", "string", default="x")),
        rec(fld("a", "int")),
        [],
        [],
    ),
    (
        "reorder-fields",
        rec(fld("a", "int"), fld("b", "string")),
        rec(fld("b", "string"), fld("a", "int")),
        [],
        [],
    ),
    ("int-to-long", one_field("int"), one_field("long"), [], [(TYPE, "/fields/0/type")]),
    ("int-to-float", one_field("int"), one_field("float"), [], [(TYPE, "/fields/0/type")]),
    ("int-to-double", one_field("int"), one_field("double"), [], [(TYPE, "/fields/0/type")]),
    ("long-to-float", one_field("long"), one_field("float"), [], [(TYPE, "/fields/0/type")]),
    ("long-to-double", one_field("long"), one_field("double"), [], [(TYPE, "/fields/0/type")]),
    ("float-to-double", one_field("float"), one_field("double"), [], [(TYPE, "/fields/0/type")]),
    ("long-to-int", one_field("long"), one_field("int"), [(TYPE, "/fields/0/type")], []),
    ("double-to-float", one_field("double"), one_field("float"), [(TYPE, "/fields/0/type")], []),
    ("string-to-bytes", one_field("string"), one_field("bytes"), [], []),
    ("bytes-to-string", one_field("bytes"), one_field("string"), [], []),
    (
        "string-to-int",
        one_field("string"),
        one_field("int"),
        [(TYPE, "/fields/0/type")],
        [(TYPE, "/fields/0/type")],
    ),
    (
        "boolean-to-null",
        one_field("boolean"),
        one_field("null"),
        [(TYPE, "/fields/0/type")],
        [(TYPE, "/fields/0/type")],
    ),
    ("top-level-primitive", "int", "boolean", [(TYPE, "/")], [(TYPE, "/")]),
    ("top-level-promotion", "int", "long", [], [(TYPE, "/")]),
    (
        "logical-type-ignored",
        one_field({"type": "long", "logicalType": "timestamp-millis"}),
        one_field("long"),
        [],
        [],
    ),
    ("record-renamed", rec(name="A"), rec(name="B"), [(NAME, "/name")], [(NAME, "/name")]),
    (
        "record-renamed-with-alias",
        rec(name="A"),
        rec(name="B", aliases=["A"]),
        [],
        [(NAME, "/name")],
    ),
    ("namespace-changed", rec(name="A", namespace="x"), rec(name="A", namespace="y"), [], []),
    (
        "field-renamed-with-alias",
        rec(fld("a", "int")),
        rec(fld("b", "int", aliases=["a"])),
        [],
        [(MISSING, "/fields/0")],
    ),
    (
        "field-renamed-with-alias-and-default",
        rec(fld("a", "int", default=0)),
        rec(fld("b", "int", aliases=["a"], default=0)),
        [],
        [],
    ),
    (
        "enum-symbol-added",
        one_field(enum("A", "B")),
        one_field(enum("A", "B", "C")),
        [],
        [(SYMBOLS, "/fields/0/type/symbols")],
    ),
    (
        "enum-symbol-removed",
        one_field(enum("A", "B", "C")),
        one_field(enum("A", "B")),
        [(SYMBOLS, "/fields/0/type/symbols")],
        [],
    ),
    (
        "enum-symbol-added-reader-default",
        one_field(enum("A", "B", default="A")),
        one_field(enum("A", "B", "C", default="A")),
        [],
        [],
    ),
    (
        "enum-symbol-removed-reader-default",
        one_field(enum("A", "B", "C", default="A")),
        one_field(enum("A", "B", default="A")),
        [],
        [],
    ),
    (
        "enum-renamed",
        one_field(enum("A", name="E1")),
        one_field(enum("A", name="E2")),
        [(NAME, "/fields/0/type/name")],
        [(NAME, "/fields/0/type/name")],
    ),
    (
        "enum-to-string",
        one_field(enum("A")),
        one_field("string"),
        [(TYPE, "/fields/0/type")],
        [(TYPE, "/fields/0/type")],
    ),
    (
        "fixed-resized",
        one_field(fixed(4)),
        one_field(fixed(8)),
        [(SIZE, "/fields/0/type/size")],
        [(SIZE, "/fields/0/type/size")],
    ),
    (
        "fixed-renamed",
        one_field(fixed(4, "F1")),
        one_field(fixed(4, "F2")),
        [(NAME, "/fields/0/type/name")],
        [(NAME, "/fields/0/type/name")],
    ),
    (
        "fixed-to-bytes",
        one_field(fixed(4)),
        one_field("bytes"),
        [(TYPE, "/fields/0/type")],
        [(TYPE, "/fields/0/type")],
    ),
    (
        "union-branch-added",
        one_field(["null", "string"]),
        one_field(["null", "string", "int"]),
        [],
        [(BRANCH, "/fields/0/type/2")],
    ),
    (
        "union-branch-removed",
        one_field(["null", "string", "int"]),
        one_field(["null", "string"]),
        [(BRANCH, "/fields/0/type/2")],
        [],
    ),
    ("union-reordered", one_field(["null", "string"]), one_field(["string", "null"]), [], []),
    (
        "made-optional",
        one_field("int"),
        one_field(["null", "int"], default=None),
        [],
        [(TYPE, "/")],
    ),  # Avro Java restarts the path at "/" for a writer union
    (
        "made-required",
        one_field(["null", "int"], default=None),
        one_field("int"),
        [(TYPE, "/")],
        [],
    ),
    (
        "union-branch-promoted",
        one_field(["null", "int"]),
        one_field(["null", "long"]),
        [],
        [(BRANCH, "/fields/0/type/1")],
    ),
    (
        "union-reads-promoted-writer",
        one_field("int"),
        one_field(["null", "string", "double"]),
        [],
        [(TYPE, "/"), (TYPE, "/"), (TYPE, "/")],
    ),
    (
        "union-with-record-branch",
        one_field(["null", rec(fld("a", "int"), name="In")]),
        one_field(["null", "string"]),
        [(BRANCH, "/fields/0/type/1")],
        [(BRANCH, "/fields/0/type/1")],
    ),
    (
        "array-items-promoted",
        one_field({"type": "array", "items": "int"}),
        one_field({"type": "array", "items": "long"}),
        [],
        [(TYPE, "/fields/0/type/items")],
    ),
    (
        "map-values-promoted",
        one_field({"type": "map", "values": "float"}),
        one_field({"type": "map", "values": "double"}),
        [],
        [(TYPE, "/fields/0/type/values")],
    ),
    (
        "array-to-map",
        one_field({"type": "array", "items": "int"}),
        one_field({"type": "map", "values": "int"}),
        [(TYPE, "/fields/0/type")],
        [(TYPE, "/fields/0/type")],
    ),
    (
        "nested-record-field-added",
        one_field(rec(fld("a", "int"), name="In")),
        one_field(rec(fld("a", "int"), fld("b", "int"), name="In")),
        [(MISSING, "/fields/0/type/fields/1")],
        [],
    ),
    (
        "nested-record-in-array",
        one_field({"type": "array", "items": rec(fld("a", "int"), name="In")}),
        one_field({"type": "array", "items": rec(fld("a", "string"), name="In")}),
        [(TYPE, "/fields/0/type/items/fields/0/type")],
        [(TYPE, "/fields/0/type/items/fields/0/type")],
    ),
    (
        "several-errors",
        rec(fld("a", "int"), fld("b", "long"), name="A"),
        rec(fld("a", "string"), fld("c", "int"), name="B"),
        [(NAME, "/name"), (TYPE, "/fields/0/type"), (MISSING, "/fields/1")],
        [(NAME, "/name"), (TYPE, "/fields/0/type"), (MISSING, "/fields/1")],
    ),
    (
        "recursive-field-added",
        rec(fld("v", "long"), fld("next", ["null", "L"]), name="L"),
        rec(fld("v", "long"), fld("next", ["null", "L"]), fld("w", "int", default=0), name="L"),
        [],
        [],
    ),
    (
        "recursive-type-changed",
        rec(fld("v", "int"), fld("next", ["null", "L"]), name="L"),
        rec(fld("v", "long"), fld("next", ["null", "L"]), name="L"),
        [],
        [(TYPE, "/fields/0/type")],
    ),
    (
        "record-to-primitive",
        one_field(rec(name="In")),
        one_field("string"),
        [(TYPE, "/fields/0/type")],
        [(TYPE, "/fields/0/type")],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "backward", "forward"),
    [p[1:] for p in PAIRS],
    ids=[p[0] for p in PAIRS],
)
def test_pairwise_compatibility(
    old: Json, new: Json, backward: list[Err], forward: list[Err]
) -> None:
    old_schema, new_schema = avro(old), avro(new)
    got_backward = new_schema.compatibility_errors(old_schema, Direction.BACKWARD)
    got_forward = new_schema.compatibility_errors(old_schema, Direction.FORWARD)
    assert [(e.type, e.location) for e in got_backward] == backward
    assert [(e.type, e.location) for e in got_forward] == forward

    history = [(1, old_schema)]
    expected = {
        CompatibilityLevel.NONE: [],
        CompatibilityLevel.BACKWARD: backward,
        CompatibilityLevel.BACKWARD_TRANSITIVE: backward,
        CompatibilityLevel.FORWARD: forward,
        CompatibilityLevel.FORWARD_TRANSITIVE: forward,
        CompatibilityLevel.FULL: backward + forward,
        CompatibilityLevel.FULL_TRANSITIVE: backward + forward,
    }
    for level, errors in expected.items():
        result = check_compatibility(level, new_schema, history)
        assert [(e.type, e.location) for e in result] == errors, level
        assert all(e.old_version == 1 and e.old_schema == old_schema.text for e in result)


@pytest.mark.parametrize(("old", "new"), [p[1:3] for p in PAIRS], ids=[p[0] for p in PAIRS])
@pytest.mark.parametrize("direction", list(Direction))
def test_agrees_with_apache_avro(old: Json, new: Json, direction: Direction) -> None:
    """Apache Avro's own checker, fed the same pair, finds the same types and places."""
    reader, writer = (new, old) if direction is Direction.BACKWARD else (old, new)
    checker: Any = ReaderWriterCompatibilityChecker
    apache = checker().get_compatibility(
        apache_schema.parse(json.dumps(reader)), apache_schema.parse(json.dumps(writer))
    )
    ours = avro(new).compatibility_errors(avro(old), direction)
    assert {e.type for e in ours} == {i.name.upper() for i in apache.incompatibilities}
    # Apache's location set always holds the root "/", even for compatible pairs.
    assert {e.location for e in ours} | {"/"} == set(apache.locations) | {"/"}


# --------------------------------------------------------------------------------------
# Levels over a history

V1 = rec(fld("a", "int"), fld("b", "string"))
V2 = rec(fld("a", "int"), fld("b", "string"))
V3 = rec(fld("a", "int"), fld("b", "string", default=""))


def history(*schemas: Json) -> list[tuple[int, ParsedSchema]]:
    return [(version, avro(s)) for version, s in enumerate(schemas, start=1)]


TRANSITIVE: list[tuple[str, CompatibilityLevel, Json, int | None, list[Err]]] = [
    # Dropping b: only v3 (latest) has a default for it, so old readers v1/v2 break.
    ("forward-latest-only", CompatibilityLevel.FORWARD, rec(fld("a", "int")), None, []),
    (
        "forward-transitive-stops-at-newest-failure",
        CompatibilityLevel.FORWARD_TRANSITIVE,
        rec(fld("a", "int")),
        2,
        [(MISSING, "/fields/1")],
    ),
    ("full-latest-only", CompatibilityLevel.FULL, rec(fld("a", "int")), None, []),
    (
        "full-transitive",
        CompatibilityLevel.FULL_TRANSITIVE,
        rec(fld("a", "int")),
        2,
        [(MISSING, "/fields/1")],
    ),
    ("backward-latest-only", CompatibilityLevel.BACKWARD, rec(fld("a", "long")), None, []),
    (
        "backward-transitive-all-fine",
        CompatibilityLevel.BACKWARD_TRANSITIVE,
        rec(fld("a", "long"), fld("b", "string")),
        None,
        [],
    ),
    (
        "backward-transitive-fails",
        CompatibilityLevel.BACKWARD_TRANSITIVE,
        rec(fld("a", "long"), fld("b", "string"), fld("c", "int")),
        3,
        [(MISSING, "/fields/2")],
    ),
    ("none", CompatibilityLevel.NONE, rec(fld("z", "boolean"), name="Other"), None, []),
]


@pytest.mark.parametrize(
    ("level", "new", "failing_version", "errors"),
    [t[1:] for t in TRANSITIVE],
    ids=[t[0] for t in TRANSITIVE],
)
def test_levels_against_a_three_version_history(
    level: CompatibilityLevel, new: Json, failing_version: int | None, errors: list[Err]
) -> None:
    result = check_compatibility(level, avro(new), history(V1, V2, V3))
    assert [(e.type, e.location) for e in result] == errors
    assert {e.old_version for e in result} == ({failing_version} if errors else set())


def test_transitive_backward_names_the_oldest_breaking_version_when_only_it_fails() -> None:
    # v1 lacks c; v2 and v3 have it, so only v1 (the last one walked) fails.
    versions = history(
        rec(fld("a", "int")),
        rec(fld("a", "int"), fld("c", "int", default=0)),
        rec(fld("a", "int"), fld("c", "int", default=0)),
    )
    new = avro(rec(fld("a", "int"), fld("c", "int")))
    assert check_compatibility(CompatibilityLevel.BACKWARD, new, versions) == []
    result = check_compatibility(CompatibilityLevel.BACKWARD_TRANSITIVE, new, versions)
    assert [(e.type, e.old_version) for e in result] == [(MISSING, 1)]


def test_empty_history_is_always_compatible() -> None:
    new = avro(rec(fld("a", "int")))
    for level in CompatibilityLevel:
        assert check_compatibility(level, new, []) == []


@pytest.mark.parametrize(
    ("level", "transitive", "backward", "forward"),
    [
        (CompatibilityLevel.BACKWARD, False, True, False),
        (CompatibilityLevel.BACKWARD_TRANSITIVE, True, True, False),
        (CompatibilityLevel.FORWARD, False, False, True),
        (CompatibilityLevel.FORWARD_TRANSITIVE, True, False, True),
        (CompatibilityLevel.FULL, False, True, True),
        (CompatibilityLevel.FULL_TRANSITIVE, True, True, True),
        (CompatibilityLevel.NONE, False, False, False),
    ],
)
def test_level_properties(
    level: CompatibilityLevel, transitive: bool, backward: bool, forward: bool
) -> None:
    assert (level.transitive, level.checks_backward, level.checks_forward) == (
        transitive,
        backward,
        forward,
    )
    assert CompatibilityLevel(level.value) is level


class _OtherFormat(ParsedSchema):
    """A stand-in schema of another type, to see the type check short-circuit."""

    schema_type = SchemaType.PROTOBUF
    canonical = "syntax = 'proto3';"
    text = canonical
    references = ()
    name = None

    def normalized(self) -> ParsedSchema:
        return self

    def render(self, fmt: str | None = None) -> str:
        return self.text

    def compatibility_errors(
        self, previous: ParsedSchema, direction: Direction
    ) -> list[Incompatibility]:
        raise AssertionError("not reached for different schema types")


def test_different_schema_types_are_incompatible() -> None:
    result = check_compatibility(CompatibilityLevel.BACKWARD, avro("int"), [(4, _OtherFormat())])
    assert [(e.message, e.old_version) for e in result] == [
        ("Incompatible because of different schema type", 4)
    ]


# --------------------------------------------------------------------------------------
# Verbose messages


def test_messages_read_like_confluents() -> None:
    old = avro(rec(fld("a", "int")))
    new = avro(rec(fld("a", "int"), fld("f", "string")))
    result = check_compatibility(CompatibilityLevel.BACKWARD, new, [(7, old)])
    assert compatibility_messages(CompatibilityLevel.BACKWARD, result) == [
        "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'f' at path "
        "'/fields/1' in the new schema has no default value and is missing in the old schema', "
        "additionalInfo:'f'}",
        "{oldSchemaVersion: 7}",
        "{oldSchema: '" + old.text + "'}",
        "{validateFields: 'false', compatibility: 'BACKWARD'}",
    ]
    assert compatibility_messages(CompatibilityLevel.BACKWARD, []) == []


DESCRIPTIONS: list[tuple[str, Direction, Json, Json, str]] = [
    (
        "type",
        Direction.BACKWARD,
        one_field("long"),
        one_field("int"),
        "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in "
        "the new schema does not match with the old schema', additionalInfo:'reader type: INT not "
        "compatible with writer type: LONG'}",
    ),
    (
        "missing-forward",
        Direction.FORWARD,
        rec(fld("a", "int"), fld("v", "int")),
        rec(fld("a", "int")),
        "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'v' at path "
        "'/fields/1' in the old schema has no default value and is missing in the new schema', "
        "additionalInfo:'v'}",
    ),
    (
        "name",
        Direction.BACKWARD,
        rec(name="random_record"),
        rec(name="other"),
        "{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path "
        "'/name')', additionalInfo:'expected: random_record'}",
    ),
    (
        "enum",
        Direction.BACKWARD,
        one_field(enum("MALE", "FEMALE")),
        one_field(enum("MALE")),
        "{errorType:'MISSING_ENUM_SYMBOLS', description:'The new schema is missing enum symbols "
        "'[FEMALE]' at path '/fields/0/type/symbols' in the old schema', "
        "additionalInfo:'[FEMALE]'}",
    ),
    (
        "union",
        Direction.BACKWARD,
        one_field(["null", rec(name="In")]),
        one_field(["null"]),
        "{errorType:'MISSING_UNION_BRANCH', description:'The new schema is missing a type inside a "
        "union field at path '/fields/0/type/1' in the old schema', additionalInfo:'reader union "
        "lacking writer type: RECORD'}",
    ),
    (
        "fixed",
        Direction.FORWARD,
        one_field(fixed(16)),
        one_field(fixed(8)),
        "{errorType:'FIXED_SIZE_MISMATCH', description:'The size of FIXED type field at path "
        "'/fields/0/type/size' in the old schema does not match with the new schema', "
        "additionalInfo:'expected: 8, found: 16'}",
    ),
]


@pytest.mark.parametrize(
    ("direction", "old", "new", "text"),
    [d[1:] for d in DESCRIPTIONS],
    ids=[d[0] for d in DESCRIPTIONS],
)
def test_each_error_type_is_described(
    direction: Direction, old: Json, new: Json, text: str
) -> None:
    [error] = avro(new).compatibility_errors(avro(old), direction)
    assert error.describe() == text


# --------------------------------------------------------------------------------------
# Cost


def test_transitive_check_over_a_hundred_versions_compares_each_pair_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cost in comparisons, not seconds (a timed assertion flaked on a loaded
    machine; the speed itself is benchmarks/bench_registry's): newest first, stopping at
    the first failure, one comparison per live version at most."""
    from registry_service.formats import base

    compared: list[int] = []
    pair_errors = base._pair_errors

    def counting(level: CompatibilityLevel, new: ParsedSchema, old: ParsedSchema) -> list[Any]:
        compared.append(1)
        return pair_errors(level, new, old)

    monkeypatch.setattr(base, "_pair_errors", counting)
    fields = [fld("id", "long")]
    versions: list[tuple[int, ParsedSchema]] = []
    for version in range(1, 101):
        fields.append(fld(f"f{version}", ["null", "string"], default=None))
        versions.append((version, avro(rec(*fields, name="Wide"))))
    new = avro(rec(*fields, fld("last", "int"), name="Wide"))
    result = check_compatibility(CompatibilityLevel.FULL_TRANSITIVE, new, versions)
    assert [(e.type, e.old_version) for e in result] == [(MISSING, 100)]
    assert len(compared) == 1  # the newest version already fails
    compared.clear()
    compatible = avro(rec(*fields, fld("last", "int", default=0), name="Wide"))
    assert check_compatibility(CompatibilityLevel.FULL_TRANSITIVE, compatible, versions) == []
    assert len(compared) == 100


def test_parse_avro_is_the_same_as_parse_schema() -> None:
    direct = parse_avro(json.dumps(BASE))
    assert isinstance(direct, AvroSchema)
    assert direct.canonical == avro(BASE).canonical
