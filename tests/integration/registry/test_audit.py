"""The audit trail in-process (the application under Starlette's TestClient, real SQLite):
which requests make a line and what it says, with authentication on and off, and that
no secret reaches any log record, at DEBUG (caplog)."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry_service.app import create_app
from registry_service.auth.audit import LOGGER
from registry_service.settings import Settings
from tests.integration.registry.auth_support import PASSWORDS, basic_header, write_users_file

SCHEMA = json.dumps({"type": "record", "name": "A", "fields": [{"name": "id", "type": "long"}]})


def audit_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_writes_and_failures_are_audited_with_auth_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        cache_poll_interval_ms=0,
        audit_file=tmp_path / "audit.jsonl",
    )
    with TestClient(create_app(settings)) as client:
        assert client.post("/subjects/s/versions", json={"schema": SCHEMA}).status_code == 200
        assert client.post("/subjects/s/versions", json={"schema": "{"}).status_code == 422
        assert client.post("/subjects/s", json={"schema": SCHEMA}).status_code == 200  # a read
        assert client.get("/subjects").status_code == 200  # a read
        assert client.put("/mode", json={"mode": "READONLY"}).status_code == 200
        assert client.delete("/subjects/s").status_code == 422  # read-only: 42205
    records = audit_records(caplog)
    assert [(r["operation"], r["status"], r["outcome"]) for r in records] == [
        ("register", 200, "success"),
        ("register", 422, "failure"),
        ("set_mode", 200, "success"),
        ("delete_subject", 422, "failure"),
    ]
    assert all(r["principal"] is None for r in records)
    assert records[1]["error_code"] == 42201
    assert records[2]["mode"] == "READONLY"
    assert records[3]["error_code"] == 42205
    # the lifespan's end flushed the file through the listener thread
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == records


def test_no_secret_in_any_log_record(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        cache_poll_interval_ms=0,
        auth="basic",
        auth_file=write_users_file(tmp_path / "users.json"),
    )
    wrong = "wrong-secret-password"
    with TestClient(create_app(settings)) as client:
        admin = basic_header("admin")
        registered = client.post("/subjects/x/versions", json={"schema": SCHEMA}, headers=admin)
        assert registered.status_code == 200
        assert client.get("/subjects", headers=basic_header("admin", wrong)).status_code == 401
        bearer = {"Authorization": "Bearer abc.def"}
        assert client.get("/subjects", headers=bearer).status_code == 401
        assert client.delete("/subjects/x", headers=basic_header("reader")).status_code == 403
    records = audit_records(caplog)
    assert [(r["principal"], r["status"]) for r in records] == [
        ("admin", 200),
        (None, 401),
        (None, 401),
        ("reader", 403),
    ]
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (*PASSWORDS.values(), wrong, "abc.def"):
        assert secret not in text
        assert base64.b64encode(f"admin:{secret}".encode()).decode() not in text
    assert "authorization" not in text.lower()
