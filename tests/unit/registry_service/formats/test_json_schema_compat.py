"""JSON Schema compatibility rules against Confluent's own diff examples and tests.

Every entry of Confluent's four example files (``data/json_schema_diff/``, copied from
schema-registry at 794611bd) is run: the set of ``TYPE #/path`` changes we report must equal
Confluent's (their lists follow Java HashSet order, so sets are compared), and the verdict
under STRICT and LENIENT must match. SchemaDiffTest's and CircularRefSchemaDiffTest's own
cases are ported below the examples.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import referencing
import referencing.jsonschema

from registry_service.formats.base import Direction, Incompatibility, InvalidSchemaError
from registry_service.formats.json_document import JsonDocument
from registry_service.formats.json_schema_compat import (
    COMPATIBLE_CHANGES_LENIENT,
    COMPATIBLE_CHANGES_STRICT,
    CompatibilityPolicy,
    DifferenceType,
    JsonIncompatibility,
    compatibility_errors,
    differences,
    incompatibilities,
)

DATA = Path(__file__).parent / "data" / "json_schema_diff"
EXAMPLE_FILES = (
    "diff-schema-examples.json",
    "diff-schema-examples-2020-12.json",
    "diff-combined-schema-examples.json",
    "diff-combined-schema-examples-2020-12.json",
)
ROOT_URI = "urn:regcast:test-root"


def load_examples(name: str) -> list[dict[str, Any]]:
    """Read one example file; Jackson-style trailing commas are dropped first."""
    text = (DATA / name).read_text()
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    examples: list[dict[str, Any]] = json.loads(text)
    return examples


def document(contents: Any) -> JsonDocument:
    """A JsonDocument as the JSON format will build one: the root registered, then resolved."""
    spec = referencing.jsonschema.specification_with(
        contents.get("$schema", "") if isinstance(contents, dict) else "",
        default=referencing.jsonschema.DRAFT7,
    )
    resource = spec.create_resource(contents)
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(ROOT_URI, resource)
    return JsonDocument(contents, registry.resolver(base_uri=ROOT_URI))


def all_examples() -> list[Any]:
    cases = []
    for name in EXAMPLE_FILES:
        for index, example in enumerate(load_examples(name)):
            cases.append(pytest.param(example, id=f"{name.removesuffix('.json')}[{index}]"))
    return cases


@pytest.mark.parametrize("example", all_examples())
def test_confluent_example(example: dict[str, Any]) -> None:
    original = document(example["original_schema"])
    update = document(example["update_schema"])
    found = differences(original, update)
    assert {str(d) for d in found} == set(example["changes"]), example["description"]
    strict_ok = all(d.type in COMPATIBLE_CHANGES_STRICT for d in found)
    assert strict_ok == example["compatible"], example["description"]
    lenient = differences(original, update, CompatibilityPolicy.LENIENT)
    lenient_ok = all(d.type in COMPATIBLE_CHANGES_LENIENT for d in lenient)
    expected_lenient = example.get("compatible_lenient", example["compatible"])
    assert lenient_ok == expected_lenient, example["description"]


def test_every_example_file_is_present_and_not_empty() -> None:
    counts = {name: len(load_examples(name)) for name in EXAMPLE_FILES}
    assert counts == {
        "diff-schema-examples.json": 104,
        "diff-schema-examples-2020-12.json": len(load_examples(EXAMPLE_FILES[1])),
        "diff-combined-schema-examples.json": 28,
        "diff-combined-schema-examples-2020-12.json": 18,
    }
    assert all(count > 0 for count in counts.values())


# -- SchemaDiffTest ---------------------------------------------------------------------------


def diff_types(original: Any, update: Any) -> list[DifferenceType]:
    return [d.type for d in differences(document(original), document(update))]


def test_multiple_of_with_fractional_value() -> None:
    found = diff_types({"type": "number", "multipleOf": 0.5}, {"type": "number", "multipleOf": 10})
    assert found == [DifferenceType.MULTIPLE_OF_EXPANDED]


def test_multiple_of_equal_value_with_other_scale_is_no_change() -> None:
    assert (
        diff_types({"type": "number", "multipleOf": 0.5}, {"type": "number", "multipleOf": 0.50})
        == []
    )
    assert (
        diff_types({"type": "number", "multipleOf": 2}, {"type": "number", "multipleOf": 2.0}) == []
    )


def test_recursive_schema_against_itself_has_no_difference() -> None:
    recursive = {
        "definitions": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/definitions/node"}},
                },
            }
        },
        "$ref": "#/definitions/node",
    }
    assert diff_types(recursive, json.loads(json.dumps(recursive))) == []


TRADE_TYPES = ("Asset", "Basket", "Swap", "Bond", "Option", "Future", "Forward", "Loan",
               "Repo", "Equity", "Index", "CommodityLeg")  # fmt: skip


def inline_union(types: tuple[str, ...]) -> dict[str, Any]:
    return {"oneOf": [{"$ref": f"#/definitions/{t}"} for t in types]}


def recursive_trade_schema() -> dict[str, Any]:
    definitions = {
        t: {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "underlying": inline_union(TRADE_TYPES),
                "referenceProduct": inline_union(TRADE_TYPES),
            },
        }
        for t in TRADE_TYPES
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Trade",
        "type": "object",
        "additionalProperties": True,
        "definitions": definitions,
        "properties": {"tradeId": {"type": "string"}, "product": inline_union(TRADE_TYPES)},
    }


def test_recursive_one_of_union_terminates() -> None:
    started = time.monotonic()
    assert diff_types(recursive_trade_schema(), recursive_trade_schema()) == []
    assert time.monotonic() - started < 10


def test_recursive_one_of_union_detects_incompatible_change() -> None:
    changed = recursive_trade_schema()
    changed["definitions"]["Asset"]["properties"]["id"]["type"] = "number"
    found = diff_types(recursive_trade_schema(), changed)
    assert found
    assert any(t not in COMPATIBLE_CHANGES_STRICT for t in found)


def memo_masking_schema(t0_id: str, t1_id: str) -> dict[str, Any]:
    def recursive_object(id_type: str, ref_target: str) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": True,
            "properties": {
                "id": {"type": id_type},
                "ref": {"oneOf": [{"$ref": f"#/definitions/{ref_target}"}]},
            },
        }

    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "definitions": {
            "T0": recursive_object(t0_id, "T2"),
            "T1": recursive_object(t1_id, "T2"),
            "T2": recursive_object("integer", "T0"),
        },
        "properties": {
            "root": {"oneOf": [{"$ref": "#/definitions/T0"}, {"$ref": "#/definitions/T1"}]}
        },
    }


def test_recursive_one_of_memoization_does_not_mask_incompatibility() -> None:
    found = diff_types(
        memo_masking_schema("integer", "boolean"), memo_masking_schema("boolean", "number")
    )
    assert any(t not in COMPATIBLE_CHANGES_STRICT for t in found)


def test_empty_schema_to_empty_object_schema_is_a_change() -> None:
    assert diff_types({}, {"properties": {}}) == [DifferenceType.TYPE_CHANGED]


def test_connect_bytes_string_to_number_is_no_change() -> None:
    common = {
        "title": "org.apache.kafka.connect.data.Decimal",
        "connect.version": 1,
        "connect.type": "bytes",
        "connect.parameters": {"scale": "2"},
    }
    assert diff_types({"type": "string", **common}, {"type": "number", **common}) == []


# -- CircularRefSchemaDiffTest ----------------------------------------------------------------


def circular_schema(branches: int, circular_props: int) -> dict[str, Any]:
    defs: dict[str, Any] = {
        "SimpleId": {
            "type": "object",
            "properties": {"id": {"type": "string"}},
            "required": ["id"],
        },
        "Base": {"type": "object", "properties": {"name": {"type": "string"}}},
        "ProductOrId": {"oneOf": [{"$ref": "#/$defs/SimpleId"}, {"$ref": "#/$defs/Product"}]},
    }
    for i in range(branches):
        props: dict[str, Any] = {
            f"ref{p}": {"$ref": "#/$defs/ProductOrId"} for p in range(circular_props)
        }
        props["tag"] = {"type": "string", "const": f"type{i}"}
        defs[f"Type{i}"] = {
            "$ref": "#/$defs/Base",
            "type": "object",
            "properties": props,
            "required": ["ref0", "tag"],
        }
    defs["Product"] = {"oneOf": [{"$ref": f"#/$defs/Type{i}"} for i in range(branches)]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": defs,
        "$ref": "#/$defs/Product",
    }


@pytest.mark.parametrize(("branches", "props"), [(2, 1), (12, 5)])
def test_circular_ref_comparison_terminates(branches: int, props: int) -> None:
    schema = circular_schema(branches, props)
    started = time.monotonic()
    assert diff_types(schema, json.loads(json.dumps(schema))) == []
    assert time.monotonic() - started < 20


# -- messages, entry points, errors -----------------------------------------------------------


def test_backward_message_names_new_as_reader() -> None:
    previous = document({"type": "object", "properties": {"a": {"type": "string"}}})
    new = document({"type": "object", "properties": {"a": {"type": "integer"}}})
    errors = compatibility_errors(previous, new, Direction.BACKWARD)
    assert [e.describe() for e in errors] == [
        '{errorType:"TYPE_CHANGED", description:"A type at path \'#/properties/a\' is '
        "different between the new schema and the old schema'}"
    ]
    assert isinstance(errors[0], JsonIncompatibility)
    assert isinstance(errors[0], Incompatibility)
    assert errors[0].location == "#/properties/a"


def test_forward_swaps_roles_and_sides() -> None:
    previous = document({"type": "string", "maxLength": 10})
    new = document({"type": "string", "maxLength": 20})
    assert compatibility_errors(previous, new, Direction.BACKWARD) == []
    errors = compatibility_errors(previous, new, Direction.FORWARD)
    assert [(e.type, e.location) for e in errors] == [("MAX_LENGTH_DECREASED", "#/maxLength")]
    assert errors[0].message == (
        "The value at path '#/maxLength' in the old schema is less than its value in the new schema"
    )


def test_lenient_accepts_optional_property_added_to_open_model() -> None:
    original = document({"type": "object", "properties": {}})
    update = document({"type": "object", "properties": {"b": {"type": "string"}}})
    assert [e.type for e in incompatibilities(original, update)] == [
        "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
    ]
    assert incompatibilities(original, update, policy=CompatibilityPolicy.LENIENT) == []


def test_draft4_boolean_exclusive_maximum_is_ignored() -> None:
    draft4 = "http://json-schema.org/draft-04/schema#"
    original = {"$schema": draft4, "type": "number", "maximum": 10}
    update = {"$schema": draft4, "type": "number", "maximum": 10, "exclusiveMaximum": True}
    assert diff_types(original, update) == []
    assert diff_types(
        {"type": "number", "exclusiveMaximum": 10}, {"type": "number", "exclusiveMaximum": 5}
    ) == [DifferenceType.EXCLUSIVE_MAXIMUM_DECREASED]


def test_json_true_is_not_the_number_one_in_enums() -> None:
    assert diff_types({"enum": [1, "a"]}, {"enum": [True, "a"]}) == [
        DifferenceType.ENUM_ARRAY_CHANGED
    ]


def test_unresolvable_ref_is_a_typed_error() -> None:
    with pytest.raises(InvalidSchemaError, match="Unresolved \\$ref '#/definitions/missing'"):
        differences(document({"$ref": "#/definitions/missing"}), document({}))


def test_unknown_type_is_a_typed_error() -> None:
    with pytest.raises(InvalidSchemaError, match="unknown type"):
        differences(document({"type": "strin"}), document({}))


# -- the documentation's table ---------------------------------------------------------------

DOC = Path(__file__).parents[4] / "docs" / "registry" / "json-schema-compatibility.md"
ROW = re.compile(r"^\| `(\w+)` \| (yes|no) \| (yes|no) \| (.+?) \| (.+?) \| (.+?) \|$")


def doc_rows() -> list[tuple[str, bool, bool, str, str, str]]:
    rows = []
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            name, strict, lenient, original, update, path = match.groups()
            rows.append((name, strict == "yes", lenient == "yes", original, update, path))
    return rows


def test_doc_lists_every_difference_type_once_with_its_compatibility() -> None:
    rows = doc_rows()
    assert sorted(r[0] for r in rows) == sorted(t.value for t in DifferenceType)
    for name, strict, lenient, *_ in rows:
        assert (DifferenceType(name) in COMPATIBLE_CHANGES_STRICT) is strict, name
        assert (DifferenceType(name) in COMPATIBLE_CHANGES_LENIENT) is lenient, name


@pytest.mark.parametrize("row", [pytest.param(r, id=r[0]) for r in doc_rows() if r[3] != "—"])
def test_doc_example_reports_its_type(row: tuple[str, bool, bool, str, str, str]) -> None:
    name, _, _, original, update, path = row
    found = differences(
        document(json.loads(original.strip("`"))), document(json.loads(update.strip("`")))
    )
    assert f"{name} {path.strip('`')}" in {str(d) for d in found}


# -- bad or extreme input: a typed error or a plain answer, never a crash ---------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": 5, "required": "a", "dependencies": [1]},
        {"type": "object", "patternProperties": {"(": {"type": "string"}}, "properties": {}},
        {"type": "array", "items": 5, "additionalItems": "x", "maxItems": "3"},
        {"enum": "not-a-list", "allOf": {"type": "string"}, "not": 7},
        {"type": "number", "maximum": True, "multipleOf": float("nan")},
        {"type": "string", "pattern": 5, "maxLength": None},
    ],
    ids=["object", "bad-regex", "array", "combined", "number", "string"],
)
def test_malformed_keywords_are_ignored_not_fatal(schema: dict[str, Any]) -> None:
    sane = {"type": schema.get("type", "string")}
    assert isinstance(differences(document(schema), document(sane)), list)
    assert isinstance(differences(document(sane), document(schema)), list)


def test_multiple_of_far_apart_magnitudes() -> None:
    found = diff_types(
        {"type": "number", "multipleOf": 1e-300}, {"type": "number", "multipleOf": 1e300}
    )
    assert found == [DifferenceType.MULTIPLE_OF_EXPANDED]


def test_remote_ref_is_a_typed_error() -> None:
    with pytest.raises(InvalidSchemaError, match="Unresolved"):
        differences(document({"$ref": "https://example.invalid/s.json"}), document({}))


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def test_too_deep_schemas_are_a_typed_error_even_off_the_main_thread() -> None:
    import threading

    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            differences(document(nested(4000)), document(nested(4000)))
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert len(outcome) == 1
    assert isinstance(outcome[0], InvalidSchemaError)
    assert "nested too deeply" in str(outcome[0])


def test_moderately_deep_schemas_compare() -> None:
    assert diff_types(nested(300), nested(300)) == []
