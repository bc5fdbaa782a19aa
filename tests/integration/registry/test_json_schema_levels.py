"""JSON Schema compatibility through the registry at each of Confluent's seven levels.

The rules themselves are Confluent's test data (tests/unit/registry_service/formats/
test_json_schema_compat.py); here one asymmetric rule, ``maxLength``, shows which way
each level asks and how far back it looks. Confluent compares ``(original, update)``
with the reader as ``update``: a larger ``maxLength`` in the reader is
MAX_LENGTH_INCREASED (compatible), a smaller one MAX_LENGTH_DECREASED (not).

Three versions with maxLength 5, 10, 8 (the first two registered under NONE):
- BACKWARD (new reads latest): 10 -> 8 decreased: refused;
- FORWARD (latest reads new): 8 -> 10 increased: accepted;
- FORWARD_TRANSITIVE: version 1 reads new: 8 -> 5 decreased: refused;
- BACKWARD_TRANSITIVE, FULL, FULL_TRANSITIVE: refused; NONE: accepted.
Runs on SQLite and PostgreSQL (``client`` in conftest.py).
"""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

VERDICTS = {
    "NONE": True,
    "BACKWARD": False,
    "BACKWARD_TRANSITIVE": False,
    "FORWARD": True,
    "FORWARD_TRANSITIVE": False,
    "FULL": False,
    "FULL_TRANSITIVE": False,
}


def _schema(max_length: int) -> str:
    return json.dumps({"title": "Code", "type": "string", "maxLength": max_length})


def _register(client: TestClient, subject: str, max_length: int) -> int:
    response = client.post(
        f"/subjects/{subject}/versions",
        json={"schema": _schema(max_length), "schemaType": "JSON"},
    )
    return response.status_code


@pytest.mark.parametrize("level", list(VERDICTS))
def test_each_level_asks_its_direction_and_depth(client: TestClient, level: str) -> None:
    subject = f"codes-{uuid.uuid4().hex[:8]}"
    assert client.put(f"/config/{subject}", json={"compatibility": "NONE"}).status_code == 200
    assert _register(client, subject, 5) == 200
    assert _register(client, subject, 10) == 200
    assert client.put(f"/config/{subject}", json={"compatibility": level}).status_code == 200

    check = client.post(
        f"/compatibility/subjects/{subject}/versions?verbose=true",
        json={"schema": _schema(8), "schemaType": "JSON"},
    )
    assert check.status_code == 200, check.text
    body = check.json()
    assert body["is_compatible"] is VERDICTS[level], body
    if not VERDICTS[level]:
        assert any('errorType:"MAX_LENGTH_DECREASED"' in m for m in body["messages"]), body

    status = _register(client, subject, 8)
    assert status == (200 if VERDICTS[level] else 409)
    expected_versions = [1, 2, 3] if VERDICTS[level] else [1, 2]
    assert client.get(f"/subjects/{subject}/versions").json() == expected_versions
