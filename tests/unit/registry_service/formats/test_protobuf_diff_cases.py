"""Confluent's own ``SchemaDiffTest`` cases, run through our Protobuf compatibility rules.

The data files in ``data/protobuf_diff/`` are Confluent's (see its README); each case
names an original and an update schema, the differences Confluent's ``SchemaDiff``
lists (type and path) and whether the change is compatible. We check the same set and
the same verdict, case by case.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from registry_service.formats.base import SchemaReference
from registry_service.formats.protobuf import ProtobufSchema, parse_protobuf
from registry_service.formats.protobuf.compatibility import _COMPATIBLE

DATA = Path(__file__).parent / "data" / "protobuf_diff"


def _cases() -> list[Any]:
    names = ("diff-schema-examples.json", "diff-schema-examples-with-meta.json")
    return [
        pytest.param(case, id=case["description"])
        for name in names
        for case in json.loads((DATA / name).read_text())
    ]


def _side(case: dict[str, Any], side: str) -> ProtobufSchema:
    text: str = case[f"{side}_schema"]
    if text.endswith(".proto"):
        text = (DATA / text.rsplit("/", 1)[-1]).read_text()
    references = [
        SchemaReference(ref["name"], ref["subject"], ref["version"])
        for ref in case.get(f"{side}_references", [])
    ]
    resolved = {
        dep["name"]: dep["dependency"]
        for dep in case.get(f"{side}_dependencies", [])
        if "dependency" in dep  # the others are well-known files we serve ourselves
    }
    return parse_protobuf(text, references, resolved)


@pytest.mark.parametrize("case", _cases())
def test_confluent_diff_case(case: dict[str, Any]) -> None:
    original, update = _side(case, "original"), _side(case, "update")
    found = set(update.differences(original))
    expected = {tuple(change.split(" ", 1)) for change in case["changes"]}
    assert found == expected
    assert all(kind in _COMPATIBLE for kind, _path in found) is case["compatible"]


def test_confluent_proto_files() -> None:
    original = parse_protobuf((DATA / "TestProto.proto").read_text())
    update = parse_protobuf((DATA / "TestProto2.proto").read_text())
    found = set(update.differences(original))
    assert ("FIELD_NAME_CHANGED", "#/TestMessage/2") in found
    assert ("FIELD_SCALAR_KIND_CHANGED", "#/TestMessage/2") in found
