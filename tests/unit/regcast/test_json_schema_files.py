"""regcast.json_schema_files and the .json rules of schema_type_for: all local, no registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regcast.config import ConfigError, SchemaType, schema_type_for
from regcast.json_schema_files import load_json_schema
from regcast.schema_files import SchemaFileError
from serdes import JSONSerializer, SchemaRegistryClient

ORDER = """{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Order",
  "type": "object",
  "properties": {
    "id": {"type": "integer"},
    "total": {"type": "number"}
  },
  "required": ["id"]
}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_json_with_dollar_schema_is_json_schema(tmp_path: Path) -> None:
    path = _write(tmp_path, "order.json", ORDER)
    assert schema_type_for(path) is SchemaType.JSON
    loaded = load_json_schema(path)
    assert loaded.schema_type is SchemaType.JSON
    assert loaded.draft == "Draft7"
    assert loaded.title == "Order"
    assert loaded.schema_str == ORDER.strip()
    # the same text JSONSerializer registers for the same file: one id for CLI and producer
    with SchemaRegistryClient("http://127.0.0.1:1") as client:  # no HTTP in the constructor
        assert JSONSerializer(client, path).schema_str == loaded.schema_str
    assert loaded.locator.locate("#/properties/total") == 7


def test_json_without_dollar_schema_needs_type(tmp_path: Path) -> None:
    path = _write(tmp_path, "order.json", json.dumps({"type": "object"}))
    with pytest.raises(ConfigError) as info:
        schema_type_for(path)
    assert str(path) in str(info.value)
    assert '"$schema"' in str(info.value) and "--type json" in str(info.value)
    assert schema_type_for(path, "json") is SchemaType.JSON
    assert load_json_schema(path).draft == "Draft7"  # Confluent's default draft


def test_avsc_stays_avro_and_unknown_suffix_is_refused(tmp_path: Path) -> None:
    assert schema_type_for(tmp_path / "x.avsc") is SchemaType.AVRO
    with pytest.raises(ConfigError, match=r"\.avsc, \.proto or \.json"):
        schema_type_for(tmp_path / "x.yaml")
    with pytest.raises(ConfigError, match="use avro, protobuf or json"):
        schema_type_for(tmp_path / "x.json", "xml")


def test_meta_schema_error_names_file_line_and_keyword(tmp_path: Path) -> None:
    bad = ORDER.replace('"total": {"type": "number"}', '"total": {"type": "decimal"}')
    path = _write(tmp_path, "order.json", bad)
    with pytest.raises(SchemaFileError) as info:
        load_json_schema(path)
    (problem,) = info.value.problems
    assert problem.line == 7
    assert "not a valid Draft7 JSON Schema at /properties/total/type" in problem.message
    assert str(info.value).startswith(f"{path}:7: ")


def test_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "order.json", '{\n  "$schema": "x"\n  "type": "object"\n}')
    with pytest.raises(SchemaFileError) as info:
        load_json_schema(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (3, 3)
    assert problem.message.startswith("not valid JSON")


def test_draft_2020_12_by_dollar_schema(tmp_path: Path) -> None:
    text = json.dumps(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "prefixItems": [True]}
    )
    assert load_json_schema(_write(tmp_path, "t.json", text)).draft == "Draft202012"
    with pytest.raises(SchemaFileError, match="a JSON Schema is an object or a boolean"):
        load_json_schema(_write(tmp_path, "list.json", "[1, 2]"))


def test_folders_yield_only_json_files_that_declare_a_schema(tmp_path: Path) -> None:
    from regcast.checking import collect_schema_files

    schema = _write(tmp_path, "order.json", ORDER)
    _write(tmp_path, "package.json", '{"name": "not a schema"}')
    _write(tmp_path, "broken.json", "{")
    assert collect_schema_files([tmp_path]) == [schema.resolve()]
