"""The schemas of issue 14 and the nesting limits, through the API of a real process.

At the limit a schema registers, is found by lookup and passes both compatibility
endpoints; one level more, and every shape the issue reported (2,000-level JSON, 600
nested arrays or maps, 300 nested records, lone surrogates in a doc or a name, a
descriptor whose ``oneof_index`` is out of range), answers 42201 on register, lookup and
both compatibility endpoints, leaves the data as it was, and the process keeps running.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.protobuf.descriptor_pb2 import FileDescriptorProto

from registry_service.formats.limits import MAX_NESTING_DEPTH
from tests.robustness.conftest import Registry, check_answer
from tests.robustness.strategies import avro_chain, proto_nested, proto_option_literal

SCHEMA_ENDPOINTS = [
    "/subjects/{s}/versions",
    "/subjects/{s}",
    "/compatibility/subjects/{s}/versions/latest",
    "/compatibility/subjects/{s}/versions",
]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def registry(request: pytest.FixtureRequest) -> Registry:
    found: Registry = request.getfixturevalue(f"registry_{request.param}")
    return found


def post(registry: Registry, path: str, body: dict[str, Any], **params: str) -> Any:
    response = registry.client.post(path, json=body, params=params)
    check_answer(registry, response, None)
    assert response.status_code == 200, response.text
    return response.json()


def descriptor_nested(levels: int) -> str:
    file = FileDescriptorProto(name="n.proto", syntax="proto3")
    message = file.message_type.add(name="M0")
    for i in range(1, levels):
        message = message.nested_type.add(name=f"M{i}")
    return base64.b64encode(file.SerializeToString()).decode()


def record_chain(levels: int, leaf: str) -> str:
    return avro_chain("record", levels).replace('"int"', json.dumps(leaf))


AT_LIMIT = {
    "avro records": (
        None,
        record_chain(MAX_NESTING_DEPTH, "int"),
        record_chain(MAX_NESTING_DEPTH, "long"),
    ),
    "avro arrays": (
        None,
        avro_chain("array", MAX_NESTING_DEPTH),
        avro_chain("array", MAX_NESTING_DEPTH).replace('"int"', '"long"'),
    ),
    "protobuf messages": ("PROTOBUF", proto_nested(31), proto_nested(31).replace("int32", "int64")),
}


@pytest.mark.parametrize("case", sorted(AT_LIMIT))
def test_schemas_at_the_limit_register_look_up_and_compare(registry: Registry, case: str) -> None:
    schema_type, first, second = AT_LIMIT[case]
    subject = f"limit-{case.replace(' ', '-')}"
    extra = {"schemaType": schema_type} if schema_type else {}
    one = post(registry, f"/subjects/{subject}/versions", {"schema": first, **extra})
    found = post(registry, f"/subjects/{subject}", {"schema": first, **extra})
    assert (found["id"], found["version"]) == (one["id"], 1)
    for path in SCHEMA_ENDPOINTS[2:]:
        answer = post(registry, path.format(s=subject), {"schema": second, **extra}, verbose="true")
        assert answer["is_compatible"] is True, answer
    two = post(registry, f"/subjects/{subject}/versions", {"schema": second, **extra})
    assert two["id"] != one["id"]


REFUSED = {
    "json array 2000 deep": (None, "[" * 2000 + "]" * 2000),
    "avro 600 arrays": (None, avro_chain("array", 600)),
    "avro 600 maps": (None, avro_chain("map", 600)),
    "avro 300 records": (None, avro_chain("record", 300)),
    "avro one record past the limit": (None, avro_chain("record", MAX_NESTING_DEPTH + 1)),
    "avro one array past the limit": (None, avro_chain("array", MAX_NESTING_DEPTH + 1)),
    "avro surrogate in doc": (None, '{"type":"record","name":"R","doc":"\\ud800","fields":[]}'),
    "avro surrogate in name": (None, '{"type":"record","name":"X\\udc00","fields":[]}'),
    "protobuf 32 nested messages": ("PROTOBUF", proto_nested(32)),
    "protobuf descriptor past the limit": ("PROTOBUF", descriptor_nested(MAX_NESTING_DEPTH + 1)),
    "protobuf option literal past the limit": ("PROTOBUF", proto_option_literal(MAX_NESTING_DEPTH)),
    "protobuf option literal that crashed protoc": ("PROTOBUF", proto_option_literal(10_000)),
    "protobuf oneof_index out of range": (
        "PROTOBUF",
        "Cgd4LnByb3RvEgFwIhAKAU0SCwoBYRgBIAEoBUgFYgZwcm90bzM=",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_issue_14_schemas_are_invalid_on_every_schema_endpoint(
    registry: Registry, case: str
) -> None:
    schema_type, text = REFUSED[case]
    subject = "limit-existing"
    post(registry, f"/subjects/{subject}/versions", {"schema": '"string"'})
    body = {"schema": text, **({"schemaType": schema_type} if schema_type else {})}
    for path in SCHEMA_ENDPOINTS:
        before = registry.snapshot()
        response = registry.client.post(path.format(s=subject), json=body)
        check_answer(registry, response, before)
        assert response.json()["error_code"] == 42201, (path, response.text)
