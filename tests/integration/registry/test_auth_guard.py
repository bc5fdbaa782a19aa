"""The guard's bookkeeping, in-process: verification runs once per credential, refusals
are remembered briefly, the users file is reloaded (and the cache emptied) on change,
excess verifications get 429, and bad settings stop the application from starting.

Time is the guard's injected clock (``clock_ms``), moved by the test.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from registry_service.app import create_app
from registry_service.auth import users_file
from registry_service.auth.exposure import is_loopback
from registry_service.auth.guard import AuthGuard
from registry_service.settings import Settings
from tests.integration.registry.auth_support import (
    basic_header,
    user_entry,
    users_document,
    write_users_file,
)


class Clock:
    def __init__(self) -> None:
        self.now_ms = 10_000

    def __call__(self) -> int:
        return self.now_ms


def settings_for(tmp_path: Path, users: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        cache_poll_interval_ms=0,
        auth="basic",
        auth_file=users,
        **extra,
    )


def find_guard(client: TestClient) -> AuthGuard:
    layer: Any = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, AuthGuard):
        layer = layer.app
    return layer


@pytest.fixture
def guarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Clock, list[str]]]:
    users = write_users_file(tmp_path / "users.json")
    clock = Clock()
    with TestClient(create_app(settings_for(tmp_path, users))) as client:
        guard = find_guard(client)
        guard.clock_ms = clock
        verified: list[str] = []
        real = guard.users.verify

        def counting(username: str, password: str) -> bool:
            verified.append(username)
            return real(username, password)

        monkeypatch.setattr(guard.users, "verify", counting)
        yield client, clock, verified


def test_a_credential_is_verified_once_and_refusals_briefly(
    guarded: tuple[TestClient, Clock, list[str]],
) -> None:
    client, clock, verified = guarded
    for _ in range(5):
        assert client.get("/subjects", headers=basic_header("admin")).status_code == 200
    assert verified == ["admin"]
    for _ in range(5):
        assert client.get("/subjects", headers=basic_header("admin", "bad")).status_code == 401
    assert verified == ["admin", "admin"]
    clock.now_ms += 2_000  # auth_failure_cache_ttl_ms
    assert client.get("/subjects", headers=basic_header("admin", "bad")).status_code == 401
    assert verified == ["admin", "admin", "admin"]
    clock.now_ms += 300_000  # auth_cache_ttl_ms: verified again
    assert client.get("/subjects", headers=basic_header("admin")).status_code == 200
    assert verified.count("admin") == 4


def test_a_changed_users_file_is_reloaded_and_the_cache_emptied(
    guarded: tuple[TestClient, Clock, list[str]], tmp_path: Path
) -> None:
    client, clock, verified = guarded
    assert client.get("/subjects", headers=basic_header("reader")).status_code == 200
    document = users_document()
    document["users"] = [u for u in document["users"] if u["username"] != "reader"]
    write_users_file(tmp_path / "users.json", document)
    clock.now_ms += 500  # within the reload interval: not looked at yet
    assert client.get("/subjects", headers=basic_header("reader")).status_code == 200
    clock.now_ms += 500
    assert client.get("/subjects", headers=basic_header("reader")).status_code == 401
    assert verified == ["reader", "reader"]


def test_a_broken_users_file_keeps_the_previous_users(
    guarded: tuple[TestClient, Clock, list[str]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client, clock, _ = guarded
    (tmp_path / "users.json").write_text("{not json")
    clock.now_ms += 1_000
    with caplog.at_level(logging.WARNING, "registry_service.auth"):
        assert client.get("/subjects", headers=basic_header("admin")).status_code == 200
    assert "previous users stay in force" in caplog.text


def test_too_many_pending_verifications_get_429(tmp_path: Path) -> None:
    users = write_users_file(tmp_path / "users.json")
    settings = settings_for(tmp_path, users, auth_max_pending_verifications=1)
    with TestClient(create_app(settings)) as client:
        guard = find_guard(client)
        guard.pending = 1  # one verification already waiting
        answer = client.get("/subjects", headers=basic_header("admin"))
        assert answer.status_code == 429
        assert answer.json()["error_code"] == 42901
        assert answer.headers["retry-after"] == "1"
        guard.pending = 0
        assert client.get("/subjects", headers=basic_header("admin")).status_code == 200


def test_a_toml_users_file(tmp_path: Path) -> None:
    entry = user_entry("t", "pw", ["admin"])
    toml = tmp_path / "users.toml"
    toml.write_text("[[users]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in entry.items()))
    with TestClient(create_app(settings_for(tmp_path, toml))) as client:
        headers = basic_header("admin", "x") | {
            "Authorization": basic_header("admin")["Authorization"]
        }
        assert client.get("/subjects", headers=headers).status_code == 401  # no such user
        import base64

        token = base64.b64encode(b"t:pw").decode()
        assert (
            client.get("/subjects", headers={"Authorization": f"Basic {token}"}).status_code == 200
        )


def test_bad_settings_stop_the_start(tmp_path: Path) -> None:
    with pytest.raises(
        ValidationError, match="needs REGCAST_AUTH_BEARER_ISSUER, REGCAST_AUTH_BEARER_AUDIENCE"
    ):
        Settings(auth="basic,bearer", auth_file=tmp_path / "u.json")
    with pytest.raises(ValidationError, match="never none or HS"):
        Settings(auth_bearer_algorithms="RS256,HS256")
    with pytest.raises(ValidationError, match="never none or HS"):
        Settings(auth_bearer_algorithms="none")
    with pytest.raises(ValidationError, match="needs REGCAST_AUTH_FILE"):
        Settings(auth="basic")
    with pytest.raises(ValidationError, match="cannot be combined"):
        Settings(auth="none,basic", auth_file=tmp_path / "u.json")
    users = write_users_file(tmp_path / "users.json")
    with pytest.raises(users_file.UsersFileError, match="anonymous role 'nobody'"):
        create_app(settings_for(tmp_path, users, auth_anonymous_role="nobody"))
    with pytest.raises(users_file.UsersFileError, match="cannot read"):
        create_app(settings_for(tmp_path, tmp_path / "missing.json"))
    assert Settings().auth_schemes == ()
    assert Settings(auth="BASIC", auth_file=users).auth_schemes == ("basic",)


def test_auth_off_warns_when_open_beyond_loopback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    with caplog.at_level(logging.WARNING, "registry_service.auth"):
        create_app(Settings(database_url=db, cache_poll_interval_ms=0, listen_host="0.0.0.0"))
    assert "REGCAST_AUTH=none and the registry is reachable on 0.0.0.0" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, "registry_service.auth"):
        app = create_app(Settings(database_url=db, cache_poll_interval_ms=0))
        with TestClient(app, base_url="http://registry.example") as client:
            assert client.get("/subjects").status_code == 200  # auth off: today's behaviour
            assert client.get("/subjects").status_code == 200
    # TestClient's server address is "testserver": not loopback, so warned, once
    assert caplog.text.count("REGCAST_AUTH=none") == 1


def test_semaphore_bounds_concurrent_verifications(tmp_path: Path) -> None:
    users = write_users_file(tmp_path / "users.json")
    with TestClient(create_app(settings_for(tmp_path, users))) as client:
        guard = find_guard(client)
        assert isinstance(guard._verifications, asyncio.Semaphore)
        assert guard._verifications._value == 1
