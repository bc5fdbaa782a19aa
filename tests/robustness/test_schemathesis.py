"""Schemathesis over the registry's own OpenAPI document, against a real process.

Every operation the app declares gets examples that fit its parameters (positive) and
examples that do not (negative: wrong types, missing or extra values), sent over HTTP
to the uvicorn process; every answer is checked by ``conftest.check_status_and_body``.

The app reads request bodies itself (``models.read_body``: Confluent clients send them
under three media types), so its OpenAPI declares none; ``with_request_bodies`` adds the
bodies Confluent's API takes, so schemathesis generates them too. Schemathesis's own
conformance checks are not run: the document does not describe Confluent's error
answers, and those are what this suite asserts.

Bounded: ``EXAMPLES_PER_MODE`` examples per operation and mode, about 30 s on SQLite for
the 39 operations; PostgreSQL runs the positive examples of the operations that write.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode

from registry_service.formats import CompatibilityLevel
from tests.robustness.conftest import Registry, check_status_and_body

EXAMPLES_PER_MODE = 20

_REFERENCE = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "subject": {"type": "string"},
        "version": {"type": "integer"},
    },
    "required": ["name", "subject", "version"],
}
_SCHEMA_REQUEST = {
    "type": "object",
    "properties": {
        "schema": {"type": "string"},
        "schemaType": {"type": "string", "enum": ["AVRO", "PROTOBUF", "JSON"]},
        "references": {"type": "array", "items": _REFERENCE},
        "version": {"type": "integer"},
        "id": {"type": "integer"},
    },
    "required": ["schema"],
}
_LEVELS = [level.value for level in CompatibilityLevel]
_CONFIG = {
    "type": "object",
    "properties": {
        "compatibility": {"type": "string", "enum": _LEVELS},
        "normalize": {"type": "boolean"},
    },
}
_MODE = {
    "type": "object",
    "properties": {"mode": {"type": "string", "enum": ["READWRITE", "READONLY", "IMPORT"]}},
    "required": ["mode"],
}
_BODIES = {
    ("post", "/subjects/{subject}/versions"): _SCHEMA_REQUEST,
    ("post", "/subjects/{subject}"): _SCHEMA_REQUEST,
    ("post", "/compatibility/subjects/{subject}/versions/{version}"): _SCHEMA_REQUEST,
    ("post", "/compatibility/subjects/{subject}/versions"): _SCHEMA_REQUEST,
    ("put", "/config"): _CONFIG,
    ("put", "/config/{subject}"): _CONFIG,
    ("put", "/mode"): _MODE,
    ("put", "/mode/{subject}"): _MODE,
    ("post", "/associations"): {"type": "object"},
}


def with_request_bodies(spec: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI document with the request bodies Confluent's API takes."""
    patched = copy.deepcopy(spec)
    for (method, path), body in _BODIES.items():
        operation = patched["paths"][path][method]
        operation["requestBody"] = {
            "required": True,
            "content": {"application/vnd.schemaregistry.v1+json": {"schema": body}},
        }
    return patched


def fuzz_operations(
    registry: Registry, modes: list[GenerationMode], methods: set[str] | None = None
) -> int:
    """Send ``EXAMPLES_PER_MODE`` cases per operation and mode; the number sent."""
    spec = with_request_bodies(httpx.get(registry.url + "/openapi.json").json())
    schema = schemathesis.openapi.from_dict(spec)
    schema.config.generation.update(allow_x00=True, codec="utf-8")
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if methods is not None and operation.method.upper() not in methods:
            continue
        for mode in modes:
            try:
                sent += _fuzz(registry, operation.as_strategy(generation_mode=mode))
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing of it can be made invalid
    return sent


def _fuzz(registry: Registry, strategy: st.SearchStrategy[Case]) -> int:
    sent = 0

    @settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=EXAMPLES_PER_MODE,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case) -> None:
        nonlocal sent
        before = registry.snapshot()
        response = case.call(base_url=registry.url)
        sent += 1
        where = f"{case.method} {response.request.url} -> {response.status_code}"
        check_status_and_body(registry, response.status_code, response.content, where, before)

    run()
    return sent


def test_openapi_operations_on_sqlite(registry_sqlite: Registry) -> None:
    sent = fuzz_operations(registry_sqlite, [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    assert sent > 39 * EXAMPLES_PER_MODE  # every operation was reached


def test_openapi_writes_on_postgres(registry_postgres: Registry) -> None:
    sent = fuzz_operations(
        registry_postgres, [GenerationMode.POSITIVE], methods={"POST", "PUT", "DELETE"}
    )
    assert sent > 0
