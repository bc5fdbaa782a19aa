"""registry_service.middleware: content negotiation and what the cached-read shortcut
accepts. The layers themselves run in tests/integration/registry/test_api.py (and
test_request_limits.py)."""

from __future__ import annotations

import pytest

from registry_service.errors import RequestValidationFailed
from registry_service.middleware import _flag, _is_plain, _params, negotiate
from registry_service.models import schema_request_from_json

V1 = b"application/vnd.schemaregistry.v1+json"
GENERIC = b"application/vnd.schemaregistry+json"
JSON = b"application/json"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, V1),
        (b"*/*", V1),
        (b"application/*", V1),
        (V1, V1),
        # what confluent-kafka sends on bodiless requests
        (V1 + b", " + GENERIC + b", " + JSON, V1),
        (GENERIC, GENERIC),
        (JSON, JSON),
        (b"application/JSON", JSON),
        (JSON + b", " + GENERIC, GENERIC),
        (b"text/html, application/json;q=0.9", JSON),
        (b"text/html,application/xhtml+xml,*/*;q=0.8", V1),
        (b"application/json;q=0, application/vnd.schemaregistry+json", GENERIC),
        (b"application/json; q=0.0", None),
        (b"text/html", None),
        (b"text/plain, image/png", None),
        (b"", V1),
    ],
)
def test_negotiate(accept: bytes | None, expected: bytes | None) -> None:
    assert negotiate(accept) == expected


def test_query_parameters_as_starlette_reads_them() -> None:
    allowed = frozenset({"subject", "format"})
    assert _params(b"", allowed) == {}
    assert _params(b"subject=a%2Fb&format=serialized", allowed) == {
        "subject": "a/b",
        "format": "serialized",
    }
    assert _params(b"subject=a&subject=b", allowed) == {"subject": "b"}  # last wins
    assert _params(b"subject=", allowed) == {"subject": ""}
    assert _params(b"subject=a&other=1", allowed) is None  # unknown: the router decides


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("true", True),
        ("True", True),
        ("1", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("maybe", None),
        ("", None),
    ],
)
def test_flags(value: str | None, expected: bool | None) -> None:
    assert _flag(value) is expected


LIMIT = 1024 * 1024


@pytest.mark.parametrize(
    "body",
    [
        b'{"schema": "\\"string\\""}',
        b'{"schema": "\\"string\\"", "schemaType": "AVRO", "references": []}',
        b'{"schema": "\\"string\\"", "version": -1, "metadata": {"x": 1}, "ruleSet": null}',
        b'{"schema": "\\"string\\"", "schemaType": null, "id": null}',
    ],
)
def test_plain_register_bodies_take_the_shortcut(body: bytes) -> None:
    request = schema_request_from_json(body, LIMIT)
    assert _is_plain(request)
    assert request.schema == '"string"' and request.schema_type == "AVRO"


@pytest.mark.parametrize(
    "body",
    [
        b'{"schema": "x", "references": [{"name": "a", "subject": "a", "version": 1}]}',
        b'{"schema": "x", "id": 7}',
        b'{"schema": "x", "version": 2}',
    ],
)
def test_other_valid_bodies_go_to_the_router(body: bytes) -> None:
    assert not _is_plain(schema_request_from_json(body, LIMIT))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"schemaType": "AVRO"}',
        b'{"schema": 5}',
        b'{"schema": "x", "schemaType": 3}',
        b'{"schema": "x", "schemaType": {}}',
        b'{"schema": "x", "schemaType": false}',
        b'{"schema": "x", "schemaType": 0}',
        b'{"schema": "x", "schemaType": []}',
        b'{"schema": "x", "references": {}}',
        b'{"schema": "x", "references": "a"}',
        b'{"schema": "x", "version": -1.0}',
        b'{"schema": "x", "version": true}',
        b'{"schema": "x", "id": "7"}',
    ],
)
def test_malformed_bodies_are_refused_by_the_one_judgement(body: bytes) -> None:
    """The shortcut and the router call the same function, so neither can take a body
    the other refuses."""
    with pytest.raises(RequestValidationFailed):
        schema_request_from_json(body, LIMIT)
