"""Loading schema files: parse errors with lines, and mapping registry text to lines."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from regcast.schema_files import (
    SchemaFileError,
    compile_protos,
    load_avro,
)

REPO = Path(__file__).resolve().parents[3]
ORDER_AVSC = REPO / "schemas/avro/order.avsc"
PROTO_ROOT = REPO / "schemas/protobuf"


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_example_avro_schema_loads() -> None:
    loaded = load_avro(ORDER_AVSC)
    assert loaded.full_name == "io.regcast.demo.Order"
    assert loaded.schema_str == ORDER_AVSC.read_text().strip()


def test_avro_json_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.avsc"
    path.write_text('{\n  "type": "record",\n  "name": "X"\n  "fields": []\n}\n')
    with pytest.raises(SchemaFileError) as info:
        load_avro(path)
    problem = info.value.problems[0]
    assert "not valid JSON" in problem.message
    assert (problem.line, problem.column) == (4, 3)


def test_avro_semantic_error_is_located_by_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.avsc"
    path.write_text(
        '{\n  "type": "record",\n  "name": "X",\n  "fields": [\n'
        '    {"name": "a", "type": "int"},\n'
        '    {"name": "b", "type": "Nope"}\n  ]\n}\n'
    )
    with pytest.raises(SchemaFileError) as info:
        load_avro(path)
    problem = info.value.problems[0]
    assert "Nope" in problem.message
    assert problem.line == 6


def test_avro_locator_maps_paths_and_names() -> None:
    locator = load_avro(ORDER_AVSC).locator
    total_line = _line_of(ORDER_AVSC, '"name": "total"')
    assert locator.locate("The field 'total' at path '/fields/5' changed type") == total_line
    assert locator.locate("something about /fields/5/type") == total_line
    city = _line_of(ORDER_AVSC, '"name": "city"')
    assert locator.locate("at path '/fields/7/type/fields/1'") == city
    assert locator.locate("reader missing 'unit_price'") == _line_of(
        ORDER_AVSC, '"name": "unit_price"'
    )
    assert locator.locate("nothing to see") is None


def test_example_protos_compile_with_imports_and_source_lines() -> None:
    compiled = compile_protos([PROTO_ROOT / "order.proto"], [PROTO_ROOT])
    assert not compiled.problems
    order = compiled.files[(PROTO_ROOT / "order.proto").resolve()]
    assert order.import_name == "order.proto"
    assert order.dependencies == ("common/types.proto",)  # timestamp.proto is well known
    assert order.message_names == ["regcast.demo.Order"]
    types = compiled.by_import["common/types.proto"]
    assert types.path == (PROTO_ROOT / "common/types.proto").resolve()
    # What is registered is the plain FileDescriptorProto (no source info), base64.
    file_proto = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(order.schema_str))
    assert file_proto.name == "order.proto"
    assert not file_proto.HasField("source_code_info")
    path = PROTO_ROOT / "order.proto"
    total = _line_of(path, "Money total = 5")
    assert order.locator.locate("FIELD_KIND_CHANGED #/Order/5") == total
    assert order.locator.locate("field regcast.demo.Order.total changed") == total
    assert order.locator.locate("Line.quantity") == _line_of(path, "int32 quantity")


def test_message_class_builds_from_the_pool() -> None:
    compiled = compile_protos([PROTO_ROOT / "order.proto"], [PROTO_ROOT])
    order = compiled.files[(PROTO_ROOT / "order.proto").resolve()]
    cls = order.message_class()
    message = cls()
    message.order_id = "x"  # type: ignore[attr-defined]
    assert cls.DESCRIPTOR.full_name == "regcast.demo.Order"
    assert base64.b64encode(cls.DESCRIPTOR.file.serialized_pb).decode() == order.schema_str
    with pytest.raises(SchemaFileError, match=r"no message 'regcast\.demo\.Nope'"):
        order.message_class("regcast.demo.Nope")


def test_proto_syntax_error_reports_line_and_good_files_still_compile(tmp_path: Path) -> None:
    good = tmp_path / "good.proto"
    good.write_text('syntax = "proto3";\nmessage Good { string a = 1; }\n')
    bad = tmp_path / "bad.proto"
    bad.write_text('syntax = "proto3";\n\nmessage Bad {\n  string a = 1\n}\n')
    compiled = compile_protos([good, bad], [])
    assert set(compiled.files) == {good.resolve()}
    problems = compiled.problems[bad.resolve()]
    assert problems[0].line == 5 and "Expected" in problems[0].message


def test_proto_missing_import_is_reported_on_the_import_line(tmp_path: Path) -> None:
    path = tmp_path / "a.proto"
    path.write_text('syntax = "proto3";\nimport "missing/thing.proto";\nmessage A {}\n')
    compiled = compile_protos([path], [])
    assert path.resolve() not in compiled.files
    lines = {p.line for p in compiled.problems[path.resolve()]}
    assert 2 in lines
