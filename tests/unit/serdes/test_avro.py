"""Pure parts of serdes.avro: schema loading and naming the field that breaks evolution."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro._read_common import SchemaResolutionError

from serdes.avro import _confluent_text, _schema_text, explain_resolution, reads_alike
from serdes.errors import SchemaError


def record(name: str, *fields: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "record", "name": name, "fields": list(fields)}
    if namespace:
        schema["namespace"] = namespace
    return schema


V1 = record(
    "Order",
    {"name": "id", "type": "int"},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
    {
        "name": "lines",
        "type": {"type": "array", "items": record("Line", {"name": "q", "type": "int"})},
    },
    namespace="shop",
)


def resolve(writer: dict[str, Any], reader: dict[str, Any], value: dict[str, Any]) -> Any:
    buffer = io.BytesIO()
    schemaless_writer(buffer, parse_schema(writer), value)
    buffer.seek(0)
    return schemaless_reader(buffer, parse_schema(writer), parse_schema(reader))


def test_compatible_changes_explain_nothing() -> None:
    v2 = json.loads(json.dumps(V1))
    v2["fields"][0]["type"] = "long"  # promotion
    v2["fields"].append({"name": "note", "type": ["null", "string"], "default": None})
    v2["namespace"] = "other"  # unqualified names match
    assert explain_resolution(parse_schema(V1), parse_schema(v2)) is None
    value = {"id": 1, "status": "PAID", "lines": [{"q": 2}]}
    assert resolve(V1, v2, value) == {**value, "note": None}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: s["fields"].append({"name": "currency", "type": "string"}),
            "field Order.currency: the reader has it without a default",
        ),
        (
            lambda s: s["fields"][0].update(type="string"),
            "field Order.id: writer type int cannot be read as string",
        ),
        (
            lambda s: s["fields"][1]["type"].update(symbols=["NEW"]),
            "field Order.status: enum shop.Status of the reader lacks writer symbols ['PAID']",
        ),
        (
            lambda s: s["fields"][2]["type"]["items"]["fields"][0].update(type="boolean"),
            r"field Order.lines[].q: writer type int cannot be read as boolean",
        ),
        (
            lambda s: s.update(name="Invoice"),
            "writer's record shop.Order does not match the reader's shop.Invoice",
        ),
    ],
)
def test_incompatible_changes_name_the_field(change: Any, expected: str) -> None:
    reader = json.loads(json.dumps(V1))
    change(reader)
    problem = explain_resolution(parse_schema(V1), parse_schema(reader))
    assert problem is not None
    assert expected in problem
    # and fastavro agrees that the data cannot be resolved
    with pytest.raises(SchemaResolutionError):
        resolve(V1, reader, {"id": 1, "status": "PAID", "lines": [{"q": 2}]})


def test_union_and_alias_rules() -> None:
    writer = record("R", {"name": "v", "type": ["null", "int"]})
    reader_ok = record("R", {"name": "v", "type": ["null", "long", "string"]})
    reader_bad = record("R", {"name": "v", "type": ["null", "string"]})
    assert explain_resolution(parse_schema(writer), parse_schema(reader_ok)) is None
    problem = explain_resolution(parse_schema(writer), parse_schema(reader_bad))
    assert problem is not None and "R.v" in problem and "int" in problem
    renamed = record("R", {"name": "value", "type": "int", "aliases": ["v"]})
    assert (
        explain_resolution(
            parse_schema(record("R", {"name": "v", "type": "int"})), parse_schema(renamed)
        )
        is None
    )


def test_schema_text_sources(tmp_path: Path) -> None:
    path = tmp_path / "order.avsc"
    path.write_text(json.dumps(V1) + "\n")
    assert json.loads(_schema_text(path)) == V1
    assert json.loads(_schema_text(str(path))) == V1
    assert _schema_text('  {"type": "string"} ') == '{"type": "string"}'
    with pytest.raises(SchemaError, match=r"cannot read Avro schema file"):
        _schema_text(tmp_path / "missing.avsc")
    with pytest.raises(SchemaError, match="neither Avro JSON nor"):
        _schema_text("not a schema")


def test_primitives_wrapped_like_confluent_kafka() -> None:
    assert _confluent_text('"string"') == '{"type":"string"}'
    assert _confluent_text('{"type":"long"}') == '{"type":"long"}'
    assert _confluent_text('["null","int"]') == '["null","int"]'


# -- reads_alike: when skipping fastavro's resolution cannot change a value -------------

LOGICAL_WRITER = record(
    "Event",
    {"name": "id", "type": "int"},
    {"name": "ratio", "type": "float"},
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
    {"name": "tod", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}},
    {
        "name": "price",
        "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
    },
    {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
    {"name": "other", "type": ["null", "Kind"]},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "scores", "type": {"type": "map", "values": "int"}},
    {"name": "child", "type": ["null", "Event"], "default": None},
    namespace="w",
)
LOGICAL_VALUE: dict[str, Any] = {
    "id": 7,
    "ratio": 0.1,
    "at": dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC),
    "local": dt.datetime(2024, 5, 6, 7, 8, 9, 123000),
    "tod": dt.time(1, 2, 3, 4000),
    "day": dt.date(2024, 5, 6),
    "ref": uuid.UUID(int=5),
    "price": Decimal("12.34"),
    "kind": "B",
    "other": "A",
    "tags": ["x"],
    "scores": {"a": 1},
    "child": None,
}


def changed(path: str, new_type: Any) -> dict[str, Any]:
    schema = json.loads(json.dumps(LOGICAL_WRITER))
    for f in schema["fields"]:
        if f["name"] == path:
            f["type"] = new_type
    return schema


ALIKE = {
    "identical": LOGICAL_WRITER,
    "other namespace": {**LOGICAL_WRITER, "namespace": "r"},
    "int to long": changed("id", "long"),
    "float to double": changed("ratio", "double"),
    "millis to micros": changed("at", {"type": "long", "logicalType": "timestamp-micros"}),
    "local millis to micros": changed(
        "local", {"type": "long", "logicalType": "local-timestamp-micros"}
    ),
    "time millis to micros": changed("tod", {"type": "long", "logicalType": "time-micros"}),
    "enum symbol added": changed(
        "kind", {"type": "enum", "name": "Kind", "symbols": ["A", "B", "C"]}
    ),
    "map of long": changed("scores", {"type": "map", "values": "long"}),
}
NOT_ALIKE = {
    "int to double": changed("id", "double"),
    "string to bytes": changed("tags", {"type": "array", "items": "bytes"}),
    "decimal scale": changed(
        "price", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3}
    ),
    "uuid dropped": changed("ref", "string"),
    "enum symbol missing": changed(
        "kind", {"type": "enum", "name": "Kind", "symbols": ["A", "B", "Z"][::2], "default": "A"}
    ),
    "union reordered": changed("other", ["Kind", "null"]),
    "field added with default": {
        **LOGICAL_WRITER,
        "fields": [*LOGICAL_WRITER["fields"], {"name": "extra", "type": "int", "default": 1}],
    },
    "field dropped": {**LOGICAL_WRITER, "fields": LOGICAL_WRITER["fields"][1:]},
    "record renamed": {
        **changed("child", ["null", "Other"]),
        "name": "Other",
        "aliases": ["w.Event"],
    },
}


@pytest.mark.parametrize("name", sorted(ALIKE) + sorted(NOT_ALIKE))
def test_reads_alike_only_when_resolution_changes_nothing(name: str) -> None:
    reader = ALIKE.get(name) or NOT_ALIKE[name]
    writer = parse_schema(LOGICAL_WRITER)
    buffer = io.BytesIO()
    schemaless_writer(buffer, writer, LOGICAL_VALUE)
    data = buffer.getvalue()
    verdict = reads_alike(writer, parse_schema(reader))
    assert verdict is (name in ALIKE)
    as_written = schemaless_reader(io.BytesIO(data), writer, None)
    try:
        resolved = schemaless_reader(io.BytesIO(data), writer, parse_schema(reader))
    except SchemaResolutionError:
        assert not verdict
        return
    if verdict:
        assert resolved == as_written
        assert all(type(resolved[k]) is type(as_written[k]) for k in resolved)
