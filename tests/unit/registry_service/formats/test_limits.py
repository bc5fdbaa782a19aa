"""Nesting limits and lone surrogates (``registry_service.formats.limits``).

Every walk (parsing, canonical form, fastavro, compatibility both ways, defaults, the
Protobuf renderer and differ) runs at exactly the limit, and from a caller already
``EXTRA_FRAMES`` calls deep, to show the headroom under Python's 1,000: uvicorn's worker
threads start a request about 30 calls deep. One level more is refused with the
format's own invalid-schema error, whose message can always be encoded as UTF-8.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from registry_service.formats import (
    CompatibilityLevel,
    Direction,
    InvalidSchemaError,
    ParsedSchema,
    SchemaReference,
    check_compatibility,
)
from registry_service.formats.avro import AvroSchema, parse_avro
from registry_service.formats.limits import (
    MAX_JSON_DEPTH,
    MAX_NESTING_DEPTH,
    check_json_document,
    check_proto_nesting,
)
from registry_service.formats.protobuf import ProtobufSchema, parse_protobuf

Json = Any
T = TypeVar("T")
EXTRA_FRAMES = 250


def deep_call(fn: Callable[[], T], frames: int = EXTRA_FRAMES) -> T:
    """``fn()`` called from ``frames`` nested calls, like a caller with a deeper stack."""
    if frames == 0:
        return fn()
    return deep_call(fn, frames - 1)


def chain(kinds: list[str], leaf: Json = "int", prefix: str = "R") -> Json:
    """Types nested outside in: ``record`` (one field ``f``), ``array``, ``map``, ``union``."""
    node = leaf
    for index in reversed(range(len(kinds))):
        kind = kinds[index]
        if kind == "array":
            node = {"type": "array", "items": node}
        elif kind == "map":
            node = {"type": "map", "values": node}
        elif kind == "union":
            node = ["null", node]
        else:
            node = {
                "type": "record",
                "name": f"{prefix}{index}",
                "fields": [{"name": "f", "type": node}],
            }
    return node


PATTERNS = {
    "arrays": ["array"],
    "maps": ["map"],
    "records": ["record"],
    "optional records": ["record", "union"],
    "mixed": ["record", "union", "array", "map"],
}


def kinds_of(pattern: str, levels: int) -> list[str]:
    cycle = PATTERNS[pattern]
    return [cycle[i % len(cycle)] for i in range(levels)]


def avro(schema: Json, resolved: dict[str, str] | None = None) -> AvroSchema:
    return parse_avro(json.dumps(schema), (), resolved)


def error_types(new: ParsedSchema, old: ParsedSchema, direction: Direction) -> set[str]:
    return {e.type for e in new.compatibility_errors(old, direction)}


def assert_encodable(exc: InvalidSchemaError) -> None:
    exc.message.encode("utf-8")  # the API answers with it; must never raise


# --------------------------------------------------------------------------------------
# Avro: type nesting


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_avro_every_walk_works_at_the_nesting_limit(pattern: str) -> None:
    kinds = kinds_of(pattern, MAX_NESTING_DEPTH)
    old_json, new_json = chain(kinds, "int"), chain(kinds, "long")

    def walks() -> None:
        old, new = avro(old_json), avro(new_json)
        assert json.loads(new.canonical) == json.loads(new.normalized().text)
        assert new.fingerprint != old.fingerprint
        # int -> long: the new schema reads old data; the old cannot read new data, and
        # the difference is found at the very bottom.
        assert new.compatibility_errors(old, Direction.BACKWARD) == []
        forward = {e.type for e in new.compatibility_errors(old, Direction.FORWARD)}
        assert forward == {"MISSING_UNION_BRANCH" if "union" in kinds else "TYPE_MISMATCH"}
        assert (
            check_compatibility(CompatibilityLevel.FULL_TRANSITIVE, new, [(1, new), (2, new)]) == []
        )
        assert (
            check_compatibility(CompatibilityLevel.BACKWARD_TRANSITIVE, new, [(1, old), (2, new)])
            == []
        )

    deep_call(walks)


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_avro_one_level_beyond_the_limit_is_invalid(pattern: str) -> None:
    schema = chain(kinds_of(pattern, MAX_NESTING_DEPTH + 1))
    with pytest.raises(
        InvalidSchemaError, match=f"types nest more than {MAX_NESTING_DEPTH} levels"
    ):
        avro(schema)


@pytest.mark.parametrize(
    ("kind", "levels"), [("array", 600), ("map", 600), ("record", 300), ("record", 5000)]
)
def test_avro_deep_schemas_from_the_issue_are_invalid(kind: str, levels: int) -> None:
    with pytest.raises(InvalidSchemaError) as caught:
        parse_avro(json.dumps(chain([kind] * levels)) if levels < 1000 else _deep_records(levels))
    assert "nest" in caught.value.message


def _deep_records(levels: int) -> str:
    # Too deep for json.dumps to write; built as text.
    head = '{"type":"record","name":"R%d","fields":[{"name":"f","type":'
    return "".join(head % i for i in range(levels)) + '"int"' + "}]}" * levels


@pytest.mark.parametrize("levels", [1025, 2000, 100_000])
def test_json_too_deep_to_decode_is_invalid(levels: int) -> None:
    with pytest.raises(InvalidSchemaError, match="nests arrays and objects"):
        parse_avro("[" * levels + "]" * levels)


def test_named_types_count_where_they_are_used_across_references() -> None:
    # R0 spans one level; R{k} holds an R{k-1}, so it spans k + 1; Top adds one more.
    def ref(k: int, leaf: str) -> str:
        field_type = leaf if k == 0 else f"R{k - 1}"
        return json.dumps(
            {"type": "record", "name": f"R{k}", "fields": [{"name": "f", "type": field_type}]}
        )

    def resolved(leaf: str, count: int) -> dict[str, str]:
        return {f"r{k}": ref(k, leaf) for k in range(count)}

    def top(inner: str) -> Json:
        return {"type": "record", "name": "Top", "fields": [{"name": "f", "type": inner}]}

    deepest = MAX_NESTING_DEPTH - 2

    def walks() -> None:
        old = avro(top(f"R{deepest}"), resolved("int", deepest + 1))
        new = avro(top(f"R{deepest}"), resolved("long", deepest + 1))
        assert error_types(new, old, Direction.BACKWARD) == set()
        assert error_types(new, old, Direction.FORWARD) == {"TYPE_MISMATCH"}

    deep_call(walks)
    with pytest.raises(InvalidSchemaError, match="types nest more than"):
        avro(top(f"R{deepest + 1}"), resolved("int", deepest + 2))


def test_a_recursive_type_counts_once() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "next", "type": ["null", "Node"], "default": None}],
    }
    schema = chain(kinds_of("optional records", MAX_NESTING_DEPTH - 2), leaf=node)
    parsed = avro(schema)
    assert parsed.compatibility_errors(parsed, Direction.BACKWARD) == []


# --------------------------------------------------------------------------------------
# Avro: JSON nesting of defaults and properties


def deep_lists(levels: int) -> Json:
    value: Json = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_json_nesting_at_the_limit_is_valid_and_one_more_is_not() -> None:
    # The record is level 1, so the property may hold MAX_JSON_DEPTH - 1 levels.
    def record(levels: int) -> Json:
        return {"type": "record", "name": "R", "fields": [], "x-deep": deep_lists(levels)}

    parsed = deep_call(lambda: avro(record(MAX_JSON_DEPTH - 1)))
    assert deep_call(lambda: parsed.compatibility_errors(parsed, Direction.FORWARD)) == []
    with pytest.raises(InvalidSchemaError, match=f"more than {MAX_JSON_DEPTH} levels"):
        avro(record(MAX_JSON_DEPTH))


@pytest.mark.parametrize("extra", [0, 1])
def test_deep_default_of_a_recursive_type_at_the_json_limit(extra: int) -> None:
    # _default_fits follows the value as deep as it goes: two calls per level here.
    # Top (1), its fields (2) and field b (3) hold the default's dicts.
    value: Json = None
    for _ in range(MAX_JSON_DEPTH - 3 + extra):
        value = {"next": value}
    node = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "next", "type": ["null", "Node"], "default": None}],
    }
    schema = {
        "type": "record",
        "name": "Top",
        "fields": [{"name": "a", "type": node}, {"name": "b", "type": "Node", "default": value}],
    }
    if extra:
        with pytest.raises(InvalidSchemaError, match=f"more than {MAX_JSON_DEPTH} levels"):
            avro(schema)
        return
    parsed = deep_call(lambda: avro(schema))
    assert deep_call(lambda: parsed.compatibility_errors(parsed, Direction.BACKWARD)) == []


def test_integers_too_long_for_python_are_invalid_json() -> None:
    with pytest.raises(InvalidSchemaError, match="not valid JSON"):
        parse_avro('{"type": "int", "x": ' + "9" * 5000 + "}")


@pytest.mark.parametrize("pattern", ["records", "optional records"])
def test_compatibility_of_cycles_that_never_line_up_is_bounded(pattern: str) -> None:
    # Reader: a cycle of 31 records, writer: 32. Their pairs repeat only after
    # 31 x 32 steps; the walk stops at its bound instead of overflowing the stack.
    def cycle(length: int, prefix: str) -> Json:
        kinds = kinds_of(pattern, length * len(PATTERNS[pattern]))
        return chain(kinds, leaf=f"{prefix}0", prefix=prefix)

    reader, writer = avro(cycle(31, "A")), avro(cycle(32, "B"))
    errors = deep_call(lambda: reader.compatibility_errors(writer, Direction.BACKWARD))
    # Through unions the bound shows as a missing branch (no branch could be proved).
    expected = "NESTING_TOO_DEEP" if pattern == "records" else "MISSING_UNION_BRANCH"
    assert expected in {e.type for e in errors}


def test_check_json_document_is_iterative() -> None:
    value = deep_lists(sys.getrecursionlimit() * 5)
    with pytest.raises(InvalidSchemaError, match="nests arrays and objects"):
        check_json_document(value)


# --------------------------------------------------------------------------------------
# Lone surrogates


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "record", "name": "R", "doc": "\\ud800", "fields": []}',
        '{"type": "record", "name": "X\\udc00", "fields": []}',
        '{"type": "enum", "name": "E", "symbols": ["A\\udbff"]}',
        '{"type": "record", "name": "R", "fields": '
        '[{"name": "f", "type": "string", "default": "\\udfff"}]}',
        '{"type": "string", "\\ud800": 1}',
        '{"type": "string", "x": ["\\ude00 after a low half"]}',
        '"\\ud83d"',
        '{"type": "string", "doc": "\ud800 raw"}',
    ],
)
def test_avro_lone_surrogates_anywhere_are_invalid(text: str) -> None:
    with pytest.raises(InvalidSchemaError, match="lone UTF-16 surrogate") as caught:
        parse_avro(text)
    assert_encodable(caught.value)
    assert "\\u" in caught.value.message  # shown escaped, not raw


def test_avro_surrogate_pairs_are_valid_text() -> None:
    parsed = parse_avro('{"type": "record", "name": "R", "doc": "\\ud83d\\ude00", "fields": []}')
    assert json.loads(parsed.canonical)["doc"] == "\U0001f600"
    parsed.canonical.encode("utf-8")


def test_avro_surrogate_in_a_referenced_schema_is_named() -> None:
    with pytest.raises(InvalidSchemaError, match="referenced schema 'ref'") as caught:
        parse_avro('"R"', (), {"ref": '{"type":"record","name":"R","doc":"\\udc00","fields":[]}'})
    assert_encodable(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        'syntax = "proto3";\nmessage A { int32 a = 1; }\n// \ud800\n',
        'syntax = "proto3";\noption java_package = "\\ud800";\nmessage A { int32 a = 1; }\n',
        'syntax = "proto2";\nmessage A { optional string a = 1 [default = "\\udc00"]; }\n',
        'syntax = "proto2";\nmessage A { optional string a = 1 [default = "\\xff"]; }\n',
    ],
)
def test_protobuf_text_that_is_not_unicode_is_invalid(text: str) -> None:
    with pytest.raises(InvalidSchemaError) as caught:
        parse_protobuf(text)
    assert_encodable(caught.value)


# --------------------------------------------------------------------------------------
# Protobuf


def nested_messages(levels: int, leaf: str = "int32") -> str:
    lines = ['syntax = "proto3";']
    lines += [
        f"message M{i} {{ {leaf if i == levels - 1 else 'int32'} v = 1;" for i in range(levels)
    ]
    return "\n".join(lines) + "}" * levels + "\n"


def test_protobuf_nested_messages_at_protoc_limit() -> None:
    # protoc refuses messages nested 32 deep; every walk works at 31.
    def walks() -> None:
        old, new = (
            parse_protobuf(nested_messages(31)),
            parse_protobuf(nested_messages(31, "string")),
        )
        assert isinstance(new, ProtobufSchema)
        assert new.normalized().text == new.canonical or new.normalized().text
        assert new.render("serialized")
        kinds = error_types(new, old, Direction.BACKWARD)
        assert kinds == {"FIELD_SCALAR_KIND_CHANGED"}
        path = new.compatibility_errors(old, Direction.BACKWARD)[0].location
        assert path.count("/") == 31 + 1  # '#/M0/M1/.../M30/1'

    deep_call(walks)
    with pytest.raises(InvalidSchemaError, match="maximum recursion limit for nested messages"):
        parse_protobuf(nested_messages(32))


OPTION_HEADER = """syntax = "proto2";
import "google/protobuf/descriptor.proto";
message O { optional O o = 1; optional int32 v = 2; }
extend google.protobuf.MessageOptions { optional O opt = 50000; }
"""


def option_literal(levels: int) -> str:
    return (
        OPTION_HEADER
        + "message A { option (opt) = "
        + "{ o " * (levels - 1)
        + "{ v: 1 }"
        + " }" * (levels - 1)
        + "; }\n"
    )


def test_protobuf_block_nesting_at_the_limit_is_valid_and_one_more_is_not() -> None:
    # message A { is the first block, so the option literal may nest one level less.
    deep_call(lambda: parse_protobuf(option_literal(MAX_NESTING_DEPTH - 1)))
    with pytest.raises(InvalidSchemaError, match=f"more than {MAX_NESTING_DEPTH} levels"):
        parse_protobuf(option_literal(MAX_NESTING_DEPTH))


@pytest.mark.parametrize("levels", [5_000, 100_000])
def test_protobuf_option_literals_that_crashed_protoc_are_invalid(levels: int) -> None:
    # At about 5,000 levels protoc overflowed its stack and took the process with it.
    with pytest.raises(InvalidSchemaError, match="nests blocks"):
        parse_protobuf(option_literal(levels))


def test_proto_nesting_skips_strings_and_comments() -> None:
    check_proto_nesting(
        'option x = "' + "{" * 1000 + '"; // ' + "{" * 1000 + "\n/* " + "[" * 1000 + " */"
    )
    with pytest.raises(InvalidSchemaError):
        check_proto_nesting("}" * 100 + "{" * (MAX_NESTING_DEPTH + 1))


def chain_file(length: int, leaf: str) -> str:
    lines = ['syntax = "proto3";']
    lines += [f"message M{i} {{ M{i + 1} next = 1; }}" for i in range(length - 1)]
    lines.append(f"message M{length - 1} {{ {leaf} v = 1; }}")
    return "\n".join(lines) + "\n"


TOP = 'syntax = "proto3";\nimport "chain.proto";\nmessage Top { M0 m = 1; }\n'


def top_over_chain(length: int, leaf: str, version: int) -> ProtobufSchema:
    ref = SchemaReference("chain.proto", "chain", version)
    return parse_protobuf(TOP, (ref,), {"chain.proto": chain_file(length, leaf)})


def test_protobuf_field_chains_through_references_compare_to_the_limit() -> None:
    # Top is level 1 and each M one more: the chain may be MAX_NESTING_DEPTH - 1 long.
    length = MAX_NESTING_DEPTH - 1
    old, new = top_over_chain(length, "int32", 1), top_over_chain(length, "string", 2)
    errors = deep_call(lambda: new.compatibility_errors(old, Direction.BACKWARD))
    assert {e.type for e in errors} == {"FIELD_SCALAR_KIND_CHANGED", "FIELD_NAMED_TYPE_CHANGED"}


def test_protobuf_field_chains_beyond_the_limit_are_reported_not_overflowed() -> None:
    old, new = top_over_chain(400, "int32", 1), top_over_chain(400, "int32", 2)
    errors = new.compatibility_errors(old, Direction.BACKWARD)
    assert "NESTING_TOO_DEEP" in {e.type for e in errors}
    assert all(e.message.encode() for e in errors)


# --------------------------------------------------------------------------------------
# Width: linear, not quadratic


@pytest.mark.parametrize("kind", ["fixed", "record", "enum"])
def test_compatibility_of_wide_unions_is_linear(kind: str) -> None:
    # Each writer branch used to be tried against every reader branch: 3,000 fixed
    # types took 90 s, a worker thread held for as long.
    def branch(prefix: str, i: int) -> Json:
        if kind == "fixed":
            return {"type": "fixed", "name": f"{prefix}{i}", "size": i}
        if kind == "enum":
            return {"type": "enum", "name": f"{prefix}{i}", "symbols": ["A"]}
        return {"type": "record", "name": f"{prefix}{i}", "fields": [{"name": "a", "type": "int"}]}

    old = avro(["null", *(branch("T", i) for i in range(3000))])
    new = avro(["null", *(branch("T", i) for i in range(3000)), branch("U", 0)])
    other = avro(["null", *(branch("U", i) for i in range(3000))])
    started = time.monotonic()
    assert new.compatibility_errors(old, Direction.BACKWARD) == []
    assert error_types(new, old, Direction.FORWARD) == {"MISSING_UNION_BRANCH"}
    assert len(other.compatibility_errors(old, Direction.BACKWARD)) == 3000
    assert time.monotonic() - started < 5


def test_an_alias_still_finds_its_union_branch() -> None:
    old = avro(["null", {"type": "fixed", "name": "ns.Old", "size": 4}])
    new = avro(["null", {"type": "fixed", "name": "ns.New", "size": 4, "aliases": ["Old"]}])
    assert new.compatibility_errors(old, Direction.BACKWARD) == []
    assert error_types(new, old, Direction.FORWARD) == {"MISSING_UNION_BRANCH"}
