"""JSON Schema format: drafts, meta-schema validation, identity text, normalize, ``$ref``.

Reference names and ``$id`` resolution follow Confluent's ``JsonSchemaTest`` (a root with
``$id: https://acme.com/referrer.json`` using ``ref.json#/definitions/ExternalType``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from registry_service.formats import (
    InvalidSchemaError,
    JsonDocument,
    SchemaReference,
    SchemaType,
    parse_schema,
)
from registry_service.formats.json_schema import JsonSchema, parse_json_schema
from registry_service.formats.limits import MAX_NESTING_DEPTH

DRAFTS = {
    "http://json-schema.org/draft-04/schema#": "draft 4",
    "https://json-schema.org/draft-04/schema": "draft 4",
    "http://json-schema.org/schema#": "draft 4",
    "http://json-schema.org/draft-06/schema#": "draft 6",
    "http://json-schema.org/draft-07/schema#": "draft 7",
    "https://json-schema.org/draft-07/schema": "draft 7",
    "https://json-schema.org/draft/2019-09/schema": "draft 2019-09",
    "https://json-schema.org/draft/2020-12/schema": "draft 2020-12",
    "http://json-schema.org/draft/2020-12/schema#": "draft 2020-12",
}

REF = json.dumps(
    {
        "type": "object",
        "additionalProperties": False,
        "definitions": {
            "ExternalType": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "additionalProperties": False,
            }
        },
    }
)
MAIN = json.dumps(
    {
        "$id": "https://acme.com/referrer.json",
        "type": "object",
        "properties": {"Ref": {"$ref": "ref.json#/definitions/ExternalType"}},
        "additionalProperties": False,
    }
)
REF_TO_REF = SchemaReference("ref.json", "ref", 1)


def js(schema: Any, *refs: SchemaReference, resolved: dict[str, str] | None = None) -> JsonSchema:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return parse_json_schema(text, refs, resolved or {})


def invalid(schema: Any, *refs: SchemaReference, resolved: dict[str, str] | None = None) -> str:
    with pytest.raises(InvalidSchemaError) as caught:
        js(schema, *refs, resolved=resolved)
    return caught.value.message


@pytest.mark.parametrize(("url", "draft"), DRAFTS.items())
def test_schema_keyword_chooses_the_draft(url: str, draft: str) -> None:
    schema = js({"$schema": url, "type": "object", "properties": {"a": {"type": "string"}}})
    assert schema.draft == draft


@pytest.mark.parametrize(
    "schema",
    [{"type": "object"}, {"$schema": "http://example.com/custom-meta"}, True, False],
)
def test_without_a_known_schema_keyword_the_draft_is_7(schema: Any) -> None:
    # Confluent's JsonSchema: SpecificationVersion.DRAFT_7 unless $schema names another.
    assert js(schema).draft == "draft 7"


def test_each_draft_applies_its_own_meta_schema() -> None:
    # exclusiveMinimum is a boolean in draft 4 and a number from draft 6 on.
    d4 = "http://json-schema.org/draft-04/schema#"
    d7 = "http://json-schema.org/draft-07/schema#"
    js({"$schema": d4, "minimum": 1, "exclusiveMinimum": True})
    assert "not a valid draft 4 JSON Schema" in invalid({"$schema": d4, "exclusiveMinimum": 1})
    js({"$schema": d7, "exclusiveMinimum": 1})
    assert "not a valid draft 7 JSON Schema" in invalid({"$schema": d7, "exclusiveMinimum": True})
    # draft 4 has no boolean schemas
    message = invalid({"$schema": d4, "properties": {"a": True}})
    assert "draft 4" in message and "#/properties/a" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "schema is not valid JSON: Expecting property name"),
        ('{"type": NaN}', "NaN is not a JSON number"),
        ('{"maximum": 1e400}', "number 1e400 is out of range"),
        ("[]", "must be an object or a boolean at the root, found array"),
        ('"string"', "must be an object or a boolean at the root, found string"),
        ("12", "must be an object or a boolean at the root, found number"),
        ("null", "must be an object or a boolean at the root, found null"),
        ('{"type": "strin"}', "'strin' is not valid under any of the given schemas (at #/type)"),
        ('{"properties": {"a": {"minLength": -1}}}', "(at #/properties/a/minLength)"),
        ('{"required": "a"}', "'a' is not of type 'array' (at #/required)"),
        ('{"pattern": "(["}', "'([' is not a 'regex' (at #/pattern)"),
        (
            '{"properties": {"a": {"$ref": "#/definitions/missing"}}}',
            "$ref '#/definitions/missing' at #/properties/a cannot be resolved: "
            "the document it names has nothing at",
        ),
        (
            '{"properties": {"a": {"$ref": "other.json"}}}',
            "$ref 'other.json' at #/properties/a cannot be resolved: no schema is known",
        ),
        ('{"items": {"$ref": "#anchor"}}', "has no anchor 'anchor'"),
        ('{"$ref": "http://example.com/remote.json"}', "no schema is known under that URI"),
    ],
)
def test_invalid_schemas_say_why(text: str, expected: str) -> None:
    assert expected in invalid(text)


def test_data_keywords_are_not_walked_for_refs() -> None:
    # {"$ref": ...} inside enum/const/default is data, not a subschema.
    schema = {"enum": [{"$ref": "nowhere"}], "default": {"$ref": "nowhere"}}
    assert js(schema).canonical == json.dumps(schema, separators=(",", ":"))


def test_refs_resolve_into_definitions_defs_anchors_and_meta_schemas() -> None:
    js({"definitions": {"a": {"type": "string"}}, "properties": {"x": {"$ref": "#/definitions/a"}}})
    js(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": {"v": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/v"}]}},
            "properties": {"data": {"$ref": "#/$defs/v"}, "self": {"$ref": "#"}},
        }
    )
    js({"definitions": {"a": {"$id": "#here", "type": "string"}}, "items": {"$ref": "#here"}})
    js({"properties": {"x": {"$ref": "https://json-schema.org/draft-07/schema#"}}})
    js({"properties": {"x": {"$ref": "http://json-schema.org/draft-04/schema#"}}})


def test_nested_id_moves_the_base_uri() -> None:
    schema = {
        "$id": "https://acme.com/root.json",
        "properties": {
            "a": {
                "$id": "https://other.com/inner.json",
                "definitions": {"x": {"type": "string"}},
                "properties": {"b": {"$ref": "#/definitions/x"}},
            }
        },
    }
    js(schema)
    schema["definitions"] = {}
    schema["properties"]["a"]["properties"]["b"]["$ref"] = "root.json#/definitions/x"  # type: ignore[index]
    assert "no schema is known" in invalid(schema)


def test_nesting_beyond_the_limit_is_refused_without_recursion_errors() -> None:
    def nested(levels: int) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        for _ in range(levels):
            schema = {"allOf": [schema]}
        return {"$schema": "https://json-schema.org/draft/2019-09/schema", **schema}

    assert js(nested(MAX_NESTING_DEPTH)).draft == "draft 2019-09"
    message = invalid(nested(MAX_NESTING_DEPTH + 1))
    assert f"nests subschemas more than {MAX_NESTING_DEPTH} levels deep" in message
    deep_json = '{"enum": [' + "[" * 400 + "]" * 400 + "]}"
    assert "nests arrays and objects" in invalid(deep_json)


def test_lone_surrogates_are_refused() -> None:
    assert "lone UTF-16 surrogate" in invalid('{"title": "\\ud800"}')


def test_canonical_is_compact_json_in_written_key_order() -> None:
    spaced = '{\n  "type" : "object",\n  "properties" : { "b" : {"type":"string"}, "a" : {} }\n}'
    compact = '{"type":"object","properties":{"b":{"type":"string"},"a":{}}}'
    schema = js(spaced)
    assert schema.canonical == schema.text == compact
    assert js(compact).fingerprint == schema.fingerprint
    # Key order is part of the identity, as in Confluent (Jackson keeps it).
    reordered = js('{"properties":{"b":{"type":"string"},"a":{}},"type":"object"}')
    assert reordered.fingerprint != schema.fingerprint
    assert js('{"title": "caf\\u00e9"}').canonical == '{"title":"café"}'
    assert schema.render() == schema.render("serialized") == compact


def test_normalized_sorts_every_object_and_keeps_arrays() -> None:
    text = '{"type":"object","required":["b","a"],"properties":{"b":{"type":"string"},"a":{}}}'
    normalized = js(text).normalized()
    expected = '{"properties":{"a":{},"b":{"type":"string"}},"required":["b","a"],"type":"object"}'
    assert normalized.text == normalized.canonical == expected
    other = js('{"properties":{"a":{},"b":{"type":"string"}},"type":"object","required":["b","a"]}')
    assert other.normalized().fingerprint == normalized.fingerprint
    assert js(expected).fingerprint == normalized.fingerprint  # a sorted text is its own form


def test_name_is_the_root_title() -> None:
    assert js({"title": "Order", "type": "object"}).name == "Order"
    assert js({"type": "object"}).name is None
    assert js(True).name is None


def test_parse_schema_dispatches_json_and_exposes_the_document() -> None:
    schema = parse_schema(
        SchemaType.JSON, '{"definitions":{"a":{"type":"integer"}},"$ref":"#/definitions/a"}'
    )
    assert isinstance(schema, JsonSchema)
    assert schema.schema_type is SchemaType.JSON
    document = schema.document
    assert isinstance(document, JsonDocument)
    assert document.resolver.lookup("#/definitions/a").contents == {"type": "integer"}


def test_reference_name_resolves_against_the_root_id() -> None:
    schema = js(MAIN, REF_TO_REF, resolved={"ref.json": REF})
    assert schema.references == (REF_TO_REF,)
    found = schema.document.resolver.lookup("ref.json#/definitions/ExternalType")
    assert found.contents["properties"] == {"name": {"type": "string"}}
    # Without $id, the name itself is the URI.
    without_id = json.loads(MAIN)
    del without_id["$id"]
    js(without_id, REF_TO_REF, resolved={"ref.json": REF})


def test_reference_with_its_own_id_is_found_by_that_id_too() -> None:
    ref = json.dumps({"$id": "https://schemas.example.com/address.json", "type": "string"})
    main = {
        "properties": {
            "a": {"$ref": "address.json"},
            "b": {"$ref": "https://schemas.example.com/address.json"},
        }
    }
    js(main, SchemaReference("address.json", "addr", 1), resolved={"address.json": ref})


def test_reference_of_a_reference_resolves_and_a_missing_one_is_named() -> None:
    leaf = '{"definitions":{"B":{"type":"integer"}}}'
    middle = '{"definitions":{"A":{"$ref":"b.json#/definitions/B"}}}'
    main = {"properties": {"x": {"$ref": "a.json#/definitions/A"}}}
    ref_a = SchemaReference("a.json", "a", 1)
    schema = js(main, ref_a, resolved={"b.json": leaf, "a.json": middle})
    resolved = schema.document.resolver.lookup("a.json#/definitions/A")
    assert resolved.resolver.lookup("b.json#/definitions/B").contents == {"type": "integer"}

    message = invalid(main, ref_a, resolved={"a.json": middle})
    assert "in the referenced schema 'a.json', $ref 'b.json#/definitions/B'" in message
    assert "references: 'a.json'" in message


def test_missing_reference_text_and_invalid_referenced_schema() -> None:
    message = invalid(MAIN, REF_TO_REF, resolved={})
    assert "reference 'ref.json' (subject 'ref', version 1) could not be resolved" in message
    message = invalid(MAIN, REF_TO_REF, resolved={"ref.json": '{"type": 3}'})
    assert "the referenced schema 'ref.json' is not a valid draft 7 JSON Schema" in message
    assert "the document it names has nothing at" in invalid(
        MAIN, REF_TO_REF, resolved={"ref.json": '{"definitions": {}}'}
    )
